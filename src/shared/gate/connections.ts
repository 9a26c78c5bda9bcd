/**
 * Connection handling for the gate: one small state machine per TCP connection, deadlines against
 * slowloris (first byte, per frame, whole handshake) checked by one sweep over open connections,
 * and a drain for graceful shutdown. Implements the transport's ConnHandler, so it runs on any adapter.
 * @module
 */
import { ProtocolError, type ErrorCode } from "../protocol/errors.ts";
import { FrameDecoder, MessageType } from "../protocol/frame.ts";
import { decodeMessage, encodeChallenge, encodeError, type Solution } from "../protocol/messages.ts";
import type { Conn, ConnHandler } from "../transport/types.ts";
import type { Admission, Refusal } from "../defence/admission.ts";
import type { AdaptiveWindows } from "../defence/windows.ts";
import { networkKey } from "../defence/client-key.ts";
import type { CidrList } from "../net/cidr.ts";
import { ProxyHeaderDecoder, ProxyHeaderError } from "../net/proxy-protocol.ts";
import type { Gate, Proof, Redemption } from "./gate.ts";
import type { CloseReason, Passages } from "./types.ts";
import { answeredTooLong, overdue } from "./deadlines.ts";
import { Phase, type Session } from "./session.ts";

export type { Session } from "./session.ts";

/** Most stream bytes a guard holds from a client between its Solution and the answer (it pauses reading meanwhile). */
const MAX_HELD_BYTES = 1 << 20;

/** Error frames with no retry hint or a whole-second one, by message: most connections an attack opens end with one of a few. */
const _errorFrames = [new Map<string, { code: ErrorCode; frame: Uint8Array }>(), new Map<string, { code: ErrorCode; frame: Uint8Array }>()];

/**
 * encodeError, shared for the frames that repeat: a deadline's or a cap's (sent frames are never written
 * to, so one frame can go to many connections). Others (a limiter's retry hint in ms) are encoded each time.
 */
function errorFrame(code: ErrorCode, message: string, retryAfterMs?: number): Uint8Array {
  const table = retryAfterMs === undefined ? _errorFrames[0]! : retryAfterMs === 1000 ? _errorFrames[1]! : null;
  if (!table) return encodeError(code, message, retryAfterMs);
  const hit = table.get(message);
  if (hit !== undefined && hit.code === code) return hit.frame;
  const frame = encodeError(code, message, retryAfterMs);
  if (table.size >= 256) table.clear();
  table.set(message, { code, frame });
  return frame;
}

export class GateConnections implements ConnHandler<Session> {
  private readonly _open = new Set<Session>();
  private _sweeper: ReturnType<typeof setInterval> | null = null;
  private _draining = false;
  private _drained: (() => void) | null = null;

  /**
   * `admission` null: no caps or limits (the defence switched off). `proxyTrusted` non-null: PROXY protocol
   * is on, and connections from these networks must start with a PROXY v1/v2 header.
   */
  constructor(
    private readonly _gate: Gate,
    public admission: Admission | null = null,
    public proxyTrusted: CidrList | null = null,
    private readonly _sweepMs = 100,
    /** Shrinks the first-byte and frame windows under connection pressure (null: the configured ones). */
    public windows: AdaptiveWindows | null = null,
    /** Set by the guard: a valid proof opens a passage to the upstream instead of earning a quote. */
    private readonly _passages: Passages | null = null,
  ) {}

  get openCount(): number {
    return this._open.size;
  }

  get draining(): boolean {
    return this._draining;
  }

  /** Start the deadline sweep (idempotent). */
  start(): void {
    if (this._sweeper) return;
    this._sweeper = setInterval(() => this.sweep(this._gate.mono()), this._sweepMs);
    (this._sweeper as { unref?: () => void }).unref?.();
  }

  open(conn: Conn): Session {
    const now = this._gate.mono();
    const t = this._gate.settings.timeouts;
    const w = this.windows;
    const s: Session = {
      conn, openedAt: now, challengedAt: now, addr: conn.remoteAddress, net: "", proxy: null, decoder: null, phase: Phase.Waiting,
      gotByte: false, frameStartedAt: 0, reason: "peer", admittedBy: null, issuedMac: "", early: null, peerEnded: false,
      firstByteMs: w ? w.apply(t.firstByteMs) : t.firstByteMs, frameMs: w ? w.apply(t.frameMs) : t.frameMs, passage: null,
    };
    this._open.add(s);
    this._gate.observer.connOpened?.(s.addr);
    if (this._draining) {
      this._fail(s, "SHUTTING_DOWN", "Server is shutting down", "shutdown", 1000);
      return s;
    }
    if (this.proxyTrusted?.has(conn.remoteAddress)) {
      s.proxy = new ProxyHeaderDecoder(); // the challenge waits for the real client address
      return s;
    }
    return this._admit(s);
  }

