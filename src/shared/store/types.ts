/**
 * The spent-proof store: the only state the gate keeps about challenges, and only after a proof verified.
 * Implementations: memory.ts (default, one process); a shared store (Redis) implements the same interface.
 * @module
 */
import type { PressureSample } from "../defence/controller.ts";

/** Thrown when a store cannot take the entry (full, or its backend is down); the gate answers BUSY. */
export class StoreUnavailableError extends Error {
  readonly code = "STORE_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/**
 * Thrown by a shared store for a proof whose challenge was issued before its fence: the store's server
 * changed (failover, restart without the data) and spent marks of older challenges may have been lost
 * with the old one, so such a proof cannot be told apart from a replay. The gate answers EXPIRED: an
 * honest client asks for a fresh challenge.
 */
export class ChallengeFencedError extends Error {
  readonly code = "FENCED";
  constructor(readonly fenceMs: number, message = `Challenge was issued before the shared store's last change of server (${new Date(fenceMs).toISOString()}); ask for a fresh one`) {
    super(message);
    this.name = "ChallengeFencedError";
  }
}

export interface SpentStore {
  readonly name: string;
  /**
   * Atomically mark `key` spent until `expiresAtMs`. Returns true when it was not spent before
   * (the proof is accepted), false for a replay. Throws StoreUnavailableError when it cannot decide,
   * ChallengeFencedError when the challenge (issued at `issuedAtMs`) predates the store's fence.
   */
  markSpent(key: string, expiresAtMs: number, nowMs: number, issuedAtMs: number): boolean | Promise<boolean>;
  /**
   * This process issued a challenge at `iatMs` (its own clock). A store fenced at its start (memory.ts)
   * lowers the fence to it, so a wall clock stepped back never refuses this process's own challenges.
   */
  issued?(iatMs: number): void;
  /** Entries currently held (for metrics). */
  size(): number;
  /** False while the backend cannot answer (readiness, metrics). */
  healthy(): boolean;
  /**
   * True when the store can serve proofs now: healthy(), or degraded by design (a shared store
   * configured fail-open answers from memory while its backend is down). Absent means healthy().
   */
  ready?(): boolean;
  close(): Promise<void>;
}

/** What the instances sharing a PressureBoard see together. */
export interface PressureReport {
  /** Sums of the live instances' counts and rates; the highest loopDelayMs and sourceSaturation. */
  readonly aggregate: PressureSample;
  /** The highest difficulty (bits) any live instance reports. */
  readonly maxBits: number;
  /** Live instances counted, this one included (1 when the board is unreachable). */
  readonly instances: number;
}

/**
 * Where instances behind one load balancer share their pressure, so one controller's view covers the
 * whole fleet. Implementations: store/redis-pressure.ts; a lone instance needs none.
 */
export interface PressureBoard {
  /**
   * Publish this instance's latest sample (kept for `ttlMs`, so a dead instance drops out) and read
   * everyone's. Never rejects: when the board is unreachable it answers with `sample` alone.
   */
  exchange(instanceId: string, sample: PressureSample & { readonly bits: number }, ttlMs: number): Promise<PressureReport>;
}
