/**
 * `wisdom tunnel --listen 127.0.0.1:PORT --to HOST:PORT`: a local port for clients that cannot be
 * changed. Each accepted local connection gets its own solved connection through the guard at
 * HOST:PORT, and the two are relayed like the guard relays (backpressure, half-close).
 * @module
 */
import { FetchError } from "../shared/client/errors.ts";
import { openGuarded } from "../shared/client/fetch.ts";
import { EXIT, type Io, UsageError } from "../shared/cli/io.ts";
import { GUARD_CLIENT_OPTIONS, hostPortArg, parseGuardClientArgs } from "../shared/cli/guard-client-args.ts";
import { Relay } from "../shared/guard/relay.ts";
import { formatHostPort } from "../shared/net/address.ts";
import { pickTransport } from "../shared/transport/index.ts";
import type { Conn, ConnHandler } from "../shared/transport/types.ts";

export const TUNNEL_HELP = `Usage: wisdom tunnel --listen 127.0.0.1:PORT --to HOST:PORT [options]

Listen on a local port; for each connection accepted there, solve the challenge of the wisdom guard at
HOST:PORT and relay the two connections (a fresh proof per connection). For clients that cannot be
changed: redis-cli -p PORT, curl http://127.0.0.1:PORT/, a database driver, ...

Options:
  --listen HOST:PORT        local address to listen on (default 127.0.0.1:0: any free port, printed on stderr)
  --to HOST:PORT            the guard
${GUARD_CLIENT_OPTIONS}
  -h, --help                show this help

Prints "tunnel listening HOST:PORT -> GUARD" on stderr once ready. SIGINT or SIGTERM stops it (exit 0).
Exit codes: 0 stopped, 1 failure (cannot listen), 2 usage. A connection whose handshake fails is closed
and its reason printed on stderr.
`;

interface _Local {
  readonly conn: Conn;
  relay: Relay | null;
  held: Uint8Array[];
  ended: boolean;
  closed: boolean;
}

/** `wisdom tunnel`: returns the exit code once stopped. */
export async function runTunnel(argv: string[], io: Io): Promise<number> {
  const parsed = parseGuardClientArgs(argv, ["listen", "to"], "none");
  if (!parsed) {
    io.stdout(TUNNEL_HELP);
    return EXIT.OK;
  }
  const a = parsed.args;
  const to = hostPortArg("--to", parsed.extra.to);
  const listen = hostPortArg("--listen", parsed.extra.listen ?? "127.0.0.1:0");
  if (a.host !== "") throw new UsageError("tunnel takes no positional argument");
  const transport = await pickTransport();
  const { createSolver } = await import("../shared/pow/solver/solver.ts");
  const solver = await createSolver({ threads: a.threads });
  const mono = () => performance.now();
  const say = (t: string) => {
    if (!a.quiet) io.stderr(`${t}\n`);
  };
  const handler: ConnHandler<_Local> = {
    open(conn) {
      const l: _Local = { conn, relay: null, held: [], ended: false, closed: false };
      conn.pause(); // nothing is read until the guard opens the stream
      openGuarded(to.host, to.port, { transport, solver, timeoutMs: a.timeoutMs, maxDifficulty: a.maxDifficulty, mode: a.mode, effort: a.effort }).then(
        (g) => {
          if (l.closed) return void g.conn.destroy();
          const relay = (l.relay = new Relay(conn, g.conn, mono));
          for (const chunk of l.held) relay.fromClient(chunk);
          l.held = [];
          if (l.ended) relay.clientEnded();
          g.reader.stream({ data: (c) => relay.fromUpstream(c), end: () => relay.upstreamEnded(), close: () => relay.upstreamClosed() });
          conn.resume();
        },
        (err) => {
          io.stderr(`wisdom tunnel: ${err instanceof FetchError ? err.message : String((err as Error)?.message ?? err)}\n`);
          conn.destroy();
        },
      );
      return l;
    },
    data(l, chunk) {
      if (l.relay) l.relay.fromClient(chunk);
      else l.held.push(chunk.slice());
    },
    end(l) {
      if (l.relay) l.relay.clientEnded();
      else l.ended = true;
    },
    close(l) {
      l.closed = true;
      l.relay?.clientClosed();
    },
  };
  let listener;
  try {
    listener = await transport.listen({ host: listen.host, port: listen.port }, handler);
  } catch (err) {
    await solver.close();
    io.stderr(`wisdom tunnel: cannot listen on ${formatHostPort(listen.host, listen.port)}: ${(err as Error).message}\n`);
    return EXIT.FAILURE;
  }
  const stop = io.waitForStop?.() ?? new Promise<string>(() => {});
  io.stderr(`tunnel listening ${formatHostPort(listen.host, listener.port)} -> ${formatHostPort(to.host, to.port)}\n`);
  const signal = await stop;
  say(`tunnel stopping (${signal})`);
  await listener.stop();
  await solver.close();
  return EXIT.OK;
}
