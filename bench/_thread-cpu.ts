/**
 * CPU time the calling OS thread has used, ns, from Linux's /proc/thread-self/schedstat (a Worker is its
 * own OS thread, and the read runs on it), or NaN elsewhere. Work per CPU second does not depend on how
 * busy the machine is, so the thread benches report it beside throughput: N threads' work per CPU second
 * over one thread's is the cost of sharing (1.0: none), which a loaded 2-core VM cannot show by throughput.
 */
import { readFileSync } from "node:fs";
import process from "node:process";

export function threadCpuNs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/**
 * Start one Worker per message from `url`, let them all go at once (they raise start[1] when ready and
 * wait for start[0]), and add up the work ({ n, cpuNs }) each posts back after `ms`: per second and per
 * CPU second. `helperCpu`: the whole process's CPU time over the race (process.cpuUsage) beyond the
 * workers' own, as a share of theirs: the runtime's GC and JIT threads (and the idle main thread).
 */
export async function raceWorkers(url: URL, messages: ((start: Int32Array) => unknown)[], ms: number): Promise<{ perS: number; perCpuS: number; helperCpu: number }> {
  const start = new Int32Array(new SharedArrayBuffer(8));
  const ws = messages.map(() => new Worker(url, { type: "module" }));
  const done = ws.map((w, i) => new Promise<{ n: number; cpuNs: number }>((resolve, reject) => {
    w.onmessage = (e: MessageEvent) => resolve(e.data as { n: number; cpuNs: number });
    w.onerror = (e) => reject(new Error(String((e as ErrorEvent).message ?? e)));
    w.postMessage(messages[i]!(start));
  }));
  while (Atomics.load(start, 1) < ws.length) await new Promise((r) => setTimeout(r, 5));
  const p0 = process.cpuUsage();
  Atomics.store(start, 0, 1);
  const counts = await Promise.all(done);
  const p1 = process.cpuUsage(p0);
  for (const w of ws) w.terminate();
  const total = counts.reduce((a, c) => a + c.n, 0), cpu = counts.reduce((a, c) => a + c.cpuNs, 0);
  const procNs = (p1.user + p1.system) * 1000;
  return { perS: total / (ms / 1000), perCpuS: total / (cpu / 1e9), helperCpu: (procNs - cpu) / cpu };
}
