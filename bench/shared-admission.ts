/**
 * The shared admission tables (src/shared/store/shared-admission.ts) under threads (issue 15). Two loops,
 * each what one connection costs admission, minus the network:
 *   tables:    tryOpen + take (challenge bucket) + close on the shared tables directly;
 *   admission: Admission.onOpen, allowChallenge (outstanding + 2 buckets), allowSolution, settle, onClose;
 *   local:     the admission loop on each thread's own Maps (sharing nothing: the control for the ratios).
 * Clients are drawn from 50,000 addresses (as many clients, little key contention), with no cap reached.
 * Reports, side by side in one run, alternating, several rounds (medians, ratio min..max):
 *   - Admission on one thread with its local Maps vs with the shared state (the cost per connection);
 *   - each loop on 1 worker thread vs N worker threads on one shared state (ratio of totals).
 *
 *   npx bun bench/shared-admission.ts [--threads 2] [--rounds 5] [--seconds 1]
 *   npx deno run -A bench/shared-admission.ts [--threads 2] [--rounds 5] [--seconds 1]
 *
 * On a machine with fewer free cores than --threads the ratio measures the machine, not the tables.
 */
import { parseArgs } from "node:util";
import { raceWorkers, threadCpuNs } from "./_thread-cpu.ts";
import { Admission, type AdmissionSpec } from "../src/shared/defence/admission.ts";
import { networkKey } from "../src/shared/defence/client-key.ts";
import { type SharedAdmissionBuffers, SharedAdmissionState } from "../src/shared/store/shared-admission.ts";

export const SPEC: AdmissionSpec = {
  maxConnections: 1_000_000, maxConnectionsPerAddr: 1_000_000, maxConnectionsPerNet: 1_000_000,
  challengesPerAddr: { ratePerSec: 1e9, burst: 1e9 }, challengesPerNet: { ratePerSec: 1e9, burst: 1e9 },
  solutionsPerAddr: { ratePerSec: 1e9, burst: 1e9 }, maxOutstandingPerAddr: 1_000_000, ttlMs: 60_000,
};
const CLIENTS = 50_000;

/** The client addresses of thread `seed` (distinct per thread) and their network keys. */
export function clients(seed: number): { addrs: string[]; nets: string[] } {
  const addrs = Array.from({ length: CLIENTS }, (_, i) => `10.${seed & 255}.${(i >> 8) & 255}.${i & 255}`);
  return { addrs, nets: addrs.map(networkKey) };
}

/** "local": Admission on each thread's own Maps, sharing nothing (the control: what N threads give with no shared state). */
export type Loop = "tables" | "admission" | "local";

export interface Done {
  readonly n: number;
  readonly cpuNs: number;
}

/** Connections through `loop` for `ms`: how many, and the CPU time this thread spent on them. `st` null: Admission on its local Maps. */
export function work(loop: Loop, st: SharedAdmissionState | null, ms: number, seed: number): Done {
  const cpu0 = threadCpuNs();
  const { addrs, nets } = clients(seed);
  if (loop === "local") st = null;
  const adm = new Admission(SPEC, st ? st.limiter : undefined, st);
  const t0 = performance.now();
  let n = 0;
  const now = Date.now();
  while ((n & 1023) !== 0 || performance.now() - t0 < ms) {
    const i = (Math.imul(n, 0x9e3779b1) >>> 0) % CLIENTS;
    const a = addrs[i]!, net = nets[i]!;
    if (loop === "tables") {
      if (st!.conns.tryOpen(a, net, SPEC) !== 0) throw new Error("bench: refused");
      if (!st!.limiter.take("challenge", a, SPEC.challengesPerAddr, now).ok) throw new Error("bench: refused");
      st!.conns.close(a, net);
    } else {
      if (adm.onOpen(a, net) !== null || adm.allowChallenge(a, now, net) !== null || adm.allowSolution(a, now) !== null) throw new Error("bench: refused");
      adm.settle(a, 1);
      adm.onClose(a, net);
    }
    n++;
  }
  return { n, cpuNs: threadCpuNs() - cpu0 };
}

