/**
 * What the solver (solver.ts) and the client's small-first front (small-first.ts) share without loading
 * the fast kernels: the inline search loop on this thread, the default thread count, and SMALL_BITS.
 * @module
 */
import { ChunkedSearch } from "./chunked-search.ts";
import type { Kernel } from "./types.ts";

/**
 * With kernel "auto", puzzles of at most this many bits are solved before the fastest kernel is picked
 * (until some larger puzzle, or reading `kernel`, picks it): by the runtime's native one-shot SHA-256
 * where there is one (Bun; kernel-hasher.ts), else by the pure-JS kernel. Picking loads OpenSSL through
 * FFI and runs its known-answer test, or compiles the WebAssembly module, which takes longer than 2^12
 * attempts do; the JS kernel's first calls run in the engine's interpreter, slower than a native hash.
 * That keeps `wisdom fetch` at a low difficulty close to the runtime's own start-up (bench/startup.ts).
 */
export const SMALL_BITS = 12;

const _INLINE_CHUNK_MS = 8;
const _INLINE_YIELD_MS = 12;
const _PROGRESS_MS = 250;

/** One solve() call as the inline and pool paths see it. */
export interface InlineJob {
  prefix: Uint8Array;
  bits: number;
  opts: { onProgress?: (attempts: number, elapsedMs: number) => void; progressIntervalMs?: number };
  /** The caller's signal and close(), combined. */
  stop: AbortSignal;
  started: number;
}

/** Searches on this thread in chunks of ~8 ms, yielding to the event loop every ~12 ms; rejects when `stop` aborts. */
export async function solveInline(kernel: Kernel, { prefix, bits, opts, stop, started }: InlineJob): Promise<{ counter: number; attempts: number; elapsedMs: number }> {
  const search = new ChunkedSearch(kernel, prefix, bits, { targetMs: _INLINE_CHUNK_MS });
  const interval = opts.progressIntervalMs ?? _PROGRESS_MS;
  let attempts = 0;
  let lastYield = started;
  let lastReport = started;
  for (;;) {
    stop.throwIfAborted();
    const step = search.step();
    attempts += step.attempts;
    const now = performance.now();
    if (step.counter >= 0) return { counter: step.counter, attempts, elapsedMs: now - started };
    if (opts.onProgress && now - lastReport >= interval) {
      opts.onProgress(attempts, now - started);
      lastReport = now;
    }
    if (now - lastYield >= _INLINE_YIELD_MS) {
      // Let timers and abort handlers run: an inline solve must not freeze the caller.
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastYield = performance.now();
    }
  }
}

/** Every core: navigator.hardwareConcurrency, else node:os, else 1. */
export async function defaultThreads(): Promise<number> {
  const fromNavigator = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (fromNavigator && fromNavigator > 0) return fromNavigator;
  try {
    const os = await import("node:os");
    return os.availableParallelism();
  } catch {
    return 1;
  }
}
