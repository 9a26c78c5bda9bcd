/**
 * What `wisdom guard` gives a client for a valid proof (docs/PROTOCOL.md, "Extension: Open"): a slot
 * to the upstream (by effort while it is full), a connection to it (with a PROXY v2 header when asked),
 * the Open frame, then the relay. Failures answer with an Error frame: BUSY when the queue is full or the
 * wait too long, UPSTREAM_UNAVAILABLE when the service refuses, is unreachable or too slow to accept.
 * @module
 */
import { encodeError, encodeOpen } from "../protocol/messages.ts";
import type { CloseReason, Passage, PassageGrant, Passages } from "../gate/types.ts";
import type { Conn, ConnHandler, Transport } from "../transport/types.ts";
import { encodeProxyV2 } from "../net/proxy-protocol.ts";
import { Relay } from "./relay.ts";
import type { SlotRefusal, SlotTicket, UpstreamSlots } from "./upstream-slots.ts";

export type UpstreamFailure = "refused" | "timeout" | "error";

/** Events of the guard, for metrics and logs. Every method is optional. */
export interface GuardObserver {
  /** A client got its Open frame after waiting `queuedMs` for a slot. */
  streamOpened?(effort: number, queuedMs: number): void;
  /** A relayed stream ended; `idle`: closed by the idle timeout. */
  streamClosed?(bytesUp: number, bytesDown: number, lifetimeMs: number, idle: boolean): void;
  /** A client was refused a slot (queue full, or waited past the timeout). */
  queueRefused?(why: SlotRefusal): void;
  /** The upstream could not be reached. */
  upstreamFailed?(why: UpstreamFailure, detail: string): void;
}

export interface GuardSettings {
  readonly upstream: { readonly host: string; readonly port: number };
  readonly connectTimeoutMs: number;
  /** 0: no idle timeout. */
  readonly idleTimeoutMs: number;
  readonly proxyHeader: "off" | "v2";
  /** Where clients connect (the PROXY v2 header's destination). */
  readonly listen: { readonly host: string; readonly port: number };
}

export interface GuardDeps {
  readonly transport: Transport;
  readonly slots: UpstreamSlots;
  settings: GuardSettings;
  observer?: GuardObserver;
  readonly mono: () => number;
}

/** The upstream answered the connect with a reset (nothing listens there), as opposed to any other failure. */
function _refusedByPeer(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | null;
  return e?.cause?.code === "ECONNREFUSED" || e?.code === "ECONNREFUSED" || /refused/i.test(String(e?.message ?? ""));
}

/** Most client bytes a passage holds before its stream opens. */
const MAX_HELD_BYTES = 1 << 20;

/** Retry hint for clients refused a slot or an upstream, ms. */
const RETRY_AFTER_MS = 1000;

const enum Stage {
  Queued,
  Connecting,
  Open,
  Done,
}

/** The guard's Passages: one _Passage per accepted proof, and the sweep of the slot queue's timeouts. */
export class GuardPassages implements Passages {
  private _timer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly deps: GuardDeps) {}

  open(conn: Conn, grant: PassageGrant): Passage {
    const p = new _Passage(conn, grant, this.deps);
    p.start();
    return p;
  }

  start(sweepMs = 100): void {
    if (this._timer) return;
    this._timer = setInterval(() => this.deps.slots.sweep(this.deps.mono()), sweepMs);
    (this._timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this._timer) clearInterval(this._timer);
    this._timer = null;
  }
}

class _Passage implements Passage {
  reason: CloseReason = "forwarded";
  private _stage = Stage.Queued;
  private _ticket: SlotTicket | null = null;
  private _slotHeld = false;
  private _upstream: Conn | null = null;
  private _relay: Relay | null = null;
  private readonly _held: Uint8Array[];
  private _heldBytes = 0;
  private _clientEnded: boolean;
  private readonly _since: number;
  private _connectingSince = 0;
  /** When this passage answered with an Error and ended the client (0: not, or already destroyed). */
  private _answeredAt = 0;
  private _openedAt = 0;
  private _idleClosed = false;

  constructor(
    private readonly _client: Conn,
    private readonly _grant: PassageGrant,
    private readonly _d: GuardDeps,
  ) {
    this._held = [..._grant.held];
    this._clientEnded = _grant.peerEnded;
    this._since = _d.mono();
  }

  start(): void {
    this._ticket = this._d.slots.request(this._grant.work, this._since, () => this._connect(), (why) => this._refused(why));
  }

  // --- the client side (GateConnections forwards its events) ---

  data(chunk: Uint8Array): void {
    if (this._relay) return this._relay.fromClient(chunk);
    if (this._stage === Stage.Done) return;
    // Only a read already in flight when the client was paused lands here; a runtime that kept reading
    // regardless must not make the queue a buffer for the client.
    this._heldBytes += chunk.length;
    if (this._heldBytes > MAX_HELD_BYTES) return this._client.destroy();
    this._held.push(chunk.slice());
  }

  end(): void {
    if (this._relay) this._relay.clientEnded();
    else this._clientEnded = true;
  }

