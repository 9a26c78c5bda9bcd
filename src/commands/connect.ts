/**
 * `wisdom connect HOST:PORT`: solve a guard's challenge, then relay stdin to the guarded service and its
 * bytes to stdout, so any program that talks through a command can pass a guard:
 *   ssh -o ProxyCommand='wisdom connect %h:%p' user@host
 * stdin's end becomes a half-close towards the service; the command ends when the connection does.
 * @module
 */
import { FetchError } from "../shared/client/errors.ts";
import { type GuardedStream, openGuarded } from "../shared/client/fetch.ts";
import { EXIT, type Io } from "../shared/cli/io.ts";
import { GUARD_CLIENT_OPTIONS, type GuardClientArgs, parseGuardClientArgs } from "../shared/cli/guard-client-args.ts";
import { HIGH_WATER } from "../shared/guard/relay.ts";
import { pickTransport } from "../shared/transport/index.ts";
import { EXIT_FOR } from "../client.ts";

export const CONNECT_HELP = `Usage: wisdom connect HOST:PORT [options]

Solve the proof-of-work challenge of a wisdom guard at HOST:PORT, then relay stdin to the service it
guards and the service's bytes to stdout. End of stdin half-closes the connection (the service sees a FIN
and may still answer); the command ends when the service ends its side or the connection closes.
Messages go to stderr only.

  ssh -o ProxyCommand='wisdom connect %h:%p' user@host
  printf 'PING\\r\\n' | wisdom connect redis.example:7077

Options:
${GUARD_CLIENT_OPTIONS}
  -h, --help                show this help

Exit codes: 0 the connection ended, 2 usage, 3 cannot connect, 4 bad reply (not a guard?), 5 timeout,
6 puzzle too hard, 7 refused (busy, rate-limited or upstream unavailable, after retries), 8 proof rejected.
`;

/** The byte streams connect relays (the process's by default; tests may hand others in). */
export interface ByteStreams {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
}

/** Solve, open the stream, or return an exit code with the reason on stderr. */
export async function openFromArgs(a: GuardClientArgs, io: Io): Promise<GuardedStream | number> {
  const transport = await pickTransport();
  const { createSolver } = await import("../shared/pow/solver/solver.ts");
  const solver = await createSolver({ threads: a.threads });
  try {
    return await openGuarded(a.host, a.port, {
      transport, solver, timeoutMs: a.timeoutMs, maxDifficulty: a.maxDifficulty, mode: a.mode, effort: a.effort,
      onRetry: a.quiet ? undefined : ({ code, waitMs }) => io.stderr(`wisdom connect: guard said ${code}; retrying in ${(waitMs / 1000).toFixed(1)} s\n`),
    });
  } catch (err) {
    if (err instanceof FetchError) {
      io.stderr(`wisdom connect: ${err.message}\n`);
      return EXIT_FOR[err.code];
    }
    throw err;
  } finally {
    await solver.close();
  }
}

/** Relay `s` to and from the byte streams until the connection closes. */
export function pipeStream(s: GuardedStream, streams: ByteStreams): Promise<void> {
  const { conn, reader } = s;
  const { stdin, stdout } = streams;
  return new Promise<void>((resolve) => {
    let lastWrite: Promise<unknown> = Promise.resolve();
    const onData = (chunk: Uint8Array | string) => {
      conn.write(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
      if (conn.queuedBytes > HIGH_WATER) stdin.pause();
    };
    const onEnd = () => conn.closeWrite();
    conn.onDrain = () => stdin.resume();
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("error", onEnd);
    stdout.on("error", () => conn.destroy()); // the reader went away (EPIPE)
    reader.stream({
      data: (chunk) => {
        const copy = chunk.slice(); // the transport reuses its read buffers
        lastWrite = new Promise((r) => {
          if (!stdout.write(copy, r)) {
            conn.pause();
            stdout.once("drain", () => conn.resume());
          }
        });
      },
      // The service finished sending: the command ends once stdout has it all, as nc does. Its end of
      // stdout is what tells the program reading it (ssh exits on it), and the runtimes close no pipe
      // but by exiting. (The other way, stdin's end is passed on as a half-close: the service may answer.)
      end: () => void lastWrite.then(() => {
        stdin.pause();
        conn.end();
        resolve();
      }),
      close: () => {
        stdin.off("data", onData);
        stdin.off("end", onEnd);
        stdin.pause();
        void lastWrite.then(() => resolve());
      },
    });
  });
}

/** `wisdom connect`: returns the exit code. */
export async function runConnect(argv: string[], io: Io, streams?: ByteStreams): Promise<number> {
  const parsed = parseGuardClientArgs(argv, [], "target");
  if (!parsed) {
    io.stdout(CONNECT_HELP);
    return EXIT.OK;
  }
  const s = await openFromArgs(parsed.args, io);
  if (typeof s === "number") return s;
  await pipeStream(s, streams ?? { stdin: process.stdin, stdout: process.stdout });
  return EXIT.OK;
}
