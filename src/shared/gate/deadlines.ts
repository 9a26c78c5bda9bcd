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

/** The deadlines' messages by window: one string per (kind, window) instead of one per timed-out connection. */
const _HANDSHAKE = 0, _FIRST_BYTE = 1, _PROXY = 2, _FRAME = 3;
const _messages = [new Map<number, string>(), new Map<number, string>(), new Map<number, string>(), new Map<number, string>()];
const _texts = [(ms: number) => `Handshake not finished within ${ms} ms`, (ms: number) => `No data within ${ms} ms`,
  (ms: number) => `No PROXY protocol header within ${ms} ms`, (ms: number) => `Frame not complete within ${ms} ms`];

function _message(kind: number, ms: number): string {
  const m = _messages[kind]!;
  let text = m.get(ms);
  if (text === undefined) {
    if (m.size >= 1024) m.clear(); // windows are few (configured, or adapted in whole ms between two bounds)
    m.set(ms, (text = _texts[kind]!(ms)));
  }
  return text;
}

/**
 * The message of the first deadline `s` has passed at `now`, or null. In order: the whole handshake,
 * the first byte (counted from the challenge), the PROXY header, a frame once its first byte arrived.
 */
export function overdue(s: DeadlineView, now: number, handshakeMs: number): string | null {
  const age = now - s.openedAt;
  if (age > handshakeMs) return _message(_HANDSHAKE, handshakeMs);
  if (!s.gotByte && !s.proxy && now - s.challengedAt > s.firstByteMs) return _message(_FIRST_BYTE, s.firstByteMs);
  if (s.proxy && s.frameStartedAt === 0 && age > s.frameMs) return _message(_PROXY, s.frameMs);
  if (s.phase === Phase.Waiting && s.frameStartedAt > 0 && now - s.frameStartedAt > s.frameMs) return _message(_FRAME, s.frameMs);
  return null;
}

/** An answered connection whose peer has not let it close after this long is destroyed (it holds a slot). */
export function answeredTooLong(ageMs: number, t: { readonly handshakeMs: number; readonly frameMs: number }): boolean {
  return ageMs > t.handshakeMs + t.frameMs;
}
