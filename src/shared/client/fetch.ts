/**
 * fetchQuote(): connect, read the challenge, solve it, answer on the same connection or on a new one,
 * and return the quote. Retries refusals (BUSY, RATE_LIMITED, SHUTTING_DOWN) and expired challenges
 * with backoff while the overall timeout allows. The library entry point behind `wisdom fetch`.
 * @module
 */
import { MessageType } from "../protocol/frame.ts";
import type { Challenge, Message, OpenMessage } from "../protocol/messages.ts";
import { encodeSolution } from "../protocol/message-encode.ts";
import { RETRYABLE_CODES } from "../protocol/errors.ts";
import { buildPrefix, encodeCounter } from "../pow/hashcash-bytes.ts";
import { ConnectError, type Conn, type Transport } from "../transport/types.ts";
import { FetchError } from "./errors.ts";
import { FrameReader } from "./frame-reader.ts";

/** The part of the solver (pow/solver) that the client uses. */
export interface SolverLike {
  readonly kernel: string;
  readonly threads: number;
  solve(
    prefix: Uint8Array,
    bits: number,
    opts?: { signal?: AbortSignal; onProgress?: (attempts: number, elapsedMs: number) => void; progressIntervalMs?: number },
  ): Promise<{ counter: number; attempts: number; elapsedMs: number }>;
}

export type AnswerMode = "auto" | "same" | "reconnect";

export interface FetchOptions {
  readonly transport: Transport;
  readonly solver: SolverLike;
  /** Overall deadline for this quote, ms (default 30000). */
  readonly timeoutMs?: number;
  /** Refuse puzzles above this many bits (default 28). */
  readonly maxDifficulty?: number;
  readonly mode?: AnswerMode;
  /** Solver speed used to predict the solve time before the first solve, attempts/s. */
  readonly rateEstimate?: number;
  readonly onProgress?: (p: { attempts: number; elapsedMs: number; bits: number }) => void;
  readonly onRetry?: (p: { code: string; waitMs: number; attempt: number }) => void;
  readonly progressIntervalMs?: number;
  /** Source address to connect from (transports that support it). */
  readonly localAddress?: string;
  /** Solve this many bits more than the challenge asks (a guard serves higher efforts first when its upstream is full). */
  readonly effort?: number;
}

export interface FetchResult {
  quote: string;
  author: string;
  source?: string;
  difficulty: number;
  solve_ms: number;
  attempts: number;
  mode: "same" | "reconnect";
  total_ms: number;
  retries: number;
}

interface _Open {
  conn: Conn;
  reader: FrameReader;
}

// Nothing here loads valibot or @noble/hashes (protocol/message-check.ts, pow/hashcash-bytes.ts): a fetch
// pays neither at start-up (bench/startup.ts).
const _HEX = "0123456789abcdef";
function _toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += _HEX[b >>> 4]! + _HEX[b & 15]!;
  return s;
}
/** The puzzle's prefix (as pow/challenge.ts's challengePrefix); `mac` is 64 lowercase hex digits, checked on decoding. */
function _prefix(ch: Challenge): Uint8Array {
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = parseInt(ch.mac.slice(i * 2, i * 2 + 2), 16);
  return buildPrefix(ch.bits, mac);
}

/** Rate learned from solves in this process, shared by later calls. */
let learnedRate = 0;

