/**
 * The shared spent set (src/shared/store/shared-spent.ts) under threads (issue 15): each thread mints a
 * challenge (difficulty 0), verifies its Solution and marks it spent in ONE SharedSpentSet, as a gate
 * thread does per handshake minus the network. Throughput with 1 thread vs N threads, in the same run,
 * alternating, several rounds; the ratio of medians. Also the plain MemorySpentStore on one thread.
 *
 *   npx bun bench/shared-tables.ts [--threads 2] [--rounds 5] [--seconds 1] [--prefault] [--young-every N] [--buckets B] [--warmup-ms W] [--control]
 *   npx deno run -A bench/shared-tables.ts [--threads 2] [--rounds 5] [--seconds 1] [--prefault] [--buckets B] [--warmup-ms W] [--control]
 *
 * --young-every N: on Bun each thread asks for an eden collection every N handshakes, as a gate thread
 * does every GATE_YOUNG_EVERY (500) connections (runtime/young-pacer.ts); 0: the runtime's own pace. The
 * default, BENCH_YOUNG_EVERY (10,000), leaves as many bytes between two collections as the gate's pace
 * does: a gate connection allocates about 8.5 KB on Bun and a handshake here about 430 bytes, so 500
 * connections and 10,000 of these handshakes both make about 4 MB (BUN_JSC_logGC=1: 581 MB in 157 eden
 * collections over 68,752 gate handshakes; 110 MB in 26 over 255,744 here). At 500 this loop collects
 * 20 times as often per byte as a gate thread does, and its collection pauses take 23-27 % of its CPU
 * time instead of the gate's 4 to 5 %: a cost the gate does not pay, on cores two busy threads share.
 *
 * --warmup-ms W (default 1000): each thread of a turn (a new Worker) first runs W ms on a set of its own,
 * so that the JIT has compiled the loop before the measured second. At 100 ms, as before, JavaScriptCore's
 * JITWorker threads still took 5-7 % of a two-thread turn's CPU (3-7 % with one thread) and at most 1 % at
 * 1,000: a start-up cost a long-running gate thread pays once, which fell on two threads sharing two cores.
 *
 * Each turn makes a new set whose pages are untouched, so a turn also pays first-touch page faults
 * (about one per new 4 KB page; tens of microseconds each on this VM); --prefault touches them first
 * (SharedSpentSet's `prefault`), as a long-running server's set is once it has been used.
 *
 * On a machine with fewer free cores than --threads the ratio measures the machine, not the table.
 * --control also races a loop that shares nothing and allocates nothing (one SHA-256 of 72 bytes a
 * turn, as verification's last step) on 1 and N threads, in the same rounds: its ratio is what this
 * machine gives N threads at the moment, the ceiling for the table's ratio.
 */
import { parseArgs } from "node:util";
import { bytesToHex } from "@noble/hashes/utils.js";
import { mintChallenge, verifySolution } from "../src/shared/pow/challenge.ts";
import { buildPrefix, encodeCounter } from "../src/shared/pow/hashcash.ts";
import { workFirstWord } from "../src/shared/pow/sha256-fast.ts";
import { KeyRing } from "../src/shared/pow/keys.ts";
import { MemorySpentStore } from "../src/shared/store/memory.ts";
import { SharedSpentSet } from "../src/shared/store/shared-spent.ts";
import type { SpentStore } from "../src/shared/store/types.ts";
import { youngPacer } from "../src/shared/runtime/young-pacer.ts";
import { raceWorkers, threadCpuNs } from "./_thread-cpu.ts";

const SECRET = new TextEncoder().encode("bench-shared-tables-secret-0123456789");
/** The measured set's shape (threads() adds --prefault and --buckets). */
export const BENCH_SET = { maxEntries: 4_000_000, maxTtlMs: 62_000, tables: 5 } as const;
/** The set each thread warms up on: the same code paths, a generation of 500,000 keys (a thread's 1,000 ms), a third of the memory. */
export const WARMUP_SET = { maxEntries: 1_500_000, maxTtlMs: 62_000, tables: 5 } as const;
/** Handshakes between two eden collections by default: as many bytes as a gate thread's GATE_YOUNG_EVERY connections (above). */
export const BENCH_YOUNG_EVERY = 10_000;
const COUNTER = bytesToHex(encodeCounter(0));

