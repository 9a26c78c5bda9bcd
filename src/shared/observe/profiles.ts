/**
 * Profiles on demand, for /debug/pprof/ (observe/http.ts) and SIGUSR2 (server.ts): a gzipped pprof CPU
 * profile of N seconds, one at a time, and a gzipped pprof heap profile. The runtime's profilers are
 * handed in (runtime/inspector.ts), so this stays free of runtime globals.
 * @module
 */
import { gzipSync } from "node:zlib";
import type { CdpCpuProfile, HeapCapture } from "../runtime/inspector.ts";
import { cpuPprof, samplingHeapPprof, snapshotHeapPprof } from "./pprof.ts";

/** CPU profile length bounds, seconds: Go's default is 30; the upper bound keeps a request finite. */
export const PROFILE_SECONDS = { min: 1, max: 60, default: 30 } as const;
/** CPU sampling interval, microseconds (1 kHz: enough samples in a 1 s profile to see a hot path). */
export const CPU_INTERVAL_US = 1000;
/** Mean bytes between heap samples where the runtime samples allocations (Go's MemProfileRate is 512 KiB). */
export const HEAP_INTERVAL_BYTES = 512 * 1024;

/** What the runtime's profilers provide. */
export interface ProfilerPort {
  cpuProfile(ms: number, intervalUs: number): Promise<CdpCpuProfile>;
  heap(): Promise<HeapCapture>;
}

/** A CPU profile is already being taken: the caller gets 409 (HTTP) or a warning (signal). */
export class ProfileBusyError extends Error {
  readonly code = "PROFILE_BUSY";
  constructor() {
    super("a CPU profile is already being taken; try again when it is done");
    this.name = "ProfileBusyError";
  }
}

export interface HeapProfile {
  /** gzipped pprof. */
  readonly body: Uint8Array;
  /** "sampling": live sampled objects by allocation stack; "snapshot": every live object by kind and constructor. */
  readonly kind: HeapCapture["kind"];
}

export class Profiles {
  #cpuBusy = false;

  constructor(
    private readonly port: ProfilerPort,
    private readonly label: string,
    private readonly now: () => number = Date.now,
  ) {}

  get cpuBusy(): boolean {
    return this.#cpuBusy;
  }

  /** A gzipped pprof CPU profile of `seconds` (validated by the caller against PROFILE_SECONDS). */
  async cpu(seconds: number): Promise<Uint8Array> {
    if (!Number.isInteger(seconds) || seconds < PROFILE_SECONDS.min || seconds > PROFILE_SECONDS.max) {
      throw new RangeError(`Cannot profile for ${seconds} s: expected an integer from ${PROFILE_SECONDS.min} to ${PROFILE_SECONDS.max}`);
    }
    if (this.#cpuBusy) throw new ProfileBusyError();
    this.#cpuBusy = true;
    try {
      const startedAtMs = this.now();
      const p = await this.port.cpuProfile(seconds * 1000, CPU_INTERVAL_US);
      return gzipSync(cpuPprof(p, { intervalUs: CPU_INTERVAL_US, startedAtMs, comment: `${this.label}: CPU, ${seconds} s` }));
    } finally {
      this.#cpuBusy = false;
    }
  }

  /** A gzipped pprof heap profile; which kind depends on the runtime (runtime/inspector.ts). */
  async heap(): Promise<HeapProfile> {
    const h = await this.port.heap();
    const takenAtMs = this.now();
    const raw = h.kind === "sampling"
      ? samplingHeapPprof(h.profile, h.intervalBytes, { takenAtMs, comment: `${this.label}: heap, sampled live allocations (one per ${h.intervalBytes} bytes)` })
      : snapshotHeapPprof(h.snapshot, { takenAtMs, comment: `${this.label}: heap snapshot, live objects by kind and constructor` });
    return { body: gzipSync(raw), kind: h.kind };
  }
}