/** Connections per second, and per CPU second, of `n` worker threads on one shared state. */
async function threads(loop: Loop, n: number, ms: number, round: number): Promise<{ perS: number; perCpuS: number }> {
  const st = SharedAdmissionState.create({ maxConnections: 100_000, maxKeys: 200_000 });
  const buffers: SharedAdmissionBuffers = st.buffers();
  return raceWorkers(new URL("./shared-admission-worker.ts", import.meta.url), Array.from({ length: n }, (_, i) => (start: Int32Array) => ({ loop, buffers, ms, seed: round * 8 + i, start })), ms);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { threads: { type: "string", default: "2" }, rounds: { type: "string", default: "5" }, seconds: { type: "string", default: "1" } } });
  const n = Number(values.threads), rounds = Number(values.rounds), ms = Number(values.seconds) * 1000;
  if (!(n >= 2 && rounds >= 1 && ms >= 100)) throw new Error("--threads >= 2, --rounds >= 1, --seconds >= 0.1");
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)}`;
  const local: number[] = [], shared: number[] = [], localCpu: number[] = [], sharedCpu: number[] = [];
  type Run = { perS: number; perCpuS: number };
  const one: Record<Loop, Run[]> = { tables: [], admission: [], local: [] }, many: Record<Loop, Run[]> = { tables: [], admission: [], local: [] };
  work("admission", null, 200, 99); // warm up both paths
  work("admission", SharedAdmissionState.create({ maxConnections: 100_000, maxKeys: 200_000 }), 200, 99);
  for (let r = 0; r < rounds; r++) {
    const l = work("admission", null, ms, r), s = work("admission", SharedAdmissionState.create({ maxConnections: 100_000, maxKeys: 200_000 }), ms, r);
    local.push(l.n / (ms / 1000)); localCpu.push(l.n / (l.cpuNs / 1e9));
    shared.push(s.n / (ms / 1000)); sharedCpu.push(s.n / (s.cpuNs / 1e9));
    for (const loop of ["tables", "admission", "local"] as const) {
      one[loop].push(await threads(loop, 1, ms, r));
      many[loop].push(await threads(loop, n, ms, r));
    }
  }
  const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
  const ratios = (loop: Loop, k: keyof Run) => one[loop].map((o, i) => many[loop][i]![k] / o[k]);
  const loopReport = (loop: Loop) => ({
    [`${loop}_one_thread_per_s`]: Math.round(median(one[loop].map((x) => x.perS))),
    [`${loop}_n_threads_per_s`]: Math.round(median(many[loop].map((x) => x.perS))),
    [`${loop}_ratio_median`]: Number(median(ratios(loop, "perS")).toFixed(2)), [`${loop}_ratio_range`]: range(ratios(loop, "perS")),
    // per CPU second: N threads' work per CPU second over one thread's (1.0 = no contention cost)
    [`${loop}_per_cpu_s_one`]: Math.round(median(one[loop].map((x) => x.perCpuS))),
    [`${loop}_per_cpu_s_n`]: Math.round(median(many[loop].map((x) => x.perCpuS))),
    [`${loop}_cpu_efficiency_range`]: range(ratios(loop, "perCpuS")),
  });
  console.log(JSON.stringify({
    runtime, threads: n, rounds, seconds: ms / 1000,
    admission_local_maps_per_s: Math.round(median(local)), admission_shared_per_s: Math.round(median(shared)),
    admission_us_cpu_per_conn_local: Number((1e6 / median(localCpu)).toFixed(3)),
    admission_us_cpu_per_conn_shared: Number((1e6 / median(sharedCpu)).toFixed(3)),
    shared_vs_local_per_cpu_s: range(sharedCpu.map((s, i) => s / localCpu[i]!)),
    ...loopReport("tables"), ...loopReport("admission"), ...loopReport("local"),
  }));
}
