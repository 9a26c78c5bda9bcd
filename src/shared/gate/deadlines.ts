/**
 * The gate's deadlines against slowloris, as pure rules over a connection's timestamps: which deadline
 * (if any) a connection has passed at `now`. GateConnections.sweep applies them to every open
 * connection; tests call them with the times they choose.
 * @module
 */
import { Phase } from "./session.ts";

/** What the rules read of a session (timestamps in the gate's monotonic ms). */
export interface DeadlineView {
  readonly openedAt: number;
  readonly challengedAt: number;
  readonly gotByte: boolean;
  /** Non-null while a trusted proxy's PROXY header is awaited. */
  readonly proxy: unknown;
  readonly frameStartedAt: number;
  readonly phase: Phase;
  readonly firstByteMs: number;
  readonly frameMs: number;
}

/**
 * The message of the first deadline `s` has passed at `now`, or null. In order: the whole handshake,
 * the first byte (counted from the challenge), the PROXY header, a frame once its first byte arrived.
 */
export function overdue(s: DeadlineView, now: number, handshakeMs: number): string | null {
  const age = now - s.openedAt;
  if (age > handshakeMs) return `Handshake not finished within ${handshakeMs} ms`;
  if (!s.gotByte && !s.proxy && now - s.challengedAt > s.firstByteMs) return `No data within ${s.firstByteMs} ms`;
  if (s.proxy && s.frameStartedAt === 0 && age > s.frameMs) return `No PROXY protocol header within ${s.frameMs} ms`;
  if (s.phase === Phase.Waiting && s.frameStartedAt > 0 && now - s.frameStartedAt > s.frameMs) return `Frame not complete within ${s.frameMs} ms`;
  return null;
}

/** An answered connection whose peer has not let it close after this long is destroyed (it holds a slot). */
export function answeredTooLong(ageMs: number, t: { readonly handshakeMs: number; readonly frameMs: number }): boolean {
  return ageMs > t.handshakeMs + t.frameMs;
}
