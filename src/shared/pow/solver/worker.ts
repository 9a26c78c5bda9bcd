/**
 * A solver worker (started by solver.ts): runs one kernel on its share of the counter space
 * (high words index, index + workers, ...) until it finds a solution or the job it runs is no
 * longer the pool's active job (pool-protocol.ts). The search loop is synchronous; cancellation
 * travels through shared memory, not messages, so it is seen between two kernel calls.
 *
 * The message handler is attached before anything else runs and announced with "hello": Bun
 * drops messages that reach a worker before its handler exists.
 * @module
 */
import { ChunkedSearch } from "./chunked-search.ts";
import { createKernel } from "./kernels.ts";
import { CONTROL_ACTIVE_JOB, type FromWorker, type PoolMemory, poolMemory, type ToWorker } from "./pool-protocol.ts";
import type { Kernel } from "./types.ts";

/** Milliseconds per kernel call: the bound on how late a cancel is seen. */
const _CHUNK_MS = 4;

interface _WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as _WorkerScope;
let index = 0;
let kernel: Kernel | undefined;
let memory: PoolMemory | undefined;

scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === "init") {
    index = message.index;
    memory = poolMemory(message.workers, message.memory);
    try {
      kernel = createKernel(message.kernel);
    } catch (error) {
      // The main thread could load the native library and this thread cannot: search with the best
      // kernel this thread has rather than fail the pool ("ready" names the kernel it runs).
      if (message.kernel !== "native") throw error;
      kernel = createKernel("auto");
    }
    scope.postMessage({ type: "ready", kernel: kernel.name });
  } else if (message.type === "solve") {
    try {
      _run(message);
    } catch (error) {
      scope.postMessage({ type: "failed", job: message.job, message: error instanceof Error ? error.message : String(error) });
    }
  }
};
scope.postMessage({ type: "hello" });

function _run(job: Extract<ToWorker, { type: "solve" }>): void {
  const mem = memory!;
  Atomics.store(mem.attempts, index, 0n);
  Atomics.store(mem.tags, index, job.job);
  const search = new ChunkedSearch(kernel!, job.prefix, job.bits, { hiStart: job.hiStart, hiStep: job.hiStep, targetMs: _CHUNK_MS });
  let attempts = 0;
  while (Atomics.load(mem.control, CONTROL_ACTIVE_JOB) === job.job) {
    const step = search.step();
    attempts += step.attempts;
    Atomics.store(mem.attempts, index, BigInt(attempts));
    if (step.counter >= 0) {
      // Stop the siblings now rather than when the main thread gets round to it.
      Atomics.compareExchange(mem.control, CONTROL_ACTIVE_JOB, job.job, 0);
      scope.postMessage({ type: "found", job: job.job, counter: step.counter, attempts });
      return;
    }
  }
  scope.postMessage({ type: "stopped", job: job.job, attempts });
}
