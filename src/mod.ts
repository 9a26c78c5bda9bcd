/**
 * wisdom as a library, for Bun and Deno (published through package.json and deno.json `exports`).
 *
 * - fetchQuote(address, options): the client: connect, solve, return the quote.
 * - serve(options): run the whole server from a program.
 * - PowGate: just the proof-of-work gate (issue, verify, replay check), to put in front of any other TCP handler.
 * - The protocol codec and the solver, for writing your own client or server loop.
 * @module
 */
import { fetchQuote as fetchWith, type AnswerMode, type FetchResult, type SolverLike } from "./shared/client/fetch.ts";
import { validateServeConfig } from "./shared/config/load.ts";
import { SERVE_DEFAULTS, type ServeConfig } from "./shared/config/schema.ts";
import { parseHostPort } from "./shared/net/address.ts";
import { challengePrefix, mintChallenge, NONCE_BYTES, verifySolution, type Verdict } from "./shared/pow/challenge.ts";
import { deriveKeyId, type KeySpec, KeyRing } from "./shared/pow/keys.ts";
import type { Challenge, Solution } from "./shared/protocol/messages.ts";
import type { QuoteSource } from "./shared/quotes/types.ts";
import { MemorySpentStore } from "./shared/store/memory.ts";
import { ChallengeFencedError, type SpentStore } from "./shared/store/types.ts";
import { pickTransport } from "./shared/transport/index.ts";
import { type RunningServer, startServer } from "./server.ts";

export type { AnswerMode, Challenge, FetchResult, KeySpec, QuoteSource, RunningServer, ServeConfig, Solution, SolverLike, SpentStore, Verdict };
export { FetchError, type FetchErrorCode } from "./shared/client/errors.ts";
export { createSolver, type Solver } from "./shared/pow/solver/solver.ts";
export { challengePrefix };
export { encodeCounter, meetsDifficulty } from "./shared/pow/hashcash.ts";
export { FrameDecoder, encodeFrame, MessageType } from "./shared/protocol/frame.ts";
export { decodeMessage, encodeChallenge, encodeError, encodeOpen, encodeQuote, encodeSolution } from "./shared/protocol/messages.ts";
export { ProtocolError, ERROR_CODES, type ErrorCode } from "./shared/protocol/errors.ts";
export { SERVE_DEFAULTS };
export { ConfigError } from "./shared/config/load.ts";
/** For SpentStore implementations: BUSY (cannot decide) and EXPIRED (a challenge older than the store's fence). */
export { ChallengeFencedError, StoreUnavailableError } from "./shared/store/types.ts";

export interface FetchQuoteOptions {
  /** Overall deadline in ms, retries included (default 30000). */
  readonly timeoutMs?: number;
  /** Refuse puzzles above this many bits (default 28). */
  readonly maxDifficulty?: number;
  /** Solver threads (default: every core). Ignored when `solver` is given. */
  readonly threads?: number;
  readonly mode?: AnswerMode;
  /** Reuse a solver across calls (createSolver()); otherwise one is made and closed per call. */
  readonly solver?: SolverLike & { close?(): Promise<void> };
  readonly onProgress?: (p: { attempts: number; elapsedMs: number; bits: number }) => void;
}

/** Fetch one quote from "HOST:PORT" (or "[V6]:PORT"). Throws FetchError with a stable `code`. */
export async function fetchQuote(address: string, options: FetchQuoteOptions = {}): Promise<FetchResult> {
  const { host, port } = parseHostPort(address);
  const own = options.solver ? null : await (await import("./shared/pow/solver/solver.ts")).createSolver({ threads: options.threads });
  try {
    return await fetchWith(host, port, {
      transport: await pickTransport(),
      solver: options.solver ?? own!,
      timeoutMs: options.timeoutMs,
      maxDifficulty: options.maxDifficulty,
      mode: options.mode,
      onProgress: options.onProgress,
    });
  } finally {
    await own?.close();
  }
}

