/**
 * Peak resident memory of a process and its children, read from /proc (Linux).
 * @module
 */
import { readFileSync } from "node:fs";

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)) if (tid) out.push(Number(tid));
  } catch {
    // no children file: not Linux, or the process is gone
  }
  return out;
}

/** RSS in MB of `pid` plus all its descendants. */
export function treeRssMb(pid: number): number {
  let kb = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    kb += rssKb(p);
    stack.push(...children(p));
  }
  return kb / 1024;
}

/** Polls treeRssMb(pid) and keeps the peak. */
export class RssWatcher {
  peakMb = 0;
  private _timer: ReturnType<typeof setInterval>;
  constructor(pid: number, everyMs = 200) {
    const poll = () => (this.peakMb = Math.max(this.peakMb, treeRssMb(pid)));
    poll();
    this._timer = setInterval(poll, everyMs);
  }
  stop(): number {
    clearInterval(this._timer);
    return this.peakMb;
  }
}