  /** Admission checks, then the challenge, for the client at `s.addr`. */
  private _admit(s: Session): Session {
    const adm = this.admission;
    if (!adm) return this._challenge(s);
    const net = (s.net = networkKey(s.addr));
    const r = adm.onOpen(s.addr, net);
    if (r) return this._refuse(s, r);
    s.admittedBy = adm;
    const rc = adm.allowChallenge(s.addr, this._gate.now(), net);
    if (rc instanceof Promise) {
      // A shared limiter answers later; the connection's deadlines keep running meanwhile.
      s.phase = Phase.Admitting;
      void rc.then(
        (x) => {
          if (s.phase !== Phase.Admitting) return; // closed meanwhile
          s.phase = Phase.Waiting;
          if (x) return void this._refuse(s, x);
          this._challenge(s);
          // A client may send its Solution before reading the challenge (reconnect mode): keep those bytes.
          const early = s.early;
          s.early = null;
          // (a guard's Solution moves the connection to Verifying: the bytes after it are held for the stream)
          for (const chunk of early ?? []) if (s.phase === Phase.Waiting || (this._passages && s.phase === Phase.Verifying)) this.data(s, chunk);
          if (s.peerEnded && s.phase === Phase.Waiting) this._peerStopped(s);
        },
        () => {
          if (s.phase === Phase.Admitting) this._fail(s, "BUSY", "Rate limiter unavailable", "refused", 1000);
        },
      );
      return s;
    }
    return rc ? this._refuse(s, rc) : this._challenge(s);
  }

  private _challenge(s: Session): Session {
    const t = this._gate.settings.timeouts;
    const ch = this._gate.issue(s.addr, Math.min(s.firstByteMs, t.handshakeMs));
    s.issuedMac = ch.mac;
    s.challengedAt = this._gate.mono();
    s.conn.write(encodeChallenge(ch));
    return s;
  }

