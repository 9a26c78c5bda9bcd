/**
 * The contract every hashcash search kernel meets (../hashcash.ts defines the puzzle).
 * @module
 */

/** Outcome of one kernel call over a range of low counter words. */
export interface SearchResult {
  /** The first low word in the range whose counter meets the difficulty, or -1. */
  found: number;
  /** Counters tried: up to and including `found`, or the whole range. */
  attempts: number;
}

/** A synchronous search over counters hi * 2^32 + lo, for lo in [loStart, loStart + count). */
export interface Kernel {
  readonly name: KernelName;
  /**
   * Tries every counter of the range in order and returns the first that meets `bits` (0..32).
   * `count` is at most MAX_SEARCH_COUNT and the range may not pass lo = 2^32 - 1.
   */
  search(prefix: Uint8Array, bits: number, hi: number, loStart: number, count: number): SearchResult;
}

/** "runtime-sha256" (kernel-hasher.ts) is only ever used for small puzzles; `auto` and --kernel never pick it. */
export type KernelName = "native" | "wasm-simd" | "js" | "runtime-sha256";

/** Largest `count` a kernel call takes: keeps every index and lo an exact small integer. */
export const MAX_SEARCH_COUNT = 2 ** 30;

/** Throws unless the arguments describe a valid kernel call. */
export function checkSearchArgs(prefix: Uint8Array, bits: number, hi: number, loStart: number, count: number): void {
  if (prefix.length !== 64) throw new RangeError(`Cannot search: prefix is ${prefix.length} bytes, expected 64`);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new RangeError(`Cannot search: difficulty ${bits} is not an integer in 0..32`);
  if (!Number.isInteger(hi) || hi < 0 || hi > 0x1f_ffff) throw new RangeError(`Cannot search: high word ${hi} is not an integer in 0..2^21-1`);
  if (!Number.isInteger(loStart) || loStart < 0 || loStart > 0xffff_ffff) throw new RangeError(`Cannot search: low word ${loStart} is not a 32-bit unsigned integer`);
  if (!Number.isInteger(count) || count < 0 || count > MAX_SEARCH_COUNT) throw new RangeError(`Cannot search: count ${count} is not an integer in 0..2^30`);
  if (loStart + count > 2 ** 32) throw new RangeError(`Cannot search: range ${loStart}+${count} passes the end of the low word`);
}

/** Why a solve or a kernel failed, as a stable code next to the message. */
export type SolverErrorCode = "closed" | "no-simd" | "worker-failed" | "invalid-solution";

/** A solver failure that is not the caller's abort (aborts reject with the signal's reason). */
export class SolverError extends Error {
  override name = "SolverError";
  constructor(readonly code: SolverErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
