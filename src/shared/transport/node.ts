/**
 * node:net adapter: works on any runtime with Node compatibility (Node, Bun, Deno). The fallback when
 * neither native adapter applies, and a second implementation that the shared transport suite checks.
 * @module
 */
import type * as net from "node:net";
import { canonicalAddress } from "../net/address.ts";
import { watchFdExhaustion } from "../runtime/fd-limits.ts";
import { type Conn, ConnectError, type ConnectOptions, type ConnHandler, type Listener, type ListenOptions, type Transport } from "./types.ts";

// node:net is fetched when a socket is made, not imported: a bundle hoists a builtin's import to its top,
// and loading node:net costs Bun milliseconds at start-up that a command on the native transport never needs.
const _net = (): typeof net => process.getBuiltinModule("node:net") as typeof net;

class _NodeConn implements Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  onDrain: (() => void) | null = null;
  constructor(private readonly _sock: net.Socket) {
    this.remoteAddress = canonicalAddress(_sock.remoteAddress ?? "");
    this.remotePort = _sock.remotePort ?? 0;
    _sock.on("drain", () => this.onDrain?.());
  }
  get queuedBytes(): number {
    return this._sock.writableLength;
  }
  write(bytes: Uint8Array, borrowed = false): void {
    // node:net keeps a reference to what it cannot write at once.
    if (!this._sock.destroyed && this._sock.writable) this._sock.write(borrowed ? bytes.slice() : bytes);
  }
  end(): void {
    if (!this._sock.destroyed) this._sock.end();
  }
  /** With allowHalfOpen (listeners and client sockets here), end() is a half-close: the socket keeps reading. */
  closeWrite(): void {
    if (!this._sock.destroyed) this._sock.end();
  }
  pause(): void {
    this._sock.pause();
  }
  resume(): void {
    this._sock.resume();
  }
  destroy(): void {
    this._sock.destroy();
  }
}

function attach<S>(sock: net.Socket, handler: ConnHandler<S>): Conn {
  const conn = new _NodeConn(sock);
  const state = handler.open(conn);
  let closed = false;
  sock.on("data", (chunk: Uint8Array) => {
    if (!closed) handler.data(state, chunk);
  });
  sock.on("end", () => {
    if (closed) return;
    if (handler.end) handler.end(state);
    else conn.end();
  });
  sock.on("error", () => {
    // 'close' follows
  });
  sock.on("close", () => {
    if (closed) return;
    closed = true;
    handler.close(state);
  });
  return conn;
}

export const nodeTransport: Transport = {
  name: "node",
  listen<S>(opts: ListenOptions, handler: ConnHandler<S>): Promise<Listener> {
    if (opts.reusePort) return Promise.reject(new Error("the node transport cannot share a port between listeners (reusePort)"));
    return new Promise((resolve, reject) => {
      const server = _net().createServer({ noDelay: true, allowHalfOpen: true }, (sock) => attach(sock, handler));
      server.once("error", reject);
      server.listen({ host: opts.host, port: opts.port }, () => {
        server.off("error", reject);
        // A server error after listening is a failed accept (none of the runtimes measured emits one, but an
        // unhandled 'error' would end the process).
        server.on("error", (err: NodeJS.ErrnoException) => opts.onAcceptError?.({ code: err.code ?? "UNKNOWN", message: err.message }));
        // Measured on EMFILE: Node 20 (libuv) accepts and closes the connections it cannot keep; Bun leaves
        // them queued; Deno 2.9 stops accepting for good (use the deno transport there). None says so:
        // exhaustion is found by probing.
        const unwatch = opts.onAcceptError ? watchFdExhaustion(opts.onAcceptError, "node:net reports no accept error (Node closes the connections it cannot take, Bun queues them)") : null;
        const addr = server.address() as net.AddressInfo;
        resolve({
          host: opts.host,
          port: addr.port,
          // server.close()'s callback waits for every open connection; stopping accepting is immediate.
          stop: async () => {
            unwatch?.();
            server.close();
          },
        });
      });
    });
  },
  connect<S>(host: string, port: number, handler: ConnHandler<S>, opts?: ConnectOptions): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const sock = _net().connect({ host, port, noDelay: true, allowHalfOpen: true, ...(opts?.localAddress ? { localAddress: opts.localAddress } : {}) });
      const onError = (err: Error) => reject(new ConnectError(`Cannot connect to ${host}:${port}: ${err.message}`, { cause: err }));
      sock.once("error", onError);
      sock.once("connect", () => {
        sock.off("error", onError);
        resolve(attach(sock, handler));
      });
    });
  },
};
