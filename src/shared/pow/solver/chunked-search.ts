/**
 * Walks the counter space of one puzzle in kernel calls of about `targetMs` each, so that the
 * caller (the inline solver or a worker) can look at its cancel signal between calls. The search
 * covers high words hiStart, hiStart + hiStep, ... and within each, every low word from 0.
 * @module
 */
import type { Kernel } from "./types.ts";

/** Outcome of one step: the counter found (or -1) and the attempts the step made. */
export interface StepResult {
  counter: number;
  attempts: number;
}

const _MIN_CHUNK = 256;
const _MAX_CHUNK = 1 << 22;
const _LO_SPAN = 2 ** 32;
/** The protocol's counters are safe integers, so the high word stays below 2^21. */
const _HI_LIMIT = 2 ** 21;

export class ChunkedSearch {
  readonly #kernel: Kernel;
  readonly #prefix: Uint8Array;
  readonly #bits: number;
  readonly #hiStep: number;
  readonly #targetMs: number;
  readonly #now: () => number;
  #hi: number;
  #lo = 0;
  #chunk: number;

  constructor(kernel: Kernel, prefix: Uint8Array, bits: number, opts: {
    hiStart?: number; hiStep?: number; targetMs?: number; firstChunk?: number; now?: () => number;
  } = {}) {
    this.#kernel = kernel;
    this.#prefix = prefix;
    this.#bits = bits;
    this.#hi = opts.hiStart ?? 0;
    this.#hiStep = opts.hiStep ?? 1;
    this.#targetMs = opts.targetMs ?? 5;
    this.#chunk = opts.firstChunk ?? 4096;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** One kernel call; afterwards the chunk size is steered towards `targetMs`. */
  step(): StepResult {
    if (this.#hi >= _HI_LIMIT) throw new RangeError("Cannot search further: every counter below 2^53 was tried");
    const count = Math.min(this.#chunk, _LO_SPAN - this.#lo);
    const started = this.#now();
    const { found, attempts } = this.#kernel.search(this.#prefix, this.#bits, this.#hi, this.#lo, count);
    const elapsed = this.#now() - started;
    const counter = found < 0 ? -1 : this.#hi * _LO_SPAN + found;
    this.#lo += count;
    if (this.#lo >= _LO_SPAN) {
      this.#lo = 0;
      this.#hi += this.#hiStep;
    }
    if (elapsed > 0) {
      const ideal = (count * this.#targetMs) / elapsed;
      // Grow at most 4x per step so one slow (unoptimised, first-tier) call does not overshoot.
      this.#chunk = Math.max(_MIN_CHUNK, Math.min(_MAX_CHUNK, Math.floor(Math.min(ideal, 4 * count) / 64) * 64));
    } else {
      this.#chunk = Math.min(_MAX_CHUNK, this.#chunk * 4);
    }
    return { counter, attempts };
  }
}
