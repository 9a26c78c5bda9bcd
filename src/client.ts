/**
 * `wisdom fetch`: connect, read the challenge, solve it (or close, solve and reconnect), print the quote.
 * @module
 */
import { FetchError, type FetchErrorCode } from "./shared/client/errors.ts";
import { type AnswerMode, fetchQuote, type FetchResult, type SolverLike } from "./shared/client/fetch.ts";
import { progressLine } from "./shared/client/progress.ts";
import { type FlagSpec, parseFlags } from "./shared/cli/flags.ts";
import { EXIT, type Io, UsageError } from "./shared/cli/io.ts";
import { parseHostPort } from "./shared/net/address.ts";
import { pickTransport } from "./shared/transport/index.ts";

export const FETCH_HELP = `Usage: wisdom fetch [HOST:PORT] [options]

Solve the server's proof-of-work challenge and print a quote (default server 127.0.0.1:7077).

Options:
  --json                    one JSON object per quote per line: quote, author, source, difficulty, solve_ms, ...
  --count N                 fetch N quotes (default 1)
  --timeout SECONDS         give up on a quote after this long, retries included (default 30)
  --max-difficulty BITS     refuse puzzles harder than this (default 28)
  --threads N               solver threads (default: every core)
  --mode auto|same|reconnect answer on the same connection, or close while solving and reconnect (default auto)
  -q, --quiet               no progress line
  -h, --help                show this help

Exit codes: 0 ok, 2 usage, 3 cannot connect, 4 bad server reply, 5 timeout, 6 puzzle too hard,
7 server refused (busy or rate-limited, after retries), 8 proof rejected.
`;

export const EXIT_FOR: Record<FetchErrorCode, number> = {
  CONNECT: EXIT.CONNECT,
  PROTOCOL: EXIT.PROTOCOL,
  TIMEOUT: EXIT.TIMEOUT,
  TOO_HARD: EXIT.TOO_HARD,
  REFUSED: EXIT.REFUSED,
  REJECTED: EXIT.REJECTED,
};

function intFlag(name: string, text: string | undefined, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name}: ${JSON.stringify(text)} is not a number in ${min}..${max}`);
  }
  return n;
}

export interface FetchArgs {
  host: string;
  port: number;
  json: boolean;
  count: number;
  timeoutMs: number;
  maxDifficulty: number;
  threads: number | undefined;
  mode: AnswerMode;
  quiet: boolean;
}

/** fetch's flags (cli/flags.ts, not node:util: see there). */
export const FETCH_FLAGS: Readonly<Record<string, FlagSpec>> = {
  json: { type: "boolean" },
  count: { type: "string" },
  timeout: { type: "string" },
  "max-difficulty": { type: "string" },
  threads: { type: "string" },
  mode: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
};

export function parseFetchArgs(argv: string[]): FetchArgs | "help" {
  let p;
  try {
    p = parseFlags(argv, FETCH_FLAGS);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = p.values;
  const str = (k: string): string | undefined => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  if (v.help) return "help";
  if (p.positionals.length > 1) throw new UsageError(`Expected at most one HOST:PORT, got ${p.positionals.length} arguments`);
  let hp;
  try {
    hp = parseHostPort(p.positionals[0] ?? "127.0.0.1:7077");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const mode = (str("mode") ?? "auto") as AnswerMode;
  if (!["auto", "same", "reconnect"].includes(mode)) throw new UsageError(`--mode: ${JSON.stringify(str("mode"))} is not auto, same or reconnect`);
  return {
    host: hp.host,
    port: hp.port,
    json: v.json === true,
    count: Math.floor(intFlag("count", str("count"), 1, 1, 1_000_000)),
    timeoutMs: intFlag("timeout", str("timeout"), 30, 0.001, 86_400) * 1000,
    maxDifficulty: Math.floor(intFlag("max-difficulty", str("max-difficulty"), 28, 0, 32)),
    threads: str("threads") === undefined ? undefined : Math.floor(intFlag("threads", str("threads"), 1, 1, 256)),
    mode,
    quiet: v.quiet === true,
  };
}

/** `wisdom fetch`: returns the exit code. `solver` may be injected (tests, library). */
export async function runFetch(argv: string[], io: Io, injected?: SolverLike): Promise<number> {
  const a = parseFetchArgs(argv);
  if (a === "help") {
    io.stdout(FETCH_HELP);
    return EXIT.OK;
  }
  const transport = await pickTransport();
  // The fast kernels and the worker pool load only for a puzzle above 12 bits (pow/solver/small-first.ts).
  const solver = injected ?? (await (await import("./shared/pow/solver/small-first.ts")).createSmallFirstSolver({ threads: a.threads }));
  const showProgress = !a.json && !a.quiet && io.stderrIsTTY; // the terminal check loads node:tty: only when it matters
  let progressShown = false;
  try {
    for (let i = 0; i < a.count; i++) {
      let r: FetchResult;
      try {
        r = await fetchQuote(a.host, a.port, {
          transport,
          solver,
          timeoutMs: a.timeoutMs,
          maxDifficulty: a.maxDifficulty,
          mode: a.mode,
          progressIntervalMs: 250,
          onProgress: showProgress
            ? ({ attempts, elapsedMs, bits }) => {
                const line = progressLine({ attempts, elapsedMs, bits });
                if (line === null) return; // short solves show nothing
                progressShown = true;
                io.stderr(`\r\x1b[K${line}`);
              }
            : undefined,
          onRetry: a.json || a.quiet ? undefined : ({ code, waitMs }) => io.stderr(`server said ${code}; retrying in ${(waitMs / 1000).toFixed(1)} s\n`),
        });
      } catch (err) {
        if (progressShown) io.stderr("\r\x1b[K");
        if (err instanceof FetchError) {
          io.stderr(`wisdom fetch: ${err.message}\n`);
          return EXIT_FOR[err.code];
        }
        throw err;
      }
      if (progressShown) {
        io.stderr("\r\x1b[K");
        progressShown = false;
      }
      if (a.json) io.stdout(`${JSON.stringify(r)}\n`);
      else io.stdout(`${r.quote}\n  -- ${r.author}\n`);
    }
    return EXIT.OK;
  } finally {
    if (!injected) await (solver as { close?: () => Promise<void> }).close?.();
  }
}