  data(s: Session, chunk: Uint8Array): void {
    if (s.phase === Phase.Passing) return void s.passage?.data(chunk);
    if (s.phase === Phase.Verifying && this._passages) return this._hold(s, chunk);
    if (s.phase === Phase.Admitting) {
      // Bounded: at most one maximal frame is kept; more is a protocol violation handled after admission.
      const held = (s.early ??= []);
      const n = held.reduce((a, c) => a + c.length, 0);
      if (this._passages) {
        // A guard client's bytes after its Solution are its stream (reconnect mode): keep them, bounded
        // as after the Solution (_hold); never drop some and forward the rest.
        if (n + chunk.length > MAX_HELD_BYTES) return void s.conn.destroy();
        held.push(chunk.slice());
      } else if (n <= this._gate.settings.maxPayload + 4) held.push(chunk.slice());
      if (!s.gotByte) s.gotByte = true;
      return;
    }
    if (s.phase !== Phase.Waiting) return; // one solution per connection; the rest is ignored
    if (s.proxy) {
      let r;
      try {
        r = s.proxy.push(chunk);
      } catch (err) {
        this._gate.observer.frameRejected?.("BAD_FRAME");
        const msg = err instanceof ProxyHeaderError ? err.message : "Bad PROXY protocol header";
        this._fail(s, "BAD_FRAME", msg, "rejected");
        return;
      }
      if (!r) {
        if (s.frameStartedAt === 0) s.frameStartedAt = this._gate.mono();
        return;
      }
      s.proxy = null;
      if (r.kind === "proxy") s.addr = r.source.address;
      s.frameStartedAt = 0;
      s.challengedAt = this._gate.mono();
      this._admit(s);
      if (r.rest.length === 0) return;
      if ((s.phase as Phase) === Phase.Admitting) return void this.data(s, r.rest); // held until admitted
      if (s.phase !== Phase.Waiting) return;
      chunk = r.rest;
    }
    s.gotByte = true;
    s.decoder ??= new FrameDecoder(this._gate.settings.maxPayload);
    let frames;
    try {
      frames = s.decoder.push(chunk, 1); // one Solution per connection: what follows it is ignored, however TCP splits it
    } catch (err) {
      const code: ErrorCode = err instanceof ProtocolError ? err.code : "BAD_FRAME";
      this._gate.observer.frameRejected?.(code);
      this._fail(s, code, (err as Error).message, "rejected");
      return;
    }
    if (frames.length === 0) {
      if (s.decoder.buffered > 0 && s.frameStartedAt === 0) s.frameStartedAt = this._gate.mono();
      return;
    }
    const frame = frames[0]!;
    // A guard's client may send stream bytes right behind its Solution: they wait for the answer.
    const after = this._passages && s.decoder.consumed < chunk.length ? chunk.subarray(s.decoder.consumed) : null;
    if (frame.type !== MessageType.Solution) {
      this._gate.observer.frameRejected?.("UNEXPECTED_MESSAGE");
      this._fail(s, "UNEXPECTED_MESSAGE", `Expected a Solution frame, got type ${frame.type}`, "rejected");
      return;
    }
    let msg;
    try {
      msg = decodeMessage(frame);
    } catch (err) {
      this._gate.observer.frameRejected?.("BAD_FRAME");
      this._fail(s, "BAD_FRAME", (err as Error).message, "rejected");
      return;
    }
    if (msg.type !== MessageType.Solution) return; // narrowed above; keeps the type checker honest
    const addr = s.addr;
    const adm = this.admission;
    s.phase = Phase.Verifying;
    s.decoder = null;
    const solution = msg.body;
    if (this._passages) {
      s.conn.pause(); // nothing more is read until the passage opens (or the proof is refused)
      s.early = null;
      if (after) this._hold(s, after);
      return this._verify(s, solution, addr, (r: Proof) => {
        if (r.ok && adm) adm.settle(addr, solution.challenge.mac === s.issuedMac ? 1 : 2);
        if (r.ok && solution.challenge.mac !== s.issuedMac) this._gate.policy.refund?.(addr, this._gate.now());
        if (s.phase !== Phase.Verifying) return;
        if (!r.ok) return this._finish(s, r.frame, "rejected");
        s.phase = Phase.Passing;
        const held = s.early ?? [];
        s.early = null;
        s.passage = this._passages!.open(s.conn, { addr, port: s.conn.remotePort, work: r.work, held, peerEnded: s.peerEnded });
      });
    }
    this._verify(s, solution, addr, (r: Redemption) => {
      // A redeemed challenge stops counting as outstanding; so does this connection's own one when the
      // client answered an earlier challenge (reconnect mode) instead.
      if (r.ok && adm) adm.settle(addr, solution.challenge.mac === s.issuedMac ? 1 : 2);
      if (r.ok && solution.challenge.mac !== s.issuedMac) this._gate.policy.refund?.(addr, this._gate.now());
      if (s.phase !== Phase.Verifying) return; // closed (deadline or peer) meanwhile
      this._finish(s, r.frame, r.ok ? "served" : "rejected");
    });
  }

  /** The solution rate limit, then the gate's answer (a quote, or for a guard a proof) handed to `answer`. */
  private _verify<R extends Redemption | Proof>(s: Session, solution: Solution, addr: string, answer: (r: R) => void): void {
    const adm = this.admission;
    const redeem = () => {
      const r = (this._passages ? this._gate.prove(solution, addr) : this._gate.redeem(solution, addr)) as R | Promise<R>;
      if (r instanceof Promise) void r.then(answer, () => answer({ ok: false, code: "INTERNAL", frame: encodeError("INTERNAL", "Could not answer the solution") } as R));
      else answer(r);
    };
    const allowed = adm ? adm.allowSolution(addr, this._gate.now()) : null;
    if (allowed instanceof Promise) {
      void allowed.then(
        (x) => {
          if (!x) return void redeem();
          if (s.phase === Phase.Verifying) this._refuse(s, x);
        },
        () => {
          if (s.phase === Phase.Verifying) this._fail(s, "BUSY", "Rate limiter unavailable", "refused", 1000);
        },
      );
    } else if (allowed) {
      this._refuse(s, allowed);
    } else {
      redeem();
    }
  }

