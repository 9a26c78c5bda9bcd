/**
 * The hashcash solver the client uses: picks the fastest kernel (kernels.ts), solves small puzzles
 * inline on the calling thread, and larger ones on a pool of module workers (worker.ts) that split
 * the counter space by high word and stop each other through shared memory (pool-protocol.ts).
 *
 * Small puzzles never start a worker: a worker costs tens of milliseconds to start and compile
 * (INLINE_BITS_COLD below), which a `wisdom fetch` at difficulty 8 cannot afford. Workers start
 * lazily on the first large puzzle and are kept for later ones until close().
 *
 * Workers are created as `new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" })`,
 * the web-standard form that Bun and Deno both run from source; Deno needs only --allow-read.
 *
 * `bun build --compile` must get the worker as an extra entrypoint, and the binary then holds it
 * at its path relative to the entrypoints' common root (or --root), while import.meta.url of every
 * bundled module is the binary's own root file. So outside the source tree (import.meta.url not
 * ending in solver.ts) the worker is looked up at ./src/shared/pow/solver/worker.ts and then at
 * ./shared/pow/solver/worker.ts from there, which covers both of these:
 *
 *   bun build --compile --root . src/main.ts src/shared/pow/solver/worker.ts --outfile wisdom
 *   bun build --compile src/main.ts src/shared/pow/solver/worker.ts --outfile wisdom
 * @module
 */
import { encodeCounter, meetsDifficulty } from "../hashcash.ts";
import { defaultThreads, type InlineJob, solveInline } from "./inline.ts";
import { runtimeSha256 } from "../../runtime/runtime-sha256.ts";
import { createHasherKernel } from "./kernel-hasher.ts";
import { createJsKernel } from "./kernel-js.ts";
import { createKernel, type KernelChoice, resolveKernel } from "./kernels.ts";
import { CONTROL_ACTIVE_JOB, type FromWorker, type PoolMemory, poolMemory, type ToWorker } from "./pool-protocol.ts";
import { type Kernel, type KernelName, SolverError } from "./types.ts";

export { SolverError, type SolverErrorCode } from "./types.ts";

export interface SolverOptions {
  /** Worker threads for large puzzles; default: every core. */
  threads?: number;
  /** Kernel to run; "auto" (default) picks the fastest available. */
  kernel?: KernelChoice;
}

export interface SolveOptions {
  /** Aborting rejects the solve with the signal's reason and stops every worker within ~5 ms. */
  signal?: AbortSignal;
  /** Called with the attempts so far about every `progressIntervalMs`. */
  onProgress?: (attempts: number, elapsedMs: number) => void;
  progressIntervalMs?: number;
}

export interface Solution {
  /** The counter: SHA-256(prefix || counter as 8 big-endian bytes) meets the difficulty. */
  counter: number;
  /** Counters tried by every thread. */
  attempts: number;
  elapsedMs: number;
}

export interface Solver {
  readonly kernel: string;
  readonly threads: number;
  /** Workers running now: 0 until the first puzzle too large to solve inline, and after close(). */
  readonly workersRunning: number;
  solve(prefix: Uint8Array, bits: number, opts?: SolveOptions): Promise<Solution>;
  /** Stops any solve in flight and terminates the workers. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Puzzles of at most this many bits are solved inline while no worker runs yet. Measured here:
 * the first pool solve pays 50-90 ms of worker start-up (spawn, module load, kernel compile,
 * first calls in the engines' baseline tiers) on Bun and Deno, while one cold thread covers 2^18
 * attempts in 30-70 ms; so at 18 bits inline is still faster, and at 19 the two break even.
 */
export const INLINE_BITS_COLD = 18;
/** Once the workers run, handing them a job costs well under a millisecond. */
export const INLINE_BITS_WARM = 14;

const _PROGRESS_MS = 250;

export { SMALL_BITS } from "./inline.ts";
import { SMALL_BITS } from "./inline.ts";

/** Creates a solver; no worker starts until a puzzle needs one, and "auto" picks its kernel when one needs it. */
export async function createSolver(options: SolverOptions = {}): Promise<Solver> {
  const threads = options.threads ?? (await defaultThreads());
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new RangeError(`Cannot create solver: threads ${threads} is not an integer in 1..256`);
  }
  const choice = options.kernel ?? "auto";
  if (choice === "auto") return new _Solver(threads, () => resolveKernel("auto"), true);
  const kernelName = resolveKernel(choice); // an unknown name throws here, not at the first solve
  return new _Solver(threads, () => kernelName, false);
}

