/**
 * Deno adapter: Deno.listen / Deno.connect with one read loop per connection and a write queue.
 * Needs --allow-net.
 * @module
 */
import { canonicalAddress } from "../net/address.ts";
import { type Conn, ConnectError, type ConnectOptions, type ConnHandler, type Listener, type ListenOptions, type Transport } from "./types.ts";

declare const Deno: any;

const READ_BYTES = 4104; // one maximal frame (4 + 4096) and a little more
/**
 * Read buffers of finished connections, for the next ones (at most 256, about 1 MiB). A fresh 4 KiB
 * Uint8Array costs about 3 us on Deno 2.9 (an off-heap backing store, zero-filled), several percent
 * of a whole handshake there; chunks are only valid during ConnHandler.data, so reuse is safe.
 */
const _freeBuffers: Uint8Array[] = [];
const MAX_FREE_BUFFERS = 256;
/** Waits after a failed accept, doubling while failures last: the queue is served soon after descriptors free up. */
const ACCEPT_BACKOFF_MIN_MS = 5;
const ACCEPT_BACKOFF_MAX_MS = 100;

/** A connection whose reads fill a whole small buffer is streaming (the guard's relay): it reads this much at a time. */
const STREAM_READ_BYTES = 65_536;

class _DenoConn implements Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  private _queue: Uint8Array[] = [];
  private _queued = 0;
  private _writing = false;
  /** What to do once the queue is written: 1 close, 2 closeWrite (FIN, keep reading). */
  private _ending: 0 | 1 | 2 = 0;
  private _resume: (() => void) | null = null;
  private _writeShut = false;
  /** The peer's FIN was read. With our own FIN sent too, the connection is over (as on Bun and node:net). */
  readEnded = false;
  paused: Promise<void> | null = null;
  closed = false;
  onDrain: (() => void) | null = null;

  constructor(private readonly _raw: any, private readonly _onClosed: () => void) {
    this.remoteAddress = canonicalAddress(String(_raw.remoteAddr?.hostname ?? ""));
    this.remotePort = Number(_raw.remoteAddr?.port ?? 0);
  }

  get queuedBytes(): number {
    return this._queued;
  }

  /** end() was called while a write was still going: the connection closes once the write finishes. */
  get closing(): boolean {
    return this._ending === 1 && !this.closed;
  }

  write(bytes: Uint8Array, borrowed = false): void {
    if (this.closed || this._ending !== 0 || bytes.length === 0) return;
    // Every write here is asynchronous, so a borrowed chunk (a read buffer reused by the next read) is copied.
    this._queue.push(borrowed ? bytes.slice() : bytes);
    this._queued += bytes.length;
    if (!this._writing) void this._pump();
  }

  private async _pump(): Promise<void> {
    this._writing = true;
    try {
      while (this._queue.length > 0 && !this.closed) {
        let b = this._queue.shift()!;
        while (b.length > 0 && !this.closed) {
          const n = await this._raw.write(b);
          this._queued -= n;
          if (n >= b.length) break; // written whole (the usual case): no view of its empty rest
          b = b.subarray(n);
        }
      }
    } catch {
      this.destroy();
      return;
    } finally {
      this._writing = false;
    }
    if (this.closed) return;
    this._queued = 0;
    if (this._ending === 1) return this.destroy();
    if (this._ending === 2) this._shutWrite();
    this.onDrain?.();
  }

  private _shutWrite(): void {
    this._writeShut = true;
    try {
      this._raw.closeWrite();
    } catch {
      // the peer is gone: the read side finds out
    }
    if (this.readEnded) this.destroy();
  }

  /** Called by the read loop after the peer's FIN was handed to the handler. */
  peerEnded(): void {
    this.readEnded = true;
    if (this._writeShut) this.destroy();
  }

  end(): void {
    if (this.closed || this._ending === 1) return;
    this._ending = 1;
    if (!this._writing) this.destroy();
  }

  closeWrite(): void {
    if (this.closed || this._ending !== 0) return;
    this._ending = 2;
    if (!this._writing) this._shutWrite();
  }

  pause(): void {
    if (this.closed || this.paused) return;
    this.paused = new Promise<void>((r) => (this._resume = r));
  }

  resume(): void {
    const r = this._resume;
    this._resume = null;
    this.paused = null;
    r?.();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this._queue = [];
    this._queued = 0;
    this.resume(); // a paused read loop wakes up to see the close
    try {
      this._raw.close();
    } catch {
      // already closed by the peer
    }
    this._onClosed();
  }
}

