/**
 * The solver as `wisdom fetch` starts it: puzzles of at most SMALL_BITS are solved on this thread by the
 * runtime's one-shot SHA-256 (Bun; kernel-hasher.ts) or the pure-JS kernel, and solver.ts (the fast
 * kernels: WebAssembly, OpenSSL through FFI, the worker pool) and @noble/hashes are loaded only for the
 * first larger puzzle; from then on every solve is solver.ts's. solver.ts does the same choice for small
 * puzzles, but loading it and its kernels is part of every fetch's start-up (bench/startup.ts).
 *
 * Each small solution is checked once before it is returned, as solver.ts checks every solution (there with
 * @noble/hashes), here by a SHA-256 other than the kernel's: the scalar JavaScript one of sha256-core.ts
 * after the runtime's native hash, WebCrypto's after the JavaScript kernel. (WebCrypto's first digest
 * costs a fresh Bun process about 4 ms of CPU, measured with compiled one-liners: too much for Bun's path.)
 * @module
 */
import { runtimeSha256 } from "../../runtime/runtime-sha256.ts";
import { COUNTER_BYTES, encodeCounter, leadingZeroBits } from "../hashcash-bytes.ts";
import { compress, digestBytes, FINAL_BLOCK_PAD, midstate } from "./sha256-core.ts";
import { defaultThreads, solveInline, SMALL_BITS } from "./inline.ts";
import { createHasherKernel } from "./kernel-hasher.ts";
import { createJsKernel } from "./kernel-js.ts";
import type { Solution, SolveOptions, Solver } from "./solver.ts";
import { type Kernel, type KernelName, SolverError } from "./types.ts";

export interface SmallFirstSolver {
  /** The kernel small puzzles use until solver.ts is loaded; then solver.ts's kernel. */
  readonly kernel: string;
  readonly threads: number;
  /** True once a puzzle above SMALL_BITS loaded solver.ts. */
  readonly loaded: boolean;
  solve(prefix: Uint8Array, bits: number, opts?: SolveOptions): Promise<Solution>;
  close(): Promise<void>;
}

/** As createSolver({ threads }) with kernel "auto", loading solver.ts at the first puzzle above SMALL_BITS. */
export async function createSmallFirstSolver(options: { threads?: number } = {}): Promise<SmallFirstSolver> {
  const threads = options.threads ?? (await defaultThreads());
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new RangeError(`Cannot create solver: threads ${threads} is not an integer in 1..256`);
  }
  return new _SmallFirst(threads);
}

class _SmallFirst implements SmallFirstSolver {
  readonly threads: number;
  readonly #lifetime = new AbortController();
  #small: { name: KernelName; kernel: Kernel } | undefined;
  #full: Promise<Solver> | undefined;
  #fullKernel: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(threads: number) {
    this.threads = threads;
  }

  get kernel(): string {
    return this.#fullKernel ?? this.#smallKernel().name;
  }

  get loaded(): boolean {
    return this.#full !== undefined;
  }

  #smallKernel(): { name: KernelName; kernel: Kernel } {
    if (!this.#small) {
      const hash = runtimeSha256();
      this.#small = hash ? { name: "runtime-sha256", kernel: createHasherKernel(hash) } : { name: "js", kernel: createJsKernel() };
    }
    return this.#small;
  }

  #load(): Promise<Solver> {
    this.#full ??= _importSolver().then(async ({ createSolver }) => {
      const solver = await createSolver({ threads: this.threads });
      if (this.#lifetime.signal.aborted) await solver.close();
      return solver;
    });
    return this.#full;
  }

  solve(prefix: Uint8Array, bits: number, opts: SolveOptions = {}): Promise<Solution> {
    if (prefix.length !== 64) return Promise.reject(new RangeError(`Cannot solve: prefix is ${prefix.length} bytes, expected 64`));
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) {
      return Promise.reject(new RangeError(`Cannot solve: difficulty ${bits} is not an integer in 0..32`));
    }
    if (this.#full || bits > SMALL_BITS) {
      return this.#load().then(async (solver) => {
        this.#fullKernel ??= solver.kernel;
        return await solver.solve(prefix, bits, opts);
      });
    }
    const run = async () => {
      const stop = opts.signal ? AbortSignal.any([this.#lifetime.signal, opts.signal]) : this.#lifetime.signal;
      stop.throwIfAborted();
      const used = this.#smallKernel();
      const job = { prefix: prefix.slice(), bits, opts, stop, started: performance.now() };
      const solution = await solveInline(used.kernel, job);
      // One reference hash per solve: a kernel bug must never reach the server as a bad proof.
      const digest = await _referenceDigest(used.name, job.prefix, encodeCounter(solution.counter));
      if (leadingZeroBits(digest) < bits) {
        throw new SolverError("invalid-solution", `Solver kernel ${used.name} returned counter ${solution.counter}, which does not meet ${bits} bits`);
      }
      return solution;
    };
    // One small solve at a time, as solver.ts.
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    if (!this.#lifetime.signal.aborted) this.#lifetime.abort(new SolverError("closed", "Cannot solve: the solver was closed"));
    if (this.#full) await (await this.#full).close();
  }
}

/**
 * solver.ts by a path held in a variable, which the bundler does not follow (as src/main.ts loads the
 * subcommands): bundled in, solver.ts and its kernels (the WebAssembly module's 85 kB of text among
 * them) would be part of the client's bundle that every `wisdom fetch` loads. In a compiled binary it is
 * an entrypoint of its own (scripts/build-binaries.ts), at its path under the entrypoints' common root.
 */
async function _importSolver(): Promise<typeof import("./solver.ts")> {
  const candidates = ["./solver.ts", "./shared/pow/solver/solver.ts", "./src/shared/pow/solver/solver.ts"];
  let first: unknown;
  for (const path of candidates) {
    try {
      return await import(path);
    } catch (err) {
      first ??= err;
      if (!String((err as Error)?.message).includes(`'${path}'`)) throw err;
    }
  }
  throw first;
}

/** SHA-256(prefix || counter) by an implementation other than the one kernel `name` searched with. */
async function _referenceDigest(name: KernelName, prefix: Uint8Array, counter: Uint8Array): Promise<Uint8Array> {
  if (name === "runtime-sha256") {
    const state = midstate(prefix);
    const w = new Int32Array(64);
    w[0] = (counter[0]! << 24) | (counter[1]! << 16) | (counter[2]! << 8) | counter[3]!;
    w[1] = (counter[4]! << 24) | (counter[5]! << 16) | (counter[6]! << 8) | counter[7]!;
    w.set(FINAL_BLOCK_PAD, 2);
    compress(state, w);
    return digestBytes(state);
  }
  const message = new Uint8Array(64 + COUNTER_BYTES);
  message.set(prefix);
  message.set(counter, 64);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", message));
}

/** For tests: the reference digest the check uses after kernel `name`. */
export const _referenceDigestForTest = _referenceDigest;
