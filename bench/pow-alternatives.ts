/**
 * What one evaluation costs the verifier, for the puzzles docs/POW.md compares: SHA-256 of the
 * 72-byte hashcash message, scrypt and Argon2id at parameters a PoW client could be asked for, and
 * one full wisdom proof verification (HMAC + SHA-256 + field checks, src/shared/pow/challenge.ts).
 * A memory-hard puzzle without a trapdoor is verified by running it once, so its per-evaluation cost
 * is also the server's cost per proof.
 *
 * Run from the repository root:
 *   npx bun bench/pow-alternatives.ts
 *   npx deno run -A bench/pow-alternatives.ts
 * Prints a table, then one JSON line. Takes about 30 s.
 * @module
 */
import { scryptSync } from "node:crypto";
import { argon2id } from "@noble/hashes/argon2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { scrypt } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { challengePrefix, mintChallenge, signedBytes, verifySolution } from "../src/shared/pow/challenge.ts";
import { buildPrefix, encodeCounter, leadingZeroBits, solveReference } from "../src/shared/pow/hashcash.ts";
import { KeyRing, timingSafeEqual } from "../src/shared/pow/keys.ts";
import { workFirstWord } from "../src/shared/pow/sha256-fast.ts";
import type { Solution } from "../src/shared/protocol/messages.ts";
import { runtimeName, runtimeVersion } from "../src/shared/transport/index.ts";

interface Row {
  name: string;
  /** Milliseconds per evaluation (median of the timed batches). */
  ms: number;
  per_s: number;
  evaluations: number;
}

/** Keeps results observable so the JIT cannot drop the work. */
let _sink = 0;

/**
 * Time `fn` in batches of `batch` calls until `budgetMs` is spent (at least `minBatches` batches),
 * after one untimed warm-up batch. Reports the median batch.
 */
function measure(name: string, fn: (i: number) => number, batch: number, budgetMs: number, minBatches = 3): Row {
  for (let i = 0; i < batch; i++) _sink ^= fn(i);
  const perCall: number[] = [];
  const start = performance.now();
  let n = 0;
  while (perCall.length < minBatches || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) _sink ^= fn(n + i);
    perCall.push((performance.now() - t0) / batch);
    n += batch;
  }
  perCall.sort((a, b) => a - b);
  const ms = perCall[perCall.length >> 1]!;
  return { name, ms, per_s: 1000 / ms, evaluations: n };
}

const enc = new TextEncoder();
const secret = enc.encode("wisdom-pow-alternatives-secret-0123");
const ring = new KeyRing([{ id: "bench", secret }]);
const now = Date.now();
const SOLUTIONS = 512;
const sols: Solution[] = [];
for (let i = 0; i < SOLUTIONS; i++) {
  const nonce = crypto.getRandomValues(new Uint8Array(16));
  const c = mintChallenge(ring, { bits: 8, nowMs: now, ttlMs: 600_000, addr: "127.0.0.1", nonce });
  sols.push({ challenge: c, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(c), c.bits))) });
}
const ctx = { nowMs: now + 1, addr: "127.0.0.1", skewMs: 2000, maxTtlMs: 600_000 };

/** The same checks as verifySolution, written with @noble/hashes' one-shot calls and fresh arrays. */
function verifyWithNoble(s: Solution): boolean {
  const c = s.challenge;
  const signed = signedBytes({ v: c.v, alg: c.alg, bits: c.bits, iat: c.iat, exp: c.exp, nonce: hexToBytes(c.nonce), addr: c.addr, kid: c.kid });
  const given = hexToBytes(c.mac);
  if (!timingSafeEqual(given, hmac(sha256, secret, signed))) return false;
  if (c.addr !== ctx.addr) return false;
  const msg = new Uint8Array(72);
  msg.set(buildPrefix(c.bits, given), 0);
  msg.set(hexToBytes(s.counter), 64);
  return leadingZeroBits(sha256(msg)) >= c.bits;
}

