/**
 * What the process benches read from /proc (Linux): a process's or thread's CPU time, and its memory
 * figures. bench/handshake.ts and bench/thread-rss.ts read servers they started with these.
 */
import { readFileSync } from "node:fs";

/**
 * CPU seconds of `/proc/<path>/stat`: a process (`PID`, every thread) or one thread (`PID/task/TID`).
 * utime and stime are fields 14 and 15, counted after the command name, which may hold spaces; in clock
 * ticks of 1/100 s.
 */
export function statCpuS(path: string): { cpu_s: number; sys_s: number } {
  const stat = readFileSync(`/proc/${path}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { cpu_s: (Number(f[11]) + Number(f[12])) / 100, sys_s: Number(f[12]) / 100 };
}

/** A kB field of /proc/PID/status (VmRSS, VmHWM, RssAnon ...) in MB, NaN when it has none. */
export function statusMb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) / 1024;
}