function serve<S>(raw: any, handler: ConnHandler<S>, opened?: (c: Conn) => void): void {
  let state: S;
  let closedOnce = false;
  let opening = true;
  let closedWhileOpening = false;
  const conn = new _DenoConn(raw, () => {
    if (closedOnce) return;
    if (opening) {
      closedWhileOpening = true; // reported once handler.open() has returned its state
      return;
    }
    closedOnce = true;
    handler.close(state);
  });
  state = handler.open(conn);
  opening = false;
  opened?.(conn);
  if (closedWhileOpening) {
    closedOnce = true;
    handler.close(state);
    return;
  }
  void (async () => {
    const pooled = _freeBuffers.pop() ?? new Uint8Array(READ_BYTES);
    let buf = pooled;
    try {
      while (!conn.closed) {
        // Ending (an answer is being written, then the socket closes): no read is started, and the pump
        // closes the socket. A read still pending at close is rejected, and Deno builds an Error with a
        // stack for it (README, Performance: bench/handshake-heap-profile.ts).
        if (conn.closing) return;
        if (conn.paused) {
          await conn.paused;
          if (conn.closed) break;
          if (conn.closing) return;
        }
        const n = await raw.read(buf);
        if (n === null) {
          // The peer finished sending: the handler may still answer (ConnHandler.end); without one,
          // end (flushing what is queued) like the other adapters.
          if (conn.closed) break;
          if (handler.end) handler.end(state);
          else conn.end();
          conn.peerEnded();
          return;
        }
        if (conn.closed) break;
        handler.data(state, buf.subarray(0, n));
        if (n === buf.length && buf.length < STREAM_READ_BYTES) buf = new Uint8Array(STREAM_READ_BYTES);
      }
    } catch {
      // reset or closed under us: handled below
    } finally {
      // Every way out: no read of this connection uses the buffer again.
      if (_freeBuffers.length < MAX_FREE_BUFFERS) _freeBuffers.push(pooled);
    }
    conn.destroy();
  })();
}

export const denoTransport: Transport = {
  name: "deno",
  async listen<S>(opts: ListenOptions, handler: ConnHandler<S>): Promise<Listener> {
    // reusePort needs --unstable-net (or "unstable": ["net"] in deno.json) on Deno 2.9.
    const listener = Deno.listen({ hostname: opts.host, port: opts.port, transport: "tcp", ...(opts.reusePort ? { reusePort: true } : {}) } as Deno.TcpListenOptions);
    let stopped = false;
    let backoffMs = 0;
    const loop = (async () => {
      while (!stopped) {
        let raw: any;
        try {
          raw = await listener.accept();
          backoffMs = 0;
        } catch (err) {
          if (stopped) return;
          if ((err as Error)?.name === "BadResource") return;
          // EMFILE and friends reject accept() (Deno 2.9: Error, code "EMFILE", "Too many open files (os
          // error 24)") while the connection stays queued: report, then back off rather than spin or die.
          opts.onAcceptError?.({ code: String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? "UNKNOWN"), message: String((err as Error)?.message ?? err) });
          backoffMs = Math.min(ACCEPT_BACKOFF_MAX_MS, backoffMs === 0 ? ACCEPT_BACKOFF_MIN_MS : backoffMs * 2);
          await new Promise((r) => setTimeout(r, backoffMs));
          continue;
        }
        try {
          raw.setNoDelay?.(true);
        } catch {
          // not fatal
        }
        serve(raw, handler);
      }
    })();
    return {
      host: opts.host,
      port: listener.addr.port,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          listener.close();
        } catch {
          // already closed
        }
        await loop;
      },
    };
  },
  async connect<S>(host: string, port: number, handler: ConnHandler<S>, opts?: ConnectOptions): Promise<Conn> {
    if (opts?.localAddress) throw new ConnectError(`The ${this.name} transport cannot bind a source address; use the node transport`);
    let raw: any;
    try {
      raw = await Deno.connect({ hostname: host, port, transport: "tcp" });
    } catch (err) {
      throw new ConnectError(`Cannot connect to ${host}:${port}: ${(err as Error).message}`, { cause: err });
    }
    let out!: Conn;
    serve(raw, handler, (c) => (out = c));
    return out;
  },
};