const msg72 = crypto.getRandomValues(new Uint8Array(72));
const prefix = msg72.subarray(0, 64);
const counter = msg72.slice(64);
const salt = crypto.getRandomValues(new Uint8Array(16));
const pw = crypto.getRandomValues(new Uint8Array(32));
const fixedNonce = new Uint8Array(16);

const runtime = runtimeName();
const version = runtimeVersion();
console.error(`measuring on ${runtime} ${version} ...`);

const rows: Row[] = [
  measure("sha256 72 B, @noble/hashes one-shot", (i) => { msg72[71] = i; return sha256(msg72)[0]!; }, 20_000, 1500, 5),
  measure("sha256 72 B, wisdom sha256-fast", (i) => { counter[7] = i; return workFirstWord(prefix, counter); }, 20_000, 1500, 5),
  measure("wisdom mintChallenge (1 HMAC)", () => mintChallenge(ring, { bits: 20, nowMs: now, ttlMs: 60_000, addr: "127.0.0.1", nonce: fixedNonce }).bits, 5_000, 1500, 5),
  measure("wisdom verifySolution (HMAC + SHA-256)", (i) => {
    const v = verifySolution(ring, sols[i & (SOLUTIONS - 1)]!, ctx);
    if (!v.ok) throw new Error(`bench proof failed: ${v.code}`);
    return v.bits;
  }, 5_000, 1500, 5),
  measure("same checks via @noble/hashes hmac+sha256", (i) => {
    if (!verifyWithNoble(sols[i & (SOLUTIONS - 1)]!)) throw new Error("bench proof failed (noble path)");
    return 1;
  }, 5_000, 1500, 5),
  measure("scrypt N=2^10 r=8 p=1 (1 MiB), @noble", () => scrypt(pw, salt, { N: 2 ** 10, r: 8, p: 1, dkLen: 32 })[0]!, 20, 1500),
  measure("scrypt N=2^14 r=8 p=1 (16 MiB), @noble", () => scrypt(pw, salt, { N: 2 ** 14, r: 8, p: 1, dkLen: 32 })[0]!, 2, 3000),
  measure("scrypt N=2^14 r=8 p=1 (16 MiB), node:crypto", () => scryptSync(pw, salt, 32, { N: 2 ** 14, r: 8, p: 1 })[0]!, 2, 2000),
  measure("argon2id m=4 MiB t=1 p=1, @noble", () => argon2id(pw, salt, { m: 4 * 1024, t: 1, p: 1, dkLen: 32 })[0]!, 2, 3000),
  measure("argon2id m=64 MiB t=1 p=1, @noble", () => argon2id(pw, salt, { m: 64 * 1024, t: 1, p: 1, dkLen: 32 })[0]!, 1, 6000),
];

const fmtMs = (ms: number) => (ms < 0.01 ? ms.toFixed(5) : ms < 1 ? ms.toFixed(4) : ms.toFixed(1));
const fmtRate = (r: number) => (r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1));
const w = Math.max(...rows.map((r) => r.name.length));
console.log(`${runtime} ${version}`);
console.log(`${"evaluation".padEnd(w)}  ${"ms each".padStart(10)}  ${"per second".padStart(11)}  ${"timed".padStart(7)}`);
for (const r of rows) {
  console.log(`${r.name.padEnd(w)}  ${fmtMs(r.ms).padStart(10)}  ${fmtRate(r.per_s).padStart(11)}  ${String(r.evaluations).padStart(7)}`);
}
console.log(JSON.stringify({
  bench: "pow-alternatives",
  runtime,
  runtime_version: version,
  results: rows.map((r) => ({ name: r.name, ms: Number(r.ms.toPrecision(4)), per_s: Number(r.per_s.toPrecision(4)), evaluations: r.evaluations })),
  sink: _sink & 1,
}));
