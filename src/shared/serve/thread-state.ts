/**
 * The state gate threads (serve --threads) share, in SharedArrayBuffers: the spent set (store: memory),
 * the pressure board, and the admission tables. The main thread creates it; every gate thread attaches
 * to the same buffers, so a proof redeemed on one thread is refused on all, and the caps count every
 * thread's connections.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import { SharedPressureBoard } from "../store/shared-pressure.ts";
import { SharedSpentSet } from "../store/shared-spent.ts";
import type { PressureBoard, SpentStore } from "../store/types.ts";
import type { SharedBuffers } from "./thread-messages.ts";

export interface ThreadState {
  /** The shared spent set, or null when the store is Redis (each thread opens its own connection). */
  readonly store: SpentStore | null;
  readonly board: PressureBoard;
  readonly buffers: SharedBuffers;
}

/** The longest a spent mark can need to last: a challenge's lifetime plus the skew allowed (see gate-settings.ts). */
export function spentHorizonMs(c: ServeConfig): number {
  return c.challenge_ttl_ms + c.clock_skew_ms;
}

/** Built once, by the main thread, before any gate thread starts. */
export function createThreadState(c: ServeConfig, threads: number, nowMs = Date.now()): ThreadState {
  // Restart-safe as the memory store is: proofs of challenges issued before this start are refused.
  const spent = c.store === "memory" ? SharedSpentSet.create({ maxEntries: c.spent_max_entries, maxTtlMs: spentHorizonMs(c), fenceMs: nowMs, nowMs }) : null;
  const board = SharedPressureBoard.create(threads);
  return { store: spent, board, buffers: { spent: spent?.buffer ?? null, board: board.buffer, admission: null } };
}

/** A gate thread's view of the shared state. */
export function attachThreadState(b: SharedBuffers, index: number): ThreadState {
  return { store: b.spent ? SharedSpentSet.attach(b.spent) : null, board: SharedPressureBoard.attach(b.board, index), buffers: b };
}
