/**
 * What the gate is built from. server.ts (the composition root) hands in each part, so every part can be
 * replaced in tests and by later features (adaptive difficulty, Redis store, metrics).
 * @module
 */
import type { ErrorCode } from "../protocol/errors.ts";
import type { Conn } from "../transport/types.ts";

/** Chooses the difficulty of the next challenge for a client. */
export interface DifficultyPolicy {
  bitsFor(addr: string, nowMs: number): number;
  /**
   * A client in reconnect mode redeemed an earlier challenge on a new connection, which was handed a
   * challenge of its own on open: that second one was never a request, so it stops counting.
   */
  refund?(addr: string, nowMs: number): void;
}

/** A fixed difficulty (the foundation's policy; the adaptive controller implements the same interface). */
export class FixedDifficulty implements DifficultyPolicy {
  constructor(public bits: number) {}
  bitsFor(): number {
    return this.bits;
  }
}

/** Why a connection ended. */
export type CloseReason =
  | "served" // a quote was sent
  | "forwarded" // the guard relayed the connection to its upstream (it ended either way afterwards)
  | "upstream" // the guard could not reach its upstream (UPSTREAM_UNAVAILABLE)
  | "rejected" // a proof or frame was refused with an Error frame
  | "timeout" // a deadline passed
  | "peer" // the client closed first
  | "shutdown" // drained at shutdown
  | "refused"; // not admitted (caps, limits)

/** Events the gate reports; metrics and logs subscribe. Every method is optional to implement. */
export interface GateObserver {
  connOpened?(addr: string): void;
  connClosed?(reason: CloseReason, lifetimeMs: number): void;
  challengeIssued?(bits: number): void;
  proofAccepted?(bits: number, verifyMs: number, solveMs: number): void;
  proofRejected?(code: ErrorCode): void;
  quoteServed?(source: string): void;
  frameRejected?(code: ErrorCode): void;
  /** A connection or request refused by admission (caps, rate limits). */
  /** A connection or request was refused by a cap or limit; `addr` is the client's (PROXY-supplied) address. */
  connRefused?(reason: string, addr?: string): void;
  /** The difficulty in force changed (adaptive controller). */
  difficultyChanged?(bits: number, from: number, pressure: number, driver: string): void;
}

export interface GateTimeouts {
  /** Time from accept to the first byte from the client; also the window to answer on the same connection. */
  readonly firstByteMs: number;
  /** Time to receive a whole frame once its first byte has arrived. */
  readonly frameMs: number;
  /** Whole life of a connection, from accept to the quote. */
  readonly handshakeMs: number;
}

export interface GateSettings {
  readonly timeouts: GateTimeouts;
  /** Challenge lifetime. */
  readonly ttlMs: number;
  /** Accepted clock skew for issue times in the future. */
  readonly skewMs: number;
  /** Longest lifetime any key ever signed (verification refuses longer ones). */
  readonly maxTtlMs: number;
  readonly maxPayload: number;
}

/** What a valid proof opened on a connection, instead of a quote: the guard's relay to its upstream. */
export interface Passage {
  /** Bytes from the client (valid only during the call). */
  data(chunk: Uint8Array): void;
  /** The client sent its FIN. */
  end(): void;
  /** The client connection closed, whoever closed it. */
  close(): void;
  /** Called by the connections' sweep: the passage's own deadlines (queue, connect, idle). */
  sweep(nowMs: number): void;
  /** Why the connection ended, read when it closes. */
  readonly reason: CloseReason;
}

export interface PassageGrant {
  /** The client's address (PROXY-supplied when a trusted proxy sent one) and port. */
  readonly addr: string;
  readonly port: number;
  /** Leading zero bits of the client's proof. */
  readonly work: number;
  /** Stream bytes the client sent after its Solution, before the answer (the connection is paused meanwhile). */
  readonly held: readonly Uint8Array[];
  /** The client already sent its FIN. */
  readonly peerEnded: boolean;
}

/** Opens a passage for a connection whose proof was accepted; `conn` is paused, to be resumed by the passage. */
export interface Passages {
  open(conn: Conn, grant: PassageGrant): Passage;
}
