/**
 * The guard's relay: bytes both ways between a client and its upstream connection, with backpressure
 * (a side whose peer has more than HIGH_WATER bytes queued is paused until that queue drains) and
 * half-close passed on (a FIN from one side becomes a FIN to the other; the other direction keeps
 * flowing). Works over the transport's Conn only, so it runs on every adapter.
 * @module
 */
import type { Conn } from "../transport/types.ts";

/** Bytes queued towards one side before the other side is paused. */
export const HIGH_WATER = 1 << 20;

export class Relay {
  bytesUp = 0;
  bytesDown = 0;
  /** Monotonic time of the last byte either way. */
  lastActivity: number;
  private _clientEnded = false;
  private _upstreamEnded = false;
  private _done = false;

  constructor(
    private readonly _client: Conn,
    private readonly _upstream: Conn,
    private readonly _mono: () => number,
  ) {
    this.lastActivity = _mono();
    _upstream.onDrain = () => _client.resume();
    _client.onDrain = () => _upstream.resume();
  }

  get done(): boolean {
    return this._done;
  }

  fromClient(chunk: Uint8Array): void {
    if (this._done) return;
    this.bytesUp += chunk.length;
    this.lastActivity = this._mono();
    this._upstream.write(chunk, true);
    if (this._upstream.queuedBytes > HIGH_WATER) this._client.pause();
  }

  fromUpstream(chunk: Uint8Array): void {
    if (this._done) return;
    this.bytesDown += chunk.length;
    this.lastActivity = this._mono();
    this._client.write(chunk, true);
    if (this._client.queuedBytes > HIGH_WATER) this._upstream.pause();
  }

  /** The client sent its FIN: the upstream gets one after what is queued for it. */
  clientEnded(): void {
    if (this._clientEnded || this._done) return;
    this._clientEnded = true;
    this._upstream.closeWrite();
    if (this._upstreamEnded) this._finish();
  }

  upstreamEnded(): void {
    if (this._upstreamEnded || this._done) return;
    this._upstreamEnded = true;
    this._client.closeWrite();
    if (this._clientEnded) this._finish();
  }

  /** One side's connection closed (after its FIN, or reset): the other gets what is queued for it, then a close. */
  clientClosed(): void {
    if (this._done) return;
    this._done = true;
    this._upstream.end();
  }

  upstreamClosed(): void {
    if (this._done) return;
    this._done = true;
    this._client.end();
  }

  /** Close both sides now (idle timeout, shutdown). */
  destroy(): void {
    this._done = true;
    this._client.destroy();
    this._upstream.destroy();
  }

  /** Both directions ended: each side gets what is still queued for it, then a close. */
  private _finish(): void {
    this._done = true;
    this._client.end();
    this._upstream.end();
  }
}
