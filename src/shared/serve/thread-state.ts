/**
 * The state gate threads (serve --threads) share, in SharedArrayBuffers: the spent set (store: memory),
 * the pressure board, and the admission tables. The main thread creates it; every gate thread attaches
 * to the same buffers, so a proof redeemed on one thread is refused on all, and the caps count every
 * thread's connections.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import type { SharedDefenceState } from "../defence/from-config.ts";
import { type SharedAdmissionBuffers, SharedAdmissionState } from "../store/shared-admission.ts";
import { ConnLedger } from "../store/shared-ledger.ts";
import { SharedPressureBoard } from "../store/shared-pressure.ts";
import { SharedSpentSet } from "../store/shared-spent.ts";
import type { PressureBoard, SpentStore } from "../store/types.ts";
import type { SharedBuffers } from "./thread-messages.ts";

export interface ThreadState {
  /** The shared spent set, or null when the store is Redis (each thread opens its own connection). */
  readonly store: SpentStore | null;
  readonly board: PressureBoard;
  /** Connection caps, outstanding challenges, token buckets, escalation (null with the defence off). */
  readonly admission: (SharedDefenceState & { readonly owners: number[]; releaseHeldBy(owners: readonly number[]): number }) | null;
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
  // Sized from the configured max_connections (each thread fits its own caps to the open-file limit, never above it).
  const admission = c.defence === "on" ? SharedAdmissionState.forConfig(c) : null;
  // One ledger per worker thread: what it counted in the shared connection table, closed for it if it dies.
  const ledgers = admission ? Array.from({ length: threads - 1 }, () => ConnLedger.buffer(c.max_connections)) : [];
  return { store: spent, board, admission, buffers: { spent: spent?.buffer ?? null, board: board.buffer, admission: admission?.buffers() ?? null, ledgers } };
}

/**
 * After gate thread `index` (1..) died: free the stripe locks it held (`owners`, its ids in the tables)
 * and close, in the shared connection table, the connections its ledger still counts. Returns how many.
 */
export function releaseDeadThread(state: ThreadState, index: number, owners: readonly number[]): number {
  if (!state.admission) return 0;
  if (owners.length > 0) state.admission.releaseHeldBy(owners);
  const ledger = state.buffers.ledgers[index - 1];
  return ledger ? ConnLedger.replay(ledger, state.admission.conns as SharedAdmissionState["conns"]) : 0;
}

/** A gate thread's view of the shared state. */
export function attachThreadState(b: SharedBuffers, index: number, c: ServeConfig): ThreadState {
  const a = b.admission ? SharedAdmissionState.attachForConfig(b.admission as SharedAdmissionBuffers, c) : null;
  const ledger = a && index > 0 ? b.ledgers[index - 1] : undefined;
  // A worker counts its connections through its ledger; the main thread needs none (if it dies, so does the process).
  const admission = a && ledger
    ? Object.assign(Object.create(a) as SharedAdmissionState, { conns: new ConnLedger(ledger, a.conns) })
    : a;
  return { store: b.spent ? SharedSpentSet.attach(b.spent) : null, board: SharedPressureBoard.attach(b.board, index), admission, buffers: b };
}
