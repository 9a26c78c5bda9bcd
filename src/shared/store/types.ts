/**
 * The spent-proof store: the only state the gate keeps about challenges, and only after a proof verified.
 * Implementations: memory.ts (default, one process); a shared store (Redis) implements the same interface.
 * @module
 */

/** Thrown when a store cannot take the entry (full, or its backend is down); the gate answers BUSY. */
export class StoreUnavailableError extends Error {
  readonly code = "STORE_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

export interface SpentStore {
  readonly name: string;
  /**
   * Atomically mark `key` spent until `expiresAtMs`. Returns true when it was not spent before
   * (the proof is accepted), false for a replay. Throws StoreUnavailableError when it cannot decide.
   */
  markSpent(key: string, expiresAtMs: number, nowMs: number): boolean | Promise<boolean>;
  /** Entries currently held (for metrics). */
  size(): number;
  /** False while the backend cannot answer (readiness, metrics). */
  healthy(): boolean;
  close(): Promise<void>;
}