interface _Pending {
  job: number;
  started: number;
  resolve(solution: Solution): void;
  reject(error: unknown): void;
}

interface _RefWorker extends Worker {
  ref?(): void;
  unref?(): void;
}

class _Solver implements Solver {
  readonly threads: number;
  readonly #pick: () => KernelName;
  /** Small puzzles may use the JS kernel before the fastest one is picked (SMALL_BITS). */
  readonly #smallFirst: boolean;
  #chosen: { name: KernelName; kernel: Kernel } | undefined;
  #small: { name: KernelName; kernel: Kernel } | undefined;
  /** Aborted by close(); every solve also stops on it. */
  readonly #lifetime = new AbortController();
  #queue: Promise<unknown> = Promise.resolve();
  #workers: _RefWorker[] = [];
  #memory: PoolMemory | undefined;
  #starting: Promise<void> | undefined;
  #job = 0;
  #pending: _Pending | undefined;

  constructor(threads: number, pick: () => KernelName, smallFirst: boolean) {
    this.threads = threads;
    this.#pick = pick;
    this.#smallFirst = smallFirst;
  }

  /** The kernel for every puzzle above SMALL_BITS (picked now if it was not yet). */
  get kernel(): string {
    return this.#fastest().name;
  }

  #fastest(): { name: KernelName; kernel: Kernel } {
    if (!this.#chosen) {
      const name = this.#pick();
      this.#chosen = { name, kernel: createKernel(name) };
    }
    return this.#chosen;
  }

  /** The kernel that solves a `bits` puzzle on this thread. */
  #inlineKernel(bits: number): { name: KernelName; kernel: Kernel } {
    if (this.#smallFirst && !this.#chosen && bits <= SMALL_BITS) {
      if (!this.#small) {
        const hash = runtimeSha256();
        this.#small = hash ? { name: "runtime-sha256", kernel: createHasherKernel(hash) } : { name: "js", kernel: createJsKernel() };
      }
      return this.#small;
    }
    return this.#fastest();
  }

  get workersRunning(): number {
    return this.#workers.length;
  }

  solve(prefix: Uint8Array, bits: number, opts: SolveOptions = {}): Promise<Solution> {
    if (prefix.length !== 64) return Promise.reject(new RangeError(`Cannot solve: prefix is ${prefix.length} bytes, expected 64`));
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) {
      return Promise.reject(new RangeError(`Cannot solve: difficulty ${bits} is not an integer in 0..32`));
    }
    const run = async () => {
      const stop = opts.signal ? AbortSignal.any([this.#lifetime.signal, opts.signal]) : this.#lifetime.signal;
      stop.throwIfAborted();
      const started = performance.now();
      const inlineBits = this.#workers.length > 0 ? INLINE_BITS_WARM : INLINE_BITS_COLD;
      const job = { prefix: prefix.slice(), bits, opts, stop, started };
      const inline = bits <= inlineBits || typeof Worker === "undefined";
      const used = inline ? this.#inlineKernel(bits) : this.#fastest();
      const solution = inline ? await this.#solveInline(job, used.kernel) : await this.#solvePool(job);
      // One reference hash per solve: a kernel bug must never reach the server as a bad proof.
      if (!meetsDifficulty(job.prefix, encodeCounter(solution.counter), bits)) {
        throw new SolverError("invalid-solution", `Solver kernel ${used.name} returned counter ${solution.counter}, which does not meet ${bits} bits`);
      }
      return solution;
    };
    // One solve at a time: a second call waits for the first to settle.
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #solveInline(job: _Job, kernel: Kernel): Promise<Solution> {
    return solveInline(kernel, job);
  }

  async #solvePool({ prefix, bits, opts, stop, started }: _Job): Promise<Solution> {
    await _unlessAborted(this.#startWorkers(), stop);
    const mem = this.#memory!;
    const job = this.#job = (this.#job % 0x7fff_fffe) + 1;
    Atomics.store(mem.control, CONTROL_ACTIVE_JOB, job);
    this.#workers.forEach((worker, i) => {
      worker.ref?.();
      const message: ToWorker = { type: "solve", job, prefix, bits, hiStart: i, hiStep: this.threads };
      worker.postMessage(message);
    });

    let timer: ReturnType<typeof setInterval> | undefined;
    let onStop: (() => void) | undefined;
    try {
      return await new Promise<Solution>((resolve, reject) => {
        this.#pending = { job, started, resolve, reject };
        onStop = () => reject(stop.reason);
        stop.addEventListener("abort", onStop, { once: true });
        if (opts.onProgress) {
          const report = opts.onProgress;
          timer = setInterval(() => report(this.#attempts(job), performance.now() - started), opts.progressIntervalMs ?? _PROGRESS_MS);
        }
      });
    } finally {
      // Whatever ended the job (a solution, an abort, close()), the workers stop within a chunk.
      this.#pending = undefined;
      Atomics.compareExchange(mem.control, CONTROL_ACTIVE_JOB, job, 0);
      stop.removeEventListener("abort", onStop!);
      if (timer !== undefined) clearInterval(timer);
      for (const worker of this.#workers) worker.unref?.();
    }
  }

  /** Attempts the workers have published for `job`. */
  #attempts(job: number): number {
    const mem = this.#memory!;
    let total = 0;
    for (let i = 0; i < this.#workers.length; i++) {
      if (Atomics.load(mem.tags, i) === job) total += Number(Atomics.load(mem.attempts, i));
    }
    return total;
  }

  #onMessage(message: FromWorker): void {
    const pending = this.#pending;
    if (!pending || !("job" in message) || message.job !== pending.job) return;
    if (message.type === "found") {
      Atomics.compareExchange(this.#memory!.control, CONTROL_ACTIVE_JOB, pending.job, 0);
      // The finder published its final count before posting; the others' are read as they stand.
      pending.resolve({ counter: message.counter, attempts: this.#attempts(pending.job), elapsedMs: performance.now() - pending.started });
    } else if (message.type === "failed") {
      pending.reject(new SolverError("worker-failed", `Solver worker failed: ${message.message}`));
    }
  }

  #startWorkers(): Promise<void> {
    this.#starting ??= this.#spawn().catch((error) => {
      this.#terminate();
      this.#starting = undefined;
      throw error;
    });
    return this.#starting;
  }

  async #spawn(): Promise<void> {
    const memory = poolMemory(this.threads);
    this.#memory = memory;
    const init = (index: number): ToWorker => ({ type: "init", index, workers: this.threads, memory: memory.buffer, kernel: this.kernel as KernelChoice });
    const candidates = _workerUrls();
    for (let c = 0; c < candidates.length; c++) {
      const workers: _RefWorker[] = Array.from({ length: this.threads }, () => new Worker(candidates[c]!, { type: "module" }));
      this.#workers = workers;
      try {
        await Promise.all(workers.map((worker, index) => _handshake(worker, init(index))));
      } catch (error) {
        this.#terminate();
        if (c === candidates.length - 1) throw error;
        continue;
      }
      this.#lifetime.signal.throwIfAborted();
      for (const worker of workers) {
        worker.onmessage = (event: MessageEvent<FromWorker>) => this.#onMessage(event.data);
        worker.onerror = (event: ErrorEvent) => {
          event.preventDefault();
          // A pool short of a worker would leave part of the counter space unsearched: start anew.
          this.#terminate();
          this.#starting = undefined;
          this.#pending?.reject(new SolverError("worker-failed", `Solver worker crashed: ${event.message}`));
        };
        worker.unref?.();
      }
      return;
    }
  }

  #terminate(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
  }

  close(): Promise<void> {
    if (!this.#lifetime.signal.aborted) this.#lifetime.abort(new SolverError("closed", "Cannot solve: the solver was closed"));
    if (this.#memory) Atomics.store(this.#memory.control, CONTROL_ACTIVE_JOB, 0);
    this.#terminate();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

type _Job = InlineJob;

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function _unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.throwIfAborted();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Where worker.ts may be: next to this file, or inside a `bun build --compile` binary. */
function _workerUrls(): string[] {
  const near = ["./src/shared/pow/solver/worker.ts", "./shared/pow/solver/worker.ts"].map((path) => new URL(path, import.meta.url).href);
  // With --bytecode, import.meta.url in the binary is the source file's path at build time, so the URLs
  // above name files on the build machine's disk; a specifier relative to the binary's root names the
  // bundled worker (tried by hand with the source's worker.ts moved away).
  const bundled = ["./src/shared/pow/solver/worker.ts", "./shared/pow/solver/worker.ts"];
  if (import.meta.url.endsWith("/solver.ts")) return [new URL("./worker.ts", import.meta.url).href, ...bundled];
  return [...near, ...bundled];
}

/** Posts "init" once the worker said "hello", resolves on "ready". */
function _handshake(worker: Worker, init: ToWorker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new SolverError("worker-failed", `Cannot start solver worker: ${event.message}`));
    };
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      if (event.data.type === "hello") worker.postMessage(init);
      else if (event.data.type === "ready") resolve();
    };
  });
}