/**
 * Handshakes (mint, verify, mark spent) done against `store` for `ms`: the count, and this thread's CPU time
 * for them. `youngEvery`: an eden collection every that many handshakes on Bun (--young-every, above); 0: none,
 * the runtime's own pace.
 */
export function work(store: SpentStore, ms: number, seed: number, youngEvery = 0): { n: number; cpuNs: number } {
  const young = youngEvery > 0 ? youngPacer(youngEvery) : null;
  const cpu0 = threadCpuNs();
  const ring = new KeyRing([{ id: "b", secret: SECRET }]);
  const nonce = new Uint8Array(16);
  const nonceView = new DataView(nonce.buffer); // one view, not three a handshake: the server's nonce is random bytes
  nonceView.setUint32(0, seed);
  let n = 0;
  const t0 = performance.now();
  const ctx = { nowMs: 0, addr: "192.0.2.1", skewMs: 2000, maxTtlMs: 60_000 };
  do {
    nonceView.setUint32(4, n); // a distinct challenge per handshake
    nonceView.setUint32(8, Math.floor(t0));
    const now = Date.now();
    const ch = mintChallenge(ring, { bits: 0, nowMs: now, ttlMs: 60_000, addr: "192.0.2.1", nonce });
    ctx.nowMs = now;
    const v = verifySolution(ring, { challenge: ch, counter: COUNTER }, ctx);
    if (!v.ok || !store.markSpent(v.spentKey, v.expiresAtMs, now, ch.iat)) throw new Error("bench: a fresh proof was refused");
    n++;
    young?.tick();
  } while ((n & 255) !== 0 || performance.now() - t0 < ms);
  return { n, cpuNs: threadCpuNs() - cpu0 };
}

/** The control: SHA-256 digests for `ms` with nothing shared and nothing allocated per digest. */
export function control(ms: number, seed: number): { n: number; cpuNs: number } {
  const cpu0 = threadCpuNs();
  const prefix = buildPrefix(8, new Uint8Array(32).fill(seed & 255)), counter = new Uint8Array(8);
  let n = 0, x = 0;
  const t0 = performance.now();
  do {
    for (let i = 0; i < 256; i++, n++) {
      counter[0] = n; counter[1] = n >>> 8; counter[2] = n >>> 16;
      x ^= workFirstWord(prefix, counter);
    }
  } while (performance.now() - t0 < ms);
  if (x === 0x1234_5678) console.log("(control digest)"); // keep the digests observable
  return { n, cpuNs: threadCpuNs() - cpu0 };
}

async function controlThreads(n: number, ms: number, round: number, warmupMs: number): Promise<{ perS: number; perCpuS: number; helperCpu: number }> {
  return raceWorkers(new URL("./shared-tables-worker.ts", import.meta.url), Array.from({ length: n }, (_, i) => (start: Int32Array) => ({ control: true, ms, seed: round * 64 + i, start, warmupMs })), ms);
}

/** Handshakes per second, and per CPU second, of `n` threads on one shared set. */
async function threads(n: number, ms: number, round: number, prefault: boolean, youngEvery: number, warmupMs: number, buckets?: number): Promise<{ perS: number; perCpuS: number; helperCpu: number }> {
  // 5 tables: each generation takes a third of maxEntries (1,333,334 keys), more than two threads insert in a turn
  const set = SharedSpentSet.create({ ...BENCH_SET, prefault, buckets });
  return raceWorkers(new URL("./shared-tables-worker.ts", import.meta.url), Array.from({ length: n }, (_, i) => (start: Int32Array) => ({ buffer: set.buffer, ms, seed: round * 64 + i, start, youngEvery, warmupMs })), ms);
}