async function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  const left = deadline - performance.now();
  if (left <= 0) throw new FetchError("TIMEOUT", `Timed out ${what}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new FetchError("TIMEOUT", `Timed out ${what}`)), left);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function dial(t: Transport, host: string, port: number, deadline: number, localAddress?: string): Promise<_Open> {
  const reader = new FrameReader();
  const connecting = t.connect(host, port, reader, localAddress ? { localAddress } : undefined);
  // Past the deadline, a connect that still finishes is closed, and one that fails is no unhandled rejection.
  connecting.then((c) => void (performance.now() >= deadline && c.destroy()), () => {});
  try {
    const conn = await withDeadline(connecting, deadline, `connecting to ${host}:${port}`);
    return { conn, reader };
  } catch (err) {
    if (err instanceof FetchError) throw err;
    if (err instanceof ConnectError) throw new FetchError("CONNECT", err.message, { cause: err });
    throw new FetchError("CONNECT", `Cannot connect to ${host}:${port}: ${(err as Error).message}`, { cause: err });
  }
}

class _Retry extends Error {
  /** `giveUp`: what to throw when no retry is left (default: REFUSED). */
  constructor(readonly code: string, readonly retryAfterMs: number | undefined, readonly giveUp?: FetchError) {
    super(code);
  }
}

/** How many dropped connections in a row a fetch retries (a server restarting, an instance behind a balancer dying). */
const MAX_DROPS = 3;

/** A read that failed because the connection dropped becomes a retry. */
async function retryDrops<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof FetchError && err.dropped) throw new _Retry("DROPPED", 0, err);
    throw err;
  }
}

/** Turn an Error message (or anything unexpected) into the right failure. */
function refuse(m: Message, expecting: string): never {
  if (m.type === MessageType.Error) {
    const { code, message, retry_after_ms } = m.body;
    if (RETRYABLE_CODES.has(code)) throw new _Retry(code, retry_after_ms);
    throw new FetchError("REJECTED", `Server refused: ${code}: ${message}`, { serverCode: code });
  }
  throw new FetchError("PROTOCOL", `Expected ${expecting} from server, got message type ${m.type}`);
}

async function readChallenge(o: _Open, deadline: number): Promise<Challenge> {
  const m = await retryDrops(withDeadline(o.reader.next(), deadline, "waiting for a challenge"));
  if (m.type !== MessageType.Challenge) refuse(m, "a Challenge");
  return m.body;
}

/** What one handshake ended with: the server's answer, on a connection still open. */
interface _Answered {
  readonly o: _Open;
  readonly reply: Message;
  readonly ch: Challenge;
  readonly solved: { attempts: number; elapsedMs: number };
  readonly mode: "same" | "reconnect";
  readonly t0: number;
}

/** Connect, read the challenge, solve it, send the solution (on this or a new connection), read the answer. */
async function handshake(host: string, port: number, opts: FetchOptions, deadline: number, expecting: string): Promise<_Answered> {
  const t0 = performance.now();
  const maxBits = opts.maxDifficulty ?? 28;
  let o: _Open | null = await dial(opts.transport, host, port, deadline, opts.localAddress);
  let ok = false;
  try {
    const ch = await readChallenge(o, deadline);
    if (ch.bits > maxBits) {
      throw new FetchError("TOO_HARD", `Puzzle needs ${ch.bits} bits, more than --max-difficulty ${maxBits}`);
    }
    const bits = Math.min(32, ch.bits + (opts.effort ?? 0));
    const rate = learnedRate || opts.rateEstimate || 2_000_000 * Math.max(1, opts.solver.threads);
    const expectedMs = (2 ** bits / rate) * 1000;
    let mode: "same" | "reconnect";
    if (opts.mode === "same" || opts.mode === "reconnect") mode = opts.mode;
    else mode = ch.window_ms === undefined || expectedMs * 3 < ch.window_ms ? "same" : "reconnect";
    if (mode === "reconnect") {
      o.conn.end();
      o = null;
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), Math.max(0, Math.min(deadline, performance.now() + (ch.exp - Date.now())) - performance.now()));
    let solved;
    try {
      solved = await opts.solver.solve(_prefix(ch), bits, {
        signal: ac.signal,
        progressIntervalMs: opts.progressIntervalMs,
        onProgress: opts.onProgress ? (attempts, elapsedMs) => opts.onProgress!({ attempts, elapsedMs, bits }) : undefined,
      });
    } catch (err) {
      if (ac.signal.aborted) {
        if (performance.now() >= deadline) throw new FetchError("TIMEOUT", `Timed out solving a ${bits}-bit puzzle`);
        throw new _Retry("EXPIRED", 0);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (solved.elapsedMs > 20 && solved.attempts > 0) learnedRate = (solved.attempts / solved.elapsedMs) * 1000;
    if (!o) {
      o = await dial(opts.transport, host, port, deadline, opts.localAddress);
      await readChallenge(o, deadline); // a fresh one, not needed: we answer the one we solved
    }
    o.conn.write(encodeSolution({ challenge: ch, counter: _toHex(encodeCounter(solved.counter)) }));
    const reply = await retryDrops(withDeadline(o.reader.next(), deadline, `waiting for ${expecting}`));
    ok = true;
    return { o, reply, ch, solved, mode, t0 };
  } finally {
    if (!ok) o?.conn.end();
  }
}

async function once(host: string, port: number, opts: FetchOptions, deadline: number, retries: number): Promise<FetchResult> {
  const { o, reply, ch, solved, mode, t0 } = await handshake(host, port, opts, deadline, "the quote");
  try {
    if (reply.type !== MessageType.Quote) refuse(reply, "a Quote");
    return {
      quote: reply.body.quote,
      author: reply.body.author,
      ...(reply.body.source !== undefined ? { source: reply.body.source } : {}),
      difficulty: ch.bits,
      solve_ms: Math.round(solved.elapsedMs * 1000) / 1000,
      attempts: solved.attempts,
      mode,
      total_ms: Math.round((performance.now() - t0) * 1000) / 1000,
      retries,
    };
  } finally {
    o.conn.end();
  }
}

/** Retry `attempt` on refusals, expired challenges and dropped connections while the deadline allows. */
async function withRetries<T>(opts: FetchOptions, attempt: (deadline: number, retries: number) => Promise<T>): Promise<T> {
  const deadline = performance.now() + (opts.timeoutMs ?? 30_000);
  let backoff = 100;
  let drops = 0;
  for (let n = 0; ; n++) {
    try {
      return await attempt(deadline, n);
    } catch (err) {
      if (!(err instanceof _Retry)) throw err;
      drops = err.code === "DROPPED" ? drops + 1 : 0;
      const wait = Math.min(err.retryAfterMs ?? backoff, 5000) * (0.5 + Math.random());
      backoff = Math.min(backoff * 2, 5000);
      if (drops > MAX_DROPS || performance.now() + wait >= deadline) {
        throw err.giveUp ?? new FetchError("REFUSED", `Server refused (${err.code}) and the timeout left no room to retry`);
      }
      opts.onRetry?.({ code: err.code, waitMs: wait, attempt: n });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** A stream through a guard: the connection after its Open frame, and what the frame said. */
export interface GuardedStream {
  readonly conn: Conn;
  /** Hand the stream's bytes (and its FIN and close) to a sink; bytes that came with Open come first. */
  readonly reader: FrameReader;
  readonly open: OpenMessage;
  readonly difficulty: number;
  readonly solveMs: number;
  readonly totalMs: number;
  readonly retries: number;
}

/** Open a stream to the service behind a `wisdom guard` at `host:port`. Throws FetchError. */
export function openGuarded(host: string, port: number, opts: FetchOptions): Promise<GuardedStream> {
  return withRetries(opts, async (deadline, retries) => {
    const { o, reply, ch, solved, t0 } = await handshake(host, port, opts, deadline, "the guard's answer");
    try {
      if (reply.type !== MessageType.Open) refuse(reply, "an Open frame (is this a wisdom guard?)");
    } catch (err) {
      o.conn.end();
      throw err;
    }
    return {
      conn: o.conn, reader: o.reader, open: reply.body, difficulty: ch.bits, solveMs: solved.elapsedMs, totalMs: performance.now() - t0, retries,
    };
  });
}

/** Fetch one quote from `host:port`. Throws FetchError. */
export function fetchQuote(host: string, port: number, opts: FetchOptions): Promise<FetchResult> {
  return withRetries(opts, (deadline, retries) => once(host, port, opts, deadline, retries));
}
