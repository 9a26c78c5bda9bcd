/**
 * Pure-JavaScript hashcash kernel: the fallback where WebAssembly SIMD is missing, and the
 * reference the SIMD kernel is measured against.
 *
 * Per call it compresses the prefix once (the midstate), runs round 0 (which only sees the high
 * word), and pre-adds K[t] + W[t] for rounds 2..15, whose message words are the constant padding.
 * Per attempt it then computes the schedule and rounds 1..63 in Int32 arithmetic, with no
 * allocation, and compares the first digest word with the difficulty mask.
 * @module
 */
import { difficultyMask, FINAL_BLOCK_PAD, K, midstate } from "./sha256-core.ts";
import { checkSearchArgs, type Kernel, type SearchResult } from "./types.ts";

/** The pure-JS kernel plus the entry point tests use to check it against a reference. */
export interface JsKernel extends Kernel {
  /** First word of SHA-256(prefix || counter), unsigned, through the kernel's own code. */
  firstWord(prefix: Uint8Array, hi: number, lo: number): number;
}

/** A kernel that runs on any JavaScript engine. */
export function createJsKernel(): JsKernel {
  const w = new Int32Array(64);
  const kw = new Int32Array(64);
  // State after round 0, and the first midstate word, for the prefix and high word of the call.
  const round1 = new Int32Array(8);
  let m0 = 0;

  function prepare(prefix: Uint8Array, hi: number): void {
    const m = midstate(prefix);
    m0 = m[0]!;
    w[0] = hi;
    w.set(FINAL_BLOCK_PAD, 2);
    for (let t = 2; t < 16; t++) kw[t] = (K[t]! + w[t]!) | 0;
    // Round 0 depends on the midstate and the high word only.
    const a = m[0]!, b = m[1]!, c = m[2]!, d = m[3]!, e = m[4]!, f = m[5]!, g = m[6]!, h = m[7]!;
    const t1 = (h + _bigSigma1(e) + (g ^ (e & (f ^ g))) + K[0]! + hi) | 0;
    const t2 = (_bigSigma0(a) + ((a & b) | (c & (a | b)))) | 0;
    round1.set([(t1 + t2) | 0, a, b, c, (d + t1) | 0, e, f, g]);
  }

  /** The first digest word of counter (hi, lo) after prepare(): rounds 1..63 and the final add. */
  function attempt(lo: number): number {
    w[1] = lo;
    kw[1] = (K[1]! + lo) | 0;
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!, y = w[t - 2]!;
      const sigma0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const sigma1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      const wt = (w[t - 16]! + sigma0 + w[t - 7]! + sigma1) | 0;
      w[t] = wt;
      kw[t] = (K[t]! + wt) | 0;
    }
    let a = round1[0]!, b = round1[1]!, c = round1[2]!, d = round1[3]!, e = round1[4]!, f = round1[5]!, g = round1[6]!, h = round1[7]!;
    for (let t = 1; t < 64; t++) {
      const u1 = (h + _bigSigma1(e) + (g ^ (e & (f ^ g))) + kw[t]!) | 0;
      const u2 = (_bigSigma0(a) + ((a & b) | (c & (a | b)))) | 0;
      h = g; g = f; f = e; e = (d + u1) | 0;
      d = c; c = b; b = a; a = (u1 + u2) | 0;
    }
    return (m0 + a) | 0;
  }

  return {
    name: "js",
    search(prefix: Uint8Array, bits: number, hi: number, loStart: number, count: number): SearchResult {
      checkSearchArgs(prefix, bits, hi, loStart, count);
      prepare(prefix, hi);
      const mask = difficultyMask(bits);
      for (let i = 0; i < count; i++) {
        if ((attempt((loStart + i) | 0) & mask) === 0) return { found: loStart + i, attempts: i + 1 };
      }
      return { found: -1, attempts: count };
    },
    firstWord(prefix: Uint8Array, hi: number, lo: number): number {
      prepare(prefix, hi);
      return attempt(lo | 0) >>> 0;
    },
  };
}

function _bigSigma0(x: number): number {
  return ((x >>> 2) | (x << 30)) ^ ((x >>> 13) | (x << 19)) ^ ((x >>> 22) | (x << 10));
}

function _bigSigma1(x: number): number {
  return ((x >>> 6) | (x << 26)) ^ ((x >>> 11) | (x << 21)) ^ ((x >>> 25) | (x << 7));
}
