/**
 * One connection to Redis, whichever client library carries it: the little the store needs (send a
 * command, know whether it is connected, reconnect by itself, close) behind one interface, so the
 * store's logic (redis-link.ts) is the same on every runtime.
 *
 * Implementations (chosen by runtime/redis-clients.ts, handed in as a RedisConnectionFactory): on Bun,
 * Bun's built-in client (runtime/redis-bun.ts), written in native code: a
 * script call costs its caller 4-5x less CPU than through ioredis (measured in the closing note of
 * issue 6, sequential EVALSHA: 25-29 us vs 118-124 us); elsewhere ioredis (redis-ioredis.ts).
 * Both: no offline queue (a command while disconnected fails at once), reconnection in the background
 * with capped backoff (reconnectDelayMs), the connection named with CLIENT SETNAME. A Sentinel target
 * (redis+sentinel://) always goes through ioredis, which asks the sentinels for the primary at every
 * (re)connection and checks the server's role: Bun's client has no Sentinel support.
 * @module
 */
import type { RedisTarget } from "./redis-url.ts";

export interface RedisConnection {
  /** Which library carries it ("bun" or "ioredis"). */
  readonly library: RedisLibrary;
  /**
   * Connect, waiting at most the connect timeout. Rejects when that fails; reconnection goes on in the
   * background either way until close().
   */
  open(): Promise<void>;
  /**
   * One command with its arguments. Rejects at once while disconnected, or with Redis's error reply.
   * No deadline of its own: redis-link.ts bounds every call.
   */
  send(command: string, args: readonly (string | number)[]): Promise<unknown>;
  /** True while connected. */
  readonly connected: boolean;
  /** Close for good (no more reconnection). Idempotent. */
  close(): Promise<void>;
}

export type RedisLibrary = "bun" | "ioredis";

/** Passwords (from the environment or files, config/store-secrets.ts; never in a URL or a log). */
export interface Passwords {
  /** AUTH to the Redis servers (requirepass). */
  readonly redis?: string;
  /** AUTH to the sentinels (their own requirepass), when they have one. */
  readonly sentinel?: string;
}

export interface RedisConnectionOptions {
  readonly target: RedisTarget;
  readonly password?: Passwords;
  /** CLIENT SETNAME, so operators can tell instances apart in CLIENT LIST. */
  readonly name: string;
  readonly connectTimeoutMs: number;
  /** The connection is up (again). */
  onUp(): void;
  /** The connection was lost or could not be made: `why` says how. */
  onDown(why: string): void;
}

/** Reconnect delay after the `attempt`-th failure: 50 ms doubling up to the cap, with some jitter. */
export function reconnectDelayMs(attempt: number, capMs = 2000): number {
  return Math.min(capMs, 50 * 2 ** Math.min(attempt, 16)) + Math.floor(Math.random() * 50);
}

/** `connecting`, rejected with "connect timed out" if it has not settled within `ms` (the timer is cleared either way). */
export async function connectWithin(connecting: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([connecting, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("connect timed out")), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when a Redis error reply says the script is not cached (EVALSHA must fall back to EVAL). */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && /\bNOSCRIPT\b/.test(err.message);
}

/**
 * Makes a connection (not yet opened) through `library`, or the best one for this runtime ("auto").
 * Injected by the composition root (runtime/redis-clients.ts), so the store does not depend on runtimes.
 */
export type RedisConnectionFactory = (o: RedisConnectionOptions, library: RedisLibrary | "auto") => Promise<RedisConnection>;
