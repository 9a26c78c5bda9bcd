/**
 * The shared spent set (src/shared/store/shared-spent.ts) under threads (issue 15): each thread mints a
 * challenge (difficulty 0), verifies its Solution and marks it spent in ONE SharedSpentSet, as a gate
 * thread does per handshake minus the network. Throughput with 1 thread vs N threads, in the same run,
 * alternating, several rounds; the ratio of medians. Also the plain MemorySpentStore on one thread.
 *
 *   npx bun bench/shared-tables.ts [--threads 2] [--rounds 5] [--seconds 1]
 *   npx deno run -A bench/shared-tables.ts [--threads 2] [--rounds 5] [--seconds 1]
 *
 * On a machine with fewer free cores than --threads the ratio measures the machine, not the table; the
 * handshakes per CPU-second of the threads (Linux: /proc/thread-self/schedstat) N vs 1 does not need free
 * cores: below 1 it shows what the threads cost each other (shared cache lines, the runtime's own locks).
 * process_cpu_per_thread_cpu: the whole process's CPU over the gate threads' (GC and runtime threads): a
 * thread that needs 1.5 cores leaves 2 cores room for 1.33 of them, whatever the table does.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { bytesToHex } from "@noble/hashes/utils.js";
import { mintChallenge, verifySolution } from "../src/shared/pow/challenge.ts";
import { encodeCounter } from "../src/shared/pow/hashcash.ts";
import { KeyRing } from "../src/shared/pow/keys.ts";
import { MemorySpentStore } from "../src/shared/store/memory.ts";
import { SharedSpentSet } from "../src/shared/store/shared-spent.ts";
import type { SpentStore } from "../src/shared/store/types.ts";

const SECRET = new TextEncoder().encode("bench-shared-tables-secret-0123456789");
const COUNTER = bytesToHex(encodeCounter(0));

/** Handshakes (mint, verify, mark spent) done against `store` for `ms`; returns the count. */
export function work(store: SpentStore, ms: number, seed: number): number {
  const ring = new KeyRing([{ id: "b", secret: SECRET }]);
  const nonce = new Uint8Array(16);
  new DataView(nonce.buffer).setUint32(0, seed);
  let n = 0;
  const t0 = performance.now();
  const ctx = { nowMs: 0, addr: "192.0.2.1", skewMs: 2000, maxTtlMs: 60_000 };
  while ((n & 255) !== 0 || performance.now() - t0 < ms) {
    new DataView(nonce.buffer).setUint32(4, n); // a distinct challenge per handshake
    new DataView(nonce.buffer).setUint32(8, Math.floor(t0));
    const now = Date.now();
    const ch = mintChallenge(ring, { bits: 0, nowMs: now, ttlMs: 60_000, addr: "192.0.2.1", nonce });
    ctx.nowMs = now;
    const v = verifySolution(ring, { challenge: ch, counter: COUNTER }, ctx);
    if (!v.ok || !store.markSpent(v.spentKey, v.expiresAtMs, now, ch.iat)) throw new Error("bench: a fresh proof was refused");
    n++;
  }
  return n;
}

/** CPU time of the calling thread so far, ns (Linux); NaN elsewhere. */
export function threadCpuNs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
  } catch {
    return Number.NaN;
  }
}

/** Handshakes/s of `n` threads on one SharedSpentSet, and their handshakes per CPU-second. */
async function threads(n: number, ms: number, round: number): Promise<{ perS: number; perCpuS: number; processCpu: number }> {
  const set = SharedSpentSet.create({ maxEntries: 4_000_000, maxTtlMs: 62_000 });
  const start = new Int32Array(new SharedArrayBuffer(8));
  const ws = Array.from({ length: n }, () => new Worker(new URL("./shared-tables-worker.ts", import.meta.url), { type: "module" }));
  const done = ws.map((w, i) => new Promise<{ n: number; cpuNs: number }>((resolve, reject) => {
    w.onmessage = (e: MessageEvent) => resolve(e.data as { n: number; cpuNs: number });
    w.onerror = (e) => reject(new Error(String((e as ErrorEvent).message ?? e)));
    w.postMessage({ buffer: set.buffer, ms, seed: round * 64 + i, start });
  }));
  while (Atomics.load(start, 1) < n) await new Promise((r) => setTimeout(r, 5));
  const cpu0 = process.cpuUsage();
  Atomics.store(start, 0, 1);
  const counts = await Promise.all(done);
  const cpu = process.cpuUsage(cpu0);
  for (const w of ws) w.terminate();
  const total = counts.reduce((a, c) => a + c.n, 0), threadNs = counts.reduce((a, c) => a + c.cpuNs, 0);
  // processCpu: CPU of the whole process over that of the gate threads (the rest: GC and runtime threads)
  return { perS: total / (ms / 1000), perCpuS: total / (threadNs / 1e9), processCpu: ((cpu.user + cpu.system) * 1000) / threadNs };
}

if (import.meta.main) {
  // (at 1 s a turn the set holds every proof of a turn within one generation's share of maxEntries)
  const { values } = parseArgs({ options: { threads: { type: "string", default: "2" }, rounds: { type: "string", default: "5" }, seconds: { type: "string", default: "1" } } });
  const n = Number(values.threads), rounds = Number(values.rounds), ms = Number(values.seconds) * 1000;
  if (!(n >= 2 && rounds >= 1 && ms >= 100)) throw new Error("--threads >= 2, --rounds >= 1, --seconds >= 0.1");
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const one: number[] = [], many: number[] = [], mem: number[] = [], cpu: number[] = [], proc1: number[] = [], procN: number[] = [];
  for (let r = 0; r < rounds; r++) {
    mem.push(work(new MemorySpentStore(), ms, r) / (ms / 1000));
    const a = await threads(1, ms, r), b = await threads(n, ms, r);
    one.push(a.perS);
    many.push(b.perS);
    cpu.push(b.perCpuS / a.perCpuS);
    proc1.push(a.processCpu);
    procN.push(b.processCpu);
  }
  const ratios = one.map((o, i) => many[i]! / o);
  const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
  console.log(JSON.stringify({
    runtime, threads: n, rounds, seconds: ms / 1000,
    memory_store_one_thread_per_s: Math.round(median(mem)),
    shared_one_thread_per_s: Math.round(median(one)),
    shared_n_threads_per_s: Math.round(median(many)),
    ratio_median: Number(median(ratios).toFixed(2)),
    ratio_min: Number(Math.min(...ratios).toFixed(2)), ratio_max: Number(Math.max(...ratios).toFixed(2)),
    per_cpu_s_ratio_median: Number(median(cpu).toFixed(2)),
    per_cpu_s_ratio_min: Number(Math.min(...cpu).toFixed(2)), per_cpu_s_ratio_max: Number(Math.max(...cpu).toFixed(2)),
    process_cpu_per_thread_cpu_one: Number(median(proc1).toFixed(2)), process_cpu_per_thread_cpu_n: Number(median(procN).toFixed(2)),
  }));
}
