/**
 * The state the gate keeps per TCP connection (GateConnections in connections.ts drives it).
 * @module
 */
import type { Admission } from "../defence/admission.ts";
import type { ProxyHeaderDecoder } from "../net/proxy-protocol.ts";
import type { FrameDecoder } from "../protocol/frame.ts";
import type { Conn } from "../transport/types.ts";
import type { CloseReason, Passage } from "./types.ts";

export const enum Phase {
  Admitting = 3, // waiting for a shared rate limiter's answer
  Waiting = 0, // challenge sent, waiting for a Solution
  Verifying = 1, // solution received, answer pending
  Done = 2, // answer written, closing
  Passing = 4, // proof accepted by a guard: the connection belongs to its passage (queue, upstream, relay)
}

export interface Session {
  readonly conn: Conn;
  readonly openedAt: number;
  /** When the challenge went out (the first-byte deadline counts from here). */
  challengedAt: number;
  /** The client's address: the peer's, or the one a trusted proxy's PROXY header carries. */
  addr: string;
  /** Set while waiting for a PROXY protocol header from a trusted proxy. */
  proxy: ProxyHeaderDecoder | null;
  decoder: FrameDecoder | null;
  phase: Phase;
  gotByte: boolean;
  frameStartedAt: number;
  reason: CloseReason;
  /** networkKey(addr), once admission has asked for it. */
  net: string;
  /** The admission that counted this connection (its close is uncounted there, even after a reload). */
  admittedBy: Admission | null;
  /** Tag of the challenge this connection was given ("" if none). */
  issuedMac: string;
  /** Bytes that arrived while a shared rate limiter was still deciding (replayed after the challenge). */
  early: Uint8Array[] | null;
  /** The client sent its FIN: it will send nothing more. */
  peerEnded: boolean;
  /** This connection's first-byte window (the Challenge's window_ms) and frame window, fixed when it opened or was challenged. */
  firstByteMs: number;
  frameMs: number;
  /** The guard's relay, once the proof was accepted (Phase.Passing). */
  passage: Passage | null;
}