  close(): void {
    if (this._stage === Stage.Queued && this._ticket) this._d.slots.cancel(this._ticket);
    this._ticket = null;
    if (this._relay) this._relay.clientClosed();
    else this._upstream?.destroy();
    this._stage = Stage.Done;
    this._releaseIfNoUpstream();
  }

  sweep(now: number): void {
    const s = this._d.settings;
    if (this._stage === Stage.Done && this._answeredAt > 0 && now - this._answeredAt > s.connectTimeoutMs) {
      // Answered (BUSY or UPSTREAM_UNAVAILABLE) and ended, but the client never closed its side: on a
      // transport whose end() is a half-close it would keep its descriptor and a connection slot.
      this._answeredAt = 0;
      this._client.destroy();
    } else if (this._stage === Stage.Connecting && now - this._connectingSince > s.connectTimeoutMs) {
      this._unavailable("timeout", `no answer within ${s.connectTimeoutMs} ms`);
    } else if (this._stage === Stage.Open && this._relay && s.idleTimeoutMs > 0 && now - this._relay.lastActivity > s.idleTimeoutMs) {
      this._idleClosed = true;
      this._relay.destroy();
    }
  }

  // --- the upstream side ---

  private _connect(): void {
    this._ticket = null;
    this._slotHeld = true;
    if (this._stage === Stage.Done) return this._releaseIfNoUpstream();
    this._stage = Stage.Connecting;
    this._connectingSince = this._d.mono();
    const { host, port } = this._d.settings.upstream;
    const handler: ConnHandler<_Passage> = {
      open: () => this,
      data: (_p, chunk) => this._relay?.fromUpstream(chunk),
      end: () => this._relay?.upstreamEnded(),
      close: () => this._upstreamClosed(),
    };
    this._d.transport.connect(host, port, handler).then(
      (up) => this._connected(up),
      (err) => this._unavailable(_refusedByPeer(err) ? "refused" : "error", String((err as Error)?.message ?? err)),
    ).catch(() => {
      // A fault while opening the stream must never become an unhandled rejection (which ends the process).
      this._upstream?.destroy();
      this._client.destroy();
    });
  }

  private _connected(up: Conn): void {
    if (this._stage !== Stage.Connecting) {
      up.destroy(); // the client left, or the connect timed out, meanwhile; the slot is freed by the close
      return;
    }
    const s = this._d.settings;
    let header: Uint8Array | null = null;
    if (s.proxyHeader === "v2") {
      try {
        header = encodeProxyV2({ kind: "proxy", source: { address: this._grant.addr, port: this._grant.port }, destination: { address: s.listen.host, port: s.listen.port } });
      } catch (err) {
        // (guard.ts refuses a non-IP listen address with v2 at start; this keeps any other case an answer, not a crash)
        up.destroy();
        return this._unavailable("error", `cannot write the PROXY v2 header: ${(err as Error).message}`);
      }
    }
    this._upstream = up;
    this._stage = Stage.Open;
    if (header) up.write(header);
    const now = this._d.mono();
    const queuedMs = Math.max(0, Math.round(this._connectingSince - this._since));
    this._client.write(encodeOpen({ effort: this._grant.work, queued_ms: queuedMs, idle_timeout_ms: s.idleTimeoutMs }));
    this._openedAt = now;
    this._d.observer?.streamOpened?.(this._grant.work, queuedMs);
    const relay = (this._relay = new Relay(this._client, up, this._d.mono));
    for (const chunk of this._held) relay.fromClient(chunk);
    this._held.length = 0;
    if (this._clientEnded) relay.clientEnded();
    this._client.resume();
  }

  private _upstreamClosed(): void {
    if (this._slotHeld) {
      this._slotHeld = false;
      this._d.slots.release();
    }
    if (this._relay) {
      const r = this._relay;
      this._d.observer?.streamClosed?.(r.bytesUp, r.bytesDown, this._d.mono() - this._openedAt, this._idleClosed);
      r.upstreamClosed();
    }
  }

  /** Until an upstream connection exists, this passage holds the slot itself. */
  private _releaseIfNoUpstream(): void {
    if (this._slotHeld && !this._upstream && this._stage === Stage.Done) {
      this._slotHeld = false;
      this._d.slots.release();
    }
  }

  private _refused(why: SlotRefusal): void {
    this._ticket = null;
    if (this._stage === Stage.Done) return;
    this._d.observer?.queueRefused?.(why);
    const msg = why === "full" ? "The guarded service is at capacity and its queue is full" : "The guarded service stayed at capacity for the whole queue timeout";
    this._fail("BUSY", msg, "refused");
  }

  private _unavailable(why: UpstreamFailure, detail: string): void {
    if (this._stage !== Stage.Connecting) return;
    this._d.observer?.upstreamFailed?.(why, detail);
    this._fail("UPSTREAM_UNAVAILABLE", `Cannot reach the guarded service: ${why === "refused" ? "connection refused" : why === "timeout" ? detail : "connection failed"}`, "upstream");
  }

  private _fail(code: "BUSY" | "UPSTREAM_UNAVAILABLE", message: string, reason: CloseReason): void {
    this._stage = Stage.Done;
    this.reason = reason;
    this._releaseIfNoUpstream();
    this._client.write(encodeError(code, message, RETRY_AFTER_MS));
    this._client.end();
    this._answeredAt = this._d.mono();
  }
}