if (import.meta.main) {
  // (at 1 s a turn the set holds every proof of a turn within one generation's share of maxEntries)
  // --buckets B: buckets per generation (default: SharedSpentSet's, from maxEntries)
  const { values } = parseArgs({ options: { prefault: { type: "boolean", default: false }, control: { type: "boolean", default: false }, threads: { type: "string", default: "2" }, "young-every": { type: "string", default: String(BENCH_YOUNG_EVERY) }, rounds: { type: "string", default: "5" }, buckets: { type: "string" }, "warmup-ms": { type: "string", default: "1000" }, seconds: { type: "string", default: "1" } } });
  const n = Number(values.threads), rounds = Number(values.rounds), ms = Number(values.seconds) * 1000;
  const youngEvery = Number(values["young-every"]);
  const buckets = values.buckets === undefined ? undefined : Number(values.buckets);
  const warmupMs = Number(values["warmup-ms"]);
  if (!(n >= 2 && rounds >= 1 && ms >= 100 && Number.isInteger(youngEvery) && youngEvery >= 0 && Number.isFinite(warmupMs) && warmupMs >= 0)) throw new Error("--threads >= 2, --rounds >= 1, --seconds >= 0.1, --young-every an integer >= 0, --warmup-ms a finite number >= 0");
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const one: number[] = [], many: number[] = [], mem: number[] = [], oneCpu: number[] = [], manyCpu: number[] = [], oneHelp: number[] = [], manyHelp: number[] = [], controlRatios: number[] = [], overControl: number[] = [];
  for (let r = 0; r < rounds; r++) {
    mem.push(work(new MemorySpentStore(), ms, r, youngEvery).n / (ms / 1000));
    const o = await threads(1, ms, r, values.prefault, youngEvery, warmupMs, buckets), m = await threads(n, ms, r, values.prefault, youngEvery, warmupMs, buckets);
    one.push(o.perS); oneCpu.push(o.perCpuS); oneHelp.push(o.helperCpu);
    many.push(m.perS); manyCpu.push(m.perCpuS); manyHelp.push(m.helperCpu);
    if (values.control) {
      const co = await controlThreads(1, ms, r, warmupMs), cm = await controlThreads(n, ms, r, warmupMs);
      controlRatios.push(cm.perS / co.perS);
      overControl.push((m.perS / o.perS) / (cm.perS / co.perS)); // the round's ratio against the machine's, seconds apart
    }
  }
  const ratios = one.map((o, i) => many[i]! / o);
  const cpuRatios = oneCpu.map((o, i) => manyCpu[i]! / o);
  const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
  console.log(JSON.stringify({
    runtime, threads: n, rounds, seconds: ms / 1000, prefault: values.prefault, young_every: youngEvery, warmup_ms: warmupMs,
    memory_store_one_thread_per_s: Math.round(median(mem)),
    shared_one_thread_per_s: Math.round(median(one)),
    shared_n_threads_per_s: Math.round(median(many)),
    ratio_median: Number(median(ratios).toFixed(2)),
    ratio_min: Number(Math.min(...ratios).toFixed(2)), ratio_max: Number(Math.max(...ratios).toFixed(2)),
    // handshakes per CPU second summed over the threads, N threads over 1 (1.0: sharing costs nothing)
    per_cpu_s_one: Math.round(median(oneCpu)), per_cpu_s_n: Math.round(median(manyCpu)),
    cpu_efficiency_median: Number(median(cpuRatios).toFixed(2)),
    cpu_efficiency_min: Number(Math.min(...cpuRatios).toFixed(2)), cpu_efficiency_max: Number(Math.max(...cpuRatios).toFixed(2)),
    // the process's CPU beyond the busy threads' own (GC, JIT, the waiting main thread), as a share of theirs
    helper_cpu_one_median: Number(median(oneHelp).toFixed(2)), helper_cpu_n_median: Number(median(manyHelp).toFixed(2)),
    ...(values.control ? {
      control_ratio_median: Number(median(controlRatios).toFixed(2)),
      control_ratio_min: Number(Math.min(...controlRatios).toFixed(2)), control_ratio_max: Number(Math.max(...controlRatios).toFixed(2)),
      // each round's ratio over that round's control ratio (1.0: the table scales as well as code that shares nothing)
      over_control_median: Number(median(overControl).toFixed(2)),
      over_control_min: Number(Math.min(...overControl).toFixed(2)), over_control_max: Number(Math.max(...overControl).toFixed(2)),
    } : {}),
  }));
}
