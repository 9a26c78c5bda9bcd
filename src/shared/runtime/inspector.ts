/**
 * The runtime's own profilers, reached through node:inspector's Session (the Chrome DevTools Protocol's
 * Profiler and HeapProfiler domains), which Bun and Deno both implement:
 *
 * - CPU: `Profiler.start` / `Profiler.stop` return a sampled CPU profile on both runtimes.
 * - Heap: Deno has `HeapProfiler.startSampling` / `getSamplingProfile` (V8's sampling heap profiler:
 *   allocation stacks of sampled objects still alive). Bun's inspector has no HeapProfiler domain, so
 *   there the heap comes from `Bun.generateHeapSnapshot("v8")`: every live object, without stacks.
 *
 * Nothing here encodes pprof: observe/pprof.ts turns these shapes into profiles.
 * @module
 */
import { Session } from "node:inspector";

declare const Bun: { generateHeapSnapshot?: (format: "v8") => string } | undefined;

/** A frame as the DevTools protocol names it (Runtime.CallFrame); lineNumber and columnNumber count from 0. */
export interface CdpCallFrame {
  readonly functionName: string;
  readonly scriptId: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

/** Profiler.Profile: a call tree and the node each sample landed in. */
export interface CdpCpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CdpCallFrame; readonly hitCount?: number; readonly children?: readonly number[] }[];
  /** Microseconds. */
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  /** Microseconds between consecutive samples (the first from startTime). */
  readonly timeDeltas?: readonly number[];
}

/** HeapProfiler.SamplingHeapProfileNode: selfSize is V8's estimate of the bytes allocated there, still alive. */
export interface CdpHeapNode {
  readonly callFrame: CdpCallFrame;
  readonly selfSize: number;
  readonly id: number;
  readonly children: readonly CdpHeapNode[];
}

export interface CdpSamplingHeapProfile {
  readonly head: CdpHeapNode;
  readonly samples: readonly { readonly size: number; readonly nodeId: number; readonly ordinal: number }[];
}

/** What this runtime can give for the heap. */
export type HeapCapture =
  | { readonly kind: "sampling"; readonly profile: CdpSamplingHeapProfile; readonly intervalBytes: number }
  | { readonly kind: "snapshot"; readonly snapshot: string };

export class InspectorError extends Error {
  readonly code = "INSPECTOR_UNAVAILABLE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InspectorError";
  }
}

/** One inspector session for the process's profilers; close() ends it. */
export class RuntimeProfiler {
  #session: Session | null = null;
  #heapIntervalBytes = 0;
  #closed = new AbortController();

  #post<T>(method: string, params: object = {}): Promise<T> {
    if (this.#closed.signal.aborted) return Promise.reject(new InspectorError(`inspector ${method}: the profiler was closed`));
    if (!this.#session) {
      const s = new Session();
      s.connect();
      this.#session = s;
    }
    const session = this.#session;
    return new Promise<T>((resolve, reject) => {
      session.post(method, params, (err: Error | null, result?: unknown) => {
        if (err) reject(new InspectorError(`inspector ${method} failed: ${err.message}`, { cause: err }));
        else resolve(result as T);
      });
    });
  }

  /** Samples every `intervalUs` microseconds for `ms` milliseconds; close() ends it early with what was taken. */
  async cpuProfile(ms: number, intervalUs: number): Promise<CdpCpuProfile> {
    await this.#post("Profiler.enable");
    await this.#post("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.#post("Profiler.start");
    await new Promise<void>((resolve) => {
      const signal = this.#closed.signal;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
    try {
      const { profile } = await this.#post<{ profile: CdpCpuProfile }>("Profiler.stop");
      return profile;
    } finally {
      await this.#post("Profiler.disable").catch(() => undefined);
    }
  }

  /**
   * Starts the sampling heap profiler (one sample per `intervalBytes` allocated, on average), so that a
   * later heap() has allocation stacks. False where the runtime has no HeapProfiler (Bun).
   */
  async startHeapSampling(intervalBytes: number): Promise<boolean> {
    try {
      await this.#post("HeapProfiler.enable");
      await this.#post("HeapProfiler.startSampling", { samplingInterval: intervalBytes });
      this.#heapIntervalBytes = intervalBytes;
      return true;
    } catch {
      return false;
    }
  }

  /** The sampled live heap where sampling runs, else a V8-format heap snapshot (Bun), else an InspectorError. */
  async heap(): Promise<HeapCapture> {
    if (this.#heapIntervalBytes > 0) {
      const { profile } = await this.#post<{ profile: CdpSamplingHeapProfile }>("HeapProfiler.getSamplingProfile");
      return { kind: "sampling", profile, intervalBytes: this.#heapIntervalBytes };
    }
    if (typeof Bun !== "undefined" && typeof Bun.generateHeapSnapshot === "function") {
      return { kind: "snapshot", snapshot: Bun.generateHeapSnapshot("v8") };
    }
    throw new InspectorError("this runtime offers neither a sampling heap profiler nor a heap snapshot");
  }

  /** Ends the session; a CPU profile in progress ends early and its request fails. */
  close(): void {
    this.#closed.abort();
    const s = this.#session;
    this.#session = null;
    if (!s) return;
    if (this.#heapIntervalBytes > 0) s.post("HeapProfiler.stopSampling", {}, () => undefined);
    s.disconnect();
  }
}
