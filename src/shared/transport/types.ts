/**
 * The one interface above every runtime's TCP: the gate and the client see only these types.
 * Adapters: bun.ts (Bun.listen/Bun.connect), deno.ts (Deno.listen/Deno.connect), node.ts (node:net, any runtime).
 * @module
 */

/** One TCP connection, as the protocol code sees it. */
export interface Conn {
  /** Canonical peer IP (see net/address.ts). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Queue bytes; partial writes are finished by the adapter. Ignored after close or closeWrite(). The
   * adapter may keep a reference to bytes it could not write yet, so the caller must not change them;
   * `borrowed`: they are a chunk valid only during this call (ConnHandler.data's), and the adapter copies
   * whatever it keeps.
   */
  write(bytes: Uint8Array, borrowed?: boolean): void;
  /**
   * Flush what is queued, then close. The adapter may stop reading from the peer at once (Deno's does):
   * bytes the peer sends meanwhile stay unread, and the kernel then closes with a reset instead of a FIN.
   */
  end(): void;
  /** Close now, dropping anything queued. */
  destroy(): void;

  // Stream control, for relaying one connection into another (the guard) with backpressure.

  /** Stop reading from the peer: no data() until resume(). A chunk already being read may still arrive. */
  pause(): void;
  resume(): void;
  /** Bytes accepted by write() and not yet handed to the kernel. */
  readonly queuedBytes: number;
  /** Called each time the write queue empties after it was not empty (one listener: the relay's). */
  onDrain: (() => void) | null;
  /** Send a FIN once what is queued is written, and keep reading (half-close, shutdown(SHUT_WR)). */
  closeWrite(): void;
}

/** Event callbacks for connections; `S` is the handler's own per-connection state. */
export interface ConnHandler<S> {
  open(conn: Conn): S;
  /** `chunk` is valid only during the call: adapters reuse its memory for later reads. Copy what you keep. */
  data(state: S, chunk: Uint8Array): void;
  /**
   * The peer finished sending (a FIN: `printf ... | nc -N`, a shutdown() after its last write). The
   * connection stays open for writing until the handler calls end() or destroy(), so an answer still
   * being computed (a shared store, a remote quote source) reaches the peer. Without this method the
   * adapter ends the connection at once. Listeners are half-open on every adapter; on a client socket
   * a runtime may still close both sides right after this call.
   */
  end?(state: S): void;
  /** Called exactly once per opened connection, whoever closed it. */
  close(state: S): void;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** Stop accepting; connections already open stay open. */
  stop(): Promise<void>;
}

/** An accept that failed: EMFILE/ENFILE (no descriptor free), ENOBUFS, ENOMEM, ... `code` is the errno name. */
export interface AcceptError {
  readonly code: string;
  readonly message: string;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Accepts that fail; the listener keeps accepting. Deno's accept() reports each failure (the adapter
   * backs off a few ms between them). Bun and node:net report none, so their adapters probe for a free
   * descriptor once a second and report exhaustion as EMFILE. Unset: failures are only survived.
   */
  readonly onAcceptError?: (err: AcceptError) => void;
  /**
   * Share the port with other listeners of this process that set it too (SO_REUSEPORT: the kernel
   * spreads new connections over them; `wisdom serve --threads`). Adapters that cannot, throw.
   */
  readonly reusePort?: boolean;
}

/** Thrown by connect() when the peer cannot be reached; `code` is stable. */
export class ConnectError extends Error {
  readonly code = "CONNECT_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConnectError";
  }
}

export interface ConnectOptions {
  /** Source address to bind (only adapters that say so support it: node.ts). */
  readonly localAddress?: string;
}

export interface Transport {
  readonly name: string;
  listen<S>(opts: ListenOptions, handler: ConnHandler<S>): Promise<Listener>;
  /** Connect; resolves once connected (handler.open has run), rejects with ConnectError. */
  connect<S>(host: string, port: number, handler: ConnHandler<S>, opts?: ConnectOptions): Promise<Conn>;
}
