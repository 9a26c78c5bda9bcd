/** Test helpers for `wisdom guard`: an in-process guard on port 0, upstream services that record what they see, a stream client. */
import * as net from "node:net";
import { SERVE_DEFAULTS, type ServeConfig } from "../../src/shared/config/schema.ts";
import { type RunningGuard, startGuard } from "../../src/commands/guard.ts";
import { type GuardedStream, openGuarded } from "../../src/shared/client/fetch.ts";
import type { Transport } from "../../src/shared/transport/types.ts";
import { NO_LIMITS, referenceSolver, TEST_SECRET } from "./server.ts";

export async function testGuard(upstreamPort: number, config: Partial<ServeConfig> = {}, transport?: Transport): Promise<RunningGuard> {
  return startGuard({
    config: {
      ...SERVE_DEFAULTS, ...NO_LIMITS, listen: "127.0.0.1:0", metrics_listen: "", difficulty: 4, adaptive: "off", log_level: "silent", shutdown_grace_ms: 200,
      upstream: `127.0.0.1:${upstreamPort}`, ...config,
    },
    keys: [{ id: "t1", secret: TEST_SECRET }],
    transport,
  });
}

export interface UpstreamConn {
  readonly socket: net.Socket;
  /** Every byte received, in order. */
  readonly received: () => Buffer;
  /** Resolves at the client's FIN (the guard passing the client's half-close on). */
  readonly ended: Promise<void>;
  readonly closed: Promise<void>;
}

/**
 * A service behind the guard (node:net, half-open), which counts its connections and hands each one to
 * `serve` (default: echo each chunk, and end after the peer's FIN).
 */
export async function startUpstream(serve?: (c: UpstreamConn) => void) {
  const conns: UpstreamConn[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    let onEnd!: () => void, onClose!: () => void;
    const c: UpstreamConn = {
      socket,
      received: () => Buffer.concat(chunks),
      ended: new Promise<void>((r) => (onEnd = r)),
      closed: new Promise<void>((r) => (onClose = r)),
    };
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("end", () => onEnd());
    socket.on("close", () => onClose());
    socket.on("error", () => {});
    conns.push(c);
    if (serve) serve(c);
    else {
      socket.on("data", (d: Buffer) => socket.write(d));
      socket.on("end", () => socket.end());
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    conns,
    async [Symbol.asyncDispose]() {
      for (const c of conns) c.socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A stream through the guard with the reference solver, its bytes collected. */
export async function guardedClient(t: Transport, port: number, opts: { effort?: number; mode?: "same" | "reconnect" } = {}) {
  const s: GuardedStream = await openGuarded("127.0.0.1", port, { transport: t, solver: referenceSolver, timeoutMs: 10_000, mode: opts.mode ?? "same", effort: opts.effort });
  const chunks: Uint8Array[] = [];
  let onEnd!: () => void, onClose!: () => void;
  const ended = new Promise<void>((r) => (onEnd = r));
  const closed = new Promise<void>((r) => (onClose = r));
  s.reader.stream({ data: (c) => void chunks.push(c.slice()), end: () => onEnd(), close: () => onClose() });
  return { ...s, ended, closed, received: () => Buffer.concat(chunks) };
}
