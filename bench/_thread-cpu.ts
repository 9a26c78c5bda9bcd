/**
 * CPU time the calling OS thread has used, ns, from Linux's /proc/thread-self/schedstat (a Worker is its
 * own OS thread, and the read runs on it), or NaN elsewhere. Work per CPU second does not depend on how
 * busy the machine is, so the thread benches report it beside throughput: N threads' work per CPU second
 * over one thread's is the cost of sharing (1.0: none), which a loaded 2-core VM cannot show by throughput.
 */
import { readFileSync } from "node:fs";

export function threadCpuNs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
  } catch {
    return NaN;
  }
}