export interface ServeOptions {
  /** HMAC secret (at least 16 bytes) or several keys for rotation. */
  readonly secret?: string | Uint8Array;
  readonly keys?: readonly KeySpec[];
  /** Any serve configuration key (see `wisdom serve --help`); listen defaults to 127.0.0.1:7077, metrics off. */
  readonly config?: Partial<ServeConfig>;
  readonly quotes?: QuoteSource;
  readonly store?: SpentStore;
}

function keysFrom(o: { secret?: string | Uint8Array; keys?: readonly KeySpec[] }): KeySpec[] {
  if (o.keys) return [...o.keys];
  if (o.secret === undefined) throw new TypeError("wisdom: give `secret` or `keys`");
  const secret = typeof o.secret === "string" ? new TextEncoder().encode(o.secret) : o.secret;
  return [{ id: deriveKeyId(secret), secret }];
}

/** Run the server. Close it with `await server.close()` (or `await using`). */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  // The same checks as `wisdom serve`: a bad value is a ConfigError here, not a throw in every connection.
  const config = validateServeConfig({ ...SERVE_DEFAULTS, listen: "127.0.0.1:7077", metrics_listen: "", log_level: "silent", ...options.config }, "serve() options");
  return startServer({
    config,
    keys: keysFrom(options),
    quotes: options.quotes,
    store: options.store,
  });
}

export interface PowGateOptions {
  readonly secret?: string | Uint8Array;
  readonly keys?: readonly KeySpec[];
  /** Leading zero bits (default 20). */
  readonly difficulty?: number;
  /** Challenge lifetime in ms (default 60000). */
  readonly ttlMs?: number;
  /** Spent-proof store (default: in memory, refusing challenges issued before this gate was made). */
  readonly store?: SpentStore;
  readonly now?: () => number;
}

/**
 * The gate alone: mint signed challenges for a client address and verify solutions, with replay
 * protection. Frame the messages however your service likes (or use the codec exported here).
 */
export class PowGate {
  readonly difficulty: number;
  private readonly _ring: KeyRing;
  private readonly _ttl: number;
  private readonly _store: SpentStore;
  private readonly _now: () => number;

  constructor(o: PowGateOptions) {
    this._ring = new KeyRing(keysFrom(o));
    this.difficulty = o.difficulty ?? 20;
    this._ttl = o.ttlMs ?? 60_000;
    this._now = o.now ?? Date.now;
    // Fenced at construction: a proof of a challenge issued before it (by an earlier process) is EXPIRED.
    this._store = o.store ?? new MemorySpentStore({ fenceMs: this._now() });
  }

  /** A challenge bound to `clientAddress` (the peer IP as your server sees it). */
  issue(clientAddress: string, bits = this.difficulty): Challenge {
    const c = mintChallenge(this._ring, { bits, nowMs: this._now(), ttlMs: this._ttl, addr: clientAddress, nonce: crypto.getRandomValues(new Uint8Array(NONCE_BYTES)) });
    this._store.issued?.(c.iat);
    return c;
  }

  /** Verify a solution from `clientAddress`; on success the challenge is spent (a second try is REPLAY). */
  async verify(solution: Solution, clientAddress: string): Promise<Verdict> {
    const now = this._now();
    const v = verifySolution(this._ring, solution, { nowMs: now, addr: clientAddress, skewMs: 2000, maxTtlMs: this._ttl });
    if (!v.ok) return v;
    let fresh: boolean;
    try {
      fresh = await this._store.markSpent(v.spentKey, v.expiresAtMs, now, solution.challenge.iat);
    } catch (err) {
      // A shared store that changed server refuses older challenges: the client should ask for a fresh one.
      if (err instanceof ChallengeFencedError) return { ok: false, code: "EXPIRED", message: err.message };
      throw err;
    }
    return fresh ? v : { ok: false, code: "REPLAY", message: "This challenge was already spent" };
  }
}
