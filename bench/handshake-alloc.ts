/**
 * Bytes the per-handshake path allocates (issue 15): mint a challenge, verify its Solution and mark it
 * spent in a SharedSpentSet, as a gate thread does per handshake minus the network, and each step alone.
 * Garbage per handshake is work for the runtime's GC and heap threads, which compete with the gate
 * threads for cores (bench/shared-tables.ts reports their CPU as helper_cpu_*).
 *
 *   npx deno run -A --v8-flags=--min-semi-space-size=64,--max-semi-space-size=64 bench/handshake-alloc.ts
 *   BUN_JSC_useGC=0 npx bun bench/handshake-alloc.ts
 *
 * Deno (V8): the used heap before and after a block of operations, with a young generation large enough
 * that no collection runs inside a block (a block over which the heap shrank saw one and is dropped); the
 * smallest of several blocks. Bun (JSC): with the collector off, the heap's capacity grows by what is
 * allocated, and heapStats() counts the new cells by type. "handshake" is the sum of the four steps;
 * "loop" is bench/shared-tables.ts's work() per handshake, which also makes a KeyRing and reads its
 * thread's CPU time once per 256 handshakes (once a turn there).
 */
import process from "node:process";
import { bytesToHex } from "@noble/hashes/utils.js";
import { type Challenge, type Solution } from "../src/shared/protocol/messages.ts";
import { mintChallenge, verifySolution, type Verdict } from "../src/shared/pow/challenge.ts";
import { encodeCounter } from "../src/shared/pow/hashcash.ts";
import { KeyRing } from "../src/shared/pow/keys.ts";
import { SharedSpentSet } from "../src/shared/store/shared-spent.ts";
import { work } from "./shared-tables.ts";

interface Jsc {
  heapStats(): { heapCapacity: number; objectTypeCounts: Record<string, number> };
}

const N = 2048; // operations a block (work() runs blocks of 256 handshakes)
const BLOCKS = 8;
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const jscName = "bun:jsc"; // a variable: other runtimes never resolve it
const jsc = isBun ? (await import(jscName)) as Jsc : null;
if (isBun && process.env.BUN_JSC_useGC !== "0") console.error("bench: run with BUN_JSC_useGC=0, or collections hide what is allocated");

const ring = new KeyRing([{ id: "b", secret: new TextEncoder().encode("bench-handshake-alloc-secret-0123456789") }]);
const COUNTER = bytesToHex(encodeCounter(0));
const set = SharedSpentSet.create({ maxEntries: 4_000_000, maxTtlMs: 62_000 });
const nonce = new Uint8Array(16);
const ctx = { nowMs: 0, addr: "192.0.2.1", skewMs: 2000, maxTtlMs: 60_000 };
// Slots filled in place, so storing the results allocates nothing.
const chs: (Challenge | null)[] = new Array(N).fill(null), sols: (Solution | null)[] = new Array(N).fill(null), vs: (Verdict | null)[] = new Array(N).fill(null);
let seq = 0, now = Date.now();

const steps: Record<string, () => void> = {
  mint: () => {
    now = Date.now();
    for (let i = 0; i < N; i++) {
      const k = seq++;
      nonce[0] = k; nonce[1] = k >>> 8; nonce[2] = k >>> 16; nonce[3] = k >>> 24;
      chs[i] = mintChallenge(ring, { bits: 0, nowMs: now, ttlMs: 60_000, addr: "192.0.2.1", nonce });
    }
  },
  // What the server's frame decoder hands verifySolution (its decoding allocates more: not measured here).
  solution: () => {
    for (let i = 0; i < N; i++) sols[i] = { challenge: chs[i]!, counter: COUNTER };
  },
  verify: () => {
    ctx.nowMs = now;
    for (let i = 0; i < N; i++) vs[i] = verifySolution(ring, sols[i]!, ctx);
  },
  markSpent: () => {
    for (let i = 0; i < N; i++) {
      const v = vs[i]!;
      if (!v.ok || !set.markSpent(v.spentKey, v.expiresAtMs, now, now)) throw new Error("bench: a fresh proof was refused");
    }
  },
  loop: () => {
    for (let i = 0; i < N; i += 256) work(set, 0, seq++);
  },
};

function heap(): number {
  return jsc ? jsc.heapStats().heapCapacity : process.memoryUsage().heapUsed;
}

const order = ["mint", "solution", "verify", "markSpent", "loop"];
for (let r = 0; r < 30; r++) for (const s of order) steps[s]!(); // warm up (JIT tiers)
const result: Record<string, string | number | Record<string, number>> = { runtime: isBun ? "bun" : "deno" };
const cells: Record<string, number> = {};
for (const s of order) {
  let best = Infinity;
  const types0 = jsc?.heapStats().objectTypeCounts;
  for (let b = 0; b < BLOCKS; b++) {
    if (s !== "mint" && s !== "loop") steps.mint!(); // fresh inputs for the later steps
    if (s === "verify" || s === "markSpent") steps.solution!();
    if (s === "markSpent") steps.verify!();
    const h0 = heap();
    steps[s]!();
    const d = heap() - h0;
    if (d >= 0) best = Math.min(best, d);
  }
  result[`${s}_bytes`] = Number((best / N).toFixed(1));
  if (jsc && s === "loop") {
    const types1 = jsc.heapStats().objectTypeCounts;
    for (const [k, n] of Object.entries(types1)) {
      const d = (n - (types0![k] ?? 0)) / (BLOCKS * N);
      if (d >= 0.05) cells[k] = Number(d.toFixed(2));
    }
  }
}
result.handshake_bytes = Number(["mint", "solution", "verify", "markSpent"].reduce((a, s) => a + (result[`${s}_bytes`] as number), 0).toFixed(1));
if (jsc) result.loop_cells_per_handshake = cells;
console.log(JSON.stringify(result));
