/**
 * Native hashcash kernel: the search loop in JavaScript, each attempt one call of a native SHA-256
 * block function (the system OpenSSL's, through the runtime's FFI: runtime/native-sha256.ts) on
 * the prefix midstate and the attempt's final block. Pure over bytes given that function, so it
 * can be tested with any implementation of it.
 *
 * Measured here (one thread, SHA-NI): Bun 16-18 M attempts/s, where a JIT-compiled FFI call costs
 * a few nanoseconds; Deno 10-11 M/s. The loop writes the low counter word into the block and
 * resets the eight state words per attempt; the block's padding and high word are set once per call.
 * @module
 */
import { difficultyMask, midstate } from "./sha256-core.ts";
import { checkSearchArgs, type Kernel, type SearchResult } from "./types.ts";

/** Compresses a 64-byte block into state[0..7] (host-order words). */
export type BlockFunction = (state: Uint32Array, block: Uint8Array) => void;

export interface NativeKernel extends Kernel {
  /** Where the block function came from (e.g. "libcrypto.so.3"). */
  readonly library: string;
}

/** A kernel over `transform`; `stateWords` is how much room the function's context needs. */
export function createNativeKernel(transform: BlockFunction, library: string, stateWords = 28): NativeKernel {
  const state = new Uint32Array(Math.max(8, stateWords));
  const block = new Uint8Array(64);
  const view = new DataView(block.buffer);
  // The final block of a 72-byte message: counter (8 bytes), the padding bit, zeros, 576 bits.
  block[8] = 0x80;
  view.setUint32(60, 576);
  return {
    name: "native",
    library,
    search(prefix: Uint8Array, bits: number, hi: number, loStart: number, count: number): SearchResult {
      checkSearchArgs(prefix, bits, hi, loStart, count);
      const m = midstate(prefix);
      const m0 = m[0]! >>> 0, m1 = m[1]! >>> 0, m2 = m[2]! >>> 0, m3 = m[3]! >>> 0;
      const m4 = m[4]! >>> 0, m5 = m[5]! >>> 0, m6 = m[6]! >>> 0, m7 = m[7]! >>> 0;
      const mask = difficultyMask(bits);
      view.setUint32(0, hi);
      for (let i = 0; i < count; i++) {
        view.setUint32(4, loStart + i);
        state[0] = m0; state[1] = m1; state[2] = m2; state[3] = m3;
        state[4] = m4; state[5] = m5; state[6] = m6; state[7] = m7;
        transform(state, block);
        if ((state[0]! & mask) === 0) return { found: loStart + i, attempts: i + 1 };
      }
      return { found: -1, attempts: count };
    },
  };
}
