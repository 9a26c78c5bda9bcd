/**
 * Messages and shared memory between solver.ts and its workers (worker.ts).
 *
 * One SharedArrayBuffer is shared by the pool: CONTROL_ACTIVE_JOB holds the id of the job the
 * workers should run (0: none); a worker checks it between kernel calls and stops as soon as it
 * changes, which is how a solution, an abort or a new job cancels the others. Each worker also
 * publishes its attempts for the current job: first the job id in its tag word, then the count,
 * so a reader that sees the right tag never sees an older job's count.
 * @module
 */
import type { KernelChoice } from "./kernels.ts";

export const CONTROL_ACTIVE_JOB = 0;
const _CONTROL_WORDS = 2;

/** Views over the pool's shared memory. */
export interface PoolMemory {
  readonly buffer: SharedArrayBuffer;
  readonly control: Int32Array;
  /** Per worker: id of the job whose attempts `attempts` holds. */
  readonly tags: Int32Array;
  /** Per worker: attempts made so far on the job in `tags`. */
  readonly attempts: BigInt64Array;
}

export function poolMemory(workers: number, buffer?: SharedArrayBuffer): PoolMemory {
  const attemptsAt = 8 * Math.ceil((4 * (_CONTROL_WORDS + workers)) / 8);
  buffer ??= new SharedArrayBuffer(attemptsAt + 8 * workers);
  return {
    buffer,
    control: new Int32Array(buffer, 0, _CONTROL_WORDS),
    tags: new Int32Array(buffer, 4 * _CONTROL_WORDS, workers),
    attempts: new BigInt64Array(buffer, attemptsAt, workers),
  };
}

export type ToWorker =
  | { type: "init"; index: number; workers: number; memory: SharedArrayBuffer; kernel: KernelChoice }
  | { type: "solve"; job: number; prefix: Uint8Array; bits: number; hiStart: number; hiStep: number };

export type FromWorker =
  | { type: "hello" }
  | { type: "ready"; kernel: string }
  | { type: "found"; job: number; counter: number; attempts: number }
  | { type: "stopped"; job: number; attempts: number }
  | { type: "failed"; job: number; message: string };
