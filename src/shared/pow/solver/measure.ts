/**
 * Solver throughput, for `wisdom bench` and bench/solver.ts: attempts per second of a kernel on
 * the calling thread, and of the worker pool on every thread. Each figure follows a warm-up, so
 * that the engines' optimising tiers are what is measured.
 * @module
 */
import type { KernelChoice } from "./kernels.ts";
import { createSolver, type Solver } from "./solver.ts";
import type { Kernel } from "./types.ts";

export interface SolverMeasurement {
  /** Kernel the solver picked. */
  kernel: string;
  /** Worker threads of the pool measured in solver_hps_all. */
  threads: number;
  /** Attempts per second, the pool with one worker. */
  solver_hps_1: number;
  /** Attempts per second, the pool on every thread. */
  solver_hps_all: number;
}

/** A fixed prefix: bench figures do not depend on the puzzle, only on the hashing. */
function _benchPrefix(seed: number): Uint8Array {
  return Uint8Array.from({ length: 64 }, (_, i) => (seed * 167 + i * 29 + 11) & 255);
}

/**
 * Attempts per second of `kernel` on this thread over about `seconds` (after a warm-up of a
 * quarter of that, at most 0.5 s). Blocks the thread while it runs.
 */
export function measureKernel(kernel: Kernel, seconds: number): number {
  const prefix = _benchPrefix(1);
  const chunk = 1 << 14;
  let lo = 0;
  const run = (ms: number) => {
    let attempts = 0;
    const started = performance.now();
    let elapsed = 0;
    do {
      // Difficulty 32: a hit is a 1 in 2^32 event per attempt, and counts like any other attempt.
      attempts += kernel.search(prefix, 32, 0, lo, chunk).attempts;
      lo = (lo + chunk) % 2 ** 31;
      elapsed = performance.now() - started;
    } while (elapsed < ms);
    return { attempts, elapsed };
  };
  run(Math.min(500, seconds * 250));
  const { attempts, elapsed } = run(seconds * 1000);
  return (attempts * 1000) / elapsed;
}

/**
 * Attempts per second of `solver`'s worker pool over about `seconds` (after a warm-up), read from
 * its progress reports while it works on difficulty-32 puzzles.
 */
export async function measurePool(solver: Solver, seconds: number): Promise<number> {
  const sample = async (ms: number, seed: number) => {
    let first: [number, number] | undefined;
    let last: [number, number] | undefined;
    const done = await solver.solve(_benchPrefix(seed), 32, {
      signal: AbortSignal.timeout(ms),
      progressIntervalMs: 50,
      onProgress: (attempts, elapsedMs) => {
        first ??= [attempts, elapsedMs];
        last = [attempts, elapsedMs];
      },
    }).catch(() => undefined);
    // A solution ends the puzzle early; its own count and time close the interval then.
    if (done) last = [done.attempts, done.elapsedMs];
    return first && last && last[1] > first[1] ? { attempts: last[0] - first[0], ms: last[1] - first[1] } : { attempts: 0, ms: 0 };
  };
  // Workers start cold: their JITs tier the search loop up over the first seconds, and slower when
  // every core is busy (measured on Bun: the first 1 s after a 0.6 s warm-up ran 10-20 % below the
  // next ones, once 55 % below). So warm up for at least 1.2 s, in 400 ms slices, until two slices
  // in a row are no faster than the best before them (within 3 %), for at most 5 s.
  let best = 0;
  let flat = 0;
  for (let seed = 90, spent = 0; spent < 5000 && (spent < 1200 || flat < 2); seed++, spent += 400) {
    const part = await sample(400, seed);
    const rate = part.ms > 0 ? part.attempts / part.ms : 0;
    flat = rate > 0 && rate <= best * 1.03 ? flat + 1 : 0;
    best = Math.max(best, rate);
  }
  let attempts = 0;
  let ms = 0;
  for (let seed = 101; ms < seconds * 900; seed++) {
    const part = await sample(seconds * 1000 - ms + 100, seed);
    attempts += part.attempts;
    ms += part.ms;
    if (part.ms === 0) break;
  }
  return ms > 0 ? (attempts * 1000) / ms : 0;
}

/**
 * One-thread and all-thread throughput of the solver `wisdom` would use, both through the worker
 * pool (one worker, then every worker), so that the ratio of the two measures how the pool scales
 * and not how a worker thread differs from the main thread. (On Deno, FFI calls from the main
 * thread ran up to 1.4x faster than from a worker; bench/solver.ts shows the main-thread figures.)
 */
export async function measureSolver(opts: { seconds?: number; threads?: number; kernel?: KernelChoice } = {}): Promise<SolverMeasurement> {
  const seconds = opts.seconds ?? 2;
  const one = await createSolver({ threads: 1, kernel: opts.kernel });
  let solver_hps_1: number;
  try {
    solver_hps_1 = await measurePool(one, seconds);
  } finally {
    await one.close();
  }
  const solver = await createSolver({ threads: opts.threads, kernel: opts.kernel });
  try {
    const solver_hps_all = await measurePool(solver, seconds);
    return { kernel: solver.kernel, threads: solver.threads, solver_hps_1, solver_hps_all };
  } finally {
    await solver.close();
  }
}