  /** Stream bytes that came with or after a guard client's Solution, kept for its passage. */
  private _hold(s: Session, chunk: Uint8Array): void {
    const held = (s.early ??= []);
    if (held.reduce((n, c) => n + c.length, 0) + chunk.length > MAX_HELD_BYTES) {
      // Reading is paused, so only a client that ignores that (or a runtime's read in flight) gets here.
      s.conn.destroy();
      return;
    }
    held.push(chunk.slice());
  }

  /**
   * The client finished sending (a FIN: a half-close or a plain close, TCP does not tell them apart).
   * An answer still being worked out (a shared limiter or store, a remote quote source) is written when
   * ready, then the connection ends. Otherwise no Solution can come any more, so the connection ends
   * now rather than at a deadline: quietly (reason "peer") when nothing of a frame arrived, as in the
   * reconnect flow (read the challenge, close, solve elsewhere) or a probe; with BAD_FRAME when the
   * client stopped in the middle of a frame or a PROXY header.
   */
  end(s: Session): void {
    s.peerEnded = true;
    if (s.phase === Phase.Passing) s.passage?.end();
    else if (s.phase === Phase.Waiting) this._peerStopped(s);
  }

  private _peerStopped(s: Session): void {
    const partial = s.proxy ? s.frameStartedAt !== 0 : (s.decoder?.buffered ?? 0) > 0;
    if (!partial) {
      s.phase = Phase.Done;
      s.reason = "peer";
      s.decoder = null;
      s.conn.end();
      return;
    }
    const why = s.proxy ? "in the middle of its PROXY protocol header" : "in the middle of a Solution frame";
    this._gate.observer.frameRejected?.("BAD_FRAME");
    this._fail(s, "BAD_FRAME", `Client stopped sending ${why}`, "rejected");
  }

  close(s: Session): void {
    if (!this._open.delete(s)) return;
    if (s.passage) {
      s.passage.close();
      if (s.reason !== "shutdown") s.reason = s.passage.reason;
    }
    s.phase = Phase.Done;
    s.admittedBy?.onClose(s.addr, s.net);
    this._gate.observer.connClosed?.(s.reason, this._gate.mono() - s.openedAt);
    if (this._draining && this._open.size === 0) this._drained?.();
  }

  /** Close every connection whose deadline has passed. Called by the sweep timer; public for tests. */
  sweep(now: number): void {
    const t = this._gate.settings.timeouts;
    for (const s of this._open) {
      if (s.phase === Phase.Passing) {
        s.passage?.sweep(now); // the handshake's deadlines are over; the passage keeps its own
        continue;
      }
      const age = now - s.openedAt;
      if (s.phase === Phase.Done) {
        // Answered, but the peer does not read what is queued: do not let it hold the slot.
        if (answeredTooLong(age, t)) s.conn.destroy();
        continue;
      }
      const late = overdue(s, now, t.handshakeMs);
      if (late) this._fail(s, "TIMEOUT", late, "timeout");
    }
  }

  /**
   * Graceful shutdown: refuse new connections with SHUTTING_DOWN, let open ones finish until `deadlineMs`
   * has passed, then close the rest. Resolves with how many were closed by force.
   */
  async drain(deadlineMs: number): Promise<number> {
    this._draining = true;
    if (this._open.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        this._drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    let forced = 0;
    for (const s of [...this._open]) {
      forced++;
      s.reason = "shutdown";
      s.conn.destroy();
      this.close(s); // adapters call close too; the second call is a no-op
    }
    if (this._sweeper) clearInterval(this._sweeper);
    this._sweeper = null;
    return forced;
  }

  private _refuse(s: Session, r: Refusal): Session {
    this._gate.observer.connRefused?.(r.reason, s.addr);
    this._fail(s, r.code, r.message, "refused", r.retryAfterMs);
    return s;
  }

  private _fail(s: Session, code: ErrorCode, message: string, reason: CloseReason, retryAfterMs?: number): void {
    this._finish(s, errorFrame(code, message, retryAfterMs), reason);
  }

  private _finish(s: Session, frame: Uint8Array, reason: CloseReason): void {
    if (s.phase === Phase.Done) return;
    s.phase = Phase.Done;
    s.reason = reason;
    s.decoder = null;
    s.conn.write(frame);
    s.conn.end();
  }
}
