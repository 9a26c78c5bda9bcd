/**
 * A hashcash kernel over any one-shot SHA-256 of the whole 72-byte message (prefix || counter), with no
 * midstate and no set-up: the solver's choice for small puzzles in a fresh process, with the runtime's
 * native hash (runtime/runtime-sha256.ts), where a few hundred attempts at full speed from the first call
 * beat a faster kernel that has to load or warm up first. Not a kernel `auto` picks for large puzzles.
 * @module
 */
import type { OneShotSha256 } from "../../runtime/runtime-sha256.ts";
import { checkSearchArgs, type Kernel, type SearchResult } from "./types.ts";

export function createHasherKernel(hash: OneShotSha256): Kernel {
  const msg = new Uint8Array(72);
  const view = new DataView(msg.buffer);
  const digest = new Uint8Array(32);
  return {
    name: "runtime-sha256",
    search(prefix: Uint8Array, bits: number, hi: number, loStart: number, count: number): SearchResult {
      checkSearchArgs(prefix, bits, hi, loStart, count);
      msg.set(prefix);
      view.setUint32(64, hi);
      for (let i = 0; i < count; i++) {
        view.setUint32(68, loStart + i);
        hash(msg, digest);
        const first = ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
        if (Math.clz32(first) >= bits) return { found: loStart + i, attempts: i + 1 };
      }
      return { found: -1, attempts: count };
    },
  };
}
