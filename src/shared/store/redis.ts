/**
 * The Redis backend: the state instances behind one load balancer must share (the spent set, the
 * per-client token buckets, the pressure board) over one connection to `redis://HOST:PORT/DB`, or to
 * the primary that Redis Sentinel names (`redis+sentinel://HOST:PORT,.../MASTER_NAME/DB`), followed
 * across failovers. Valkey works the same (same protocol, same Sentinel).
 *
 * Failure behaviour: no call waits longer than `commandTimeoutMs`. While Redis cannot answer,
 * "fail-closed" refuses (the spent set and the limiter throw StoreUnavailableError; the gate answers
 * BUSY) and "fail-open" answers from this process's memory, emitting a "fallback" event per such
 * answer. "down" and "up" are emitted once per transition, and the connection comes back by itself.
 * The pressure board answers with the local sample alone in both modes (and says so with a
 * "fallback" event whose source is "pressure").
 * Replay window: replication is asynchronous, so a new primary (or a restarted one without its data)
 * may lack spent marks the old one acknowledged. Every batch checks, atomically, that the server is
 * the one the epoch record names; when it is not, it raises the record's fence to the caller's clock
 * plus `clockSkewMs`, and proofs of challenges issued before the fence are refused (redis-lua.ts
 * BATCH_LUA; the argument is in docs/OPERATIONS.md, "Redis Sentinel"). A "fence" event says so.
 * Keys: `<prefix>spent:<key>` (string, PX until the proof expires), `<prefix>rl:<table>:<key>` (hash,
 * expires once the bucket is full again), `<prefix>pressure` (hash of instance id -> sample),
 * `<prefix>epoch` (hash: id of the server, fence).
 * Files: redis-url.ts (address), redis-link.ts (connection, deadlines, health), redis-lua.ts
 * (scripts), redis-spent.ts, redis-limiter.ts, redis-pressure.ts.
 * @module
 */
import { MemoryRateLimiter, type RateLimiter } from "../defence/rate-limiter.ts";
import { MemorySpentStore } from "./memory.ts";
import type { RedisConnectionFactory, RedisLibrary } from "./redis-connection.ts";
import { type RedisEvent, RedisLink } from "./redis-link.ts";
import { RedisRateLimiter } from "./redis-limiter.ts";
import { RedisPressureBoard } from "./redis-pressure.ts";
import { type FailMode, RedisSpentStore } from "./redis-spent.ts";
import type { Passwords } from "./redis-connection.ts";
import { parseStoreUrl } from "./redis-url.ts";
import type { PressureBoard, SpentStore } from "./types.ts";

export type { RedisEvent } from "./redis-link.ts";
export { RedisUrlError, parseRedisUrl, parseSentinelUrl, parseStoreUrl } from "./redis-url.ts";
export type { Passwords } from "./redis-connection.ts";
export { soloPressure } from "./redis-pressure.ts";

export interface RedisBackendOptions {
  readonly failMode: FailMode;
  /** Longest any call waits for Redis, in ms. */
  readonly commandTimeoutMs: number;
  /** Prefix of every key (default "wisdom:"); instances that share state must share it. */
  readonly keyPrefix?: string;
  /** This instance's name (the Redis connection name, for CLIENT LIST). */
  readonly instanceId: string;
  readonly onEvent?: (e: RedisEvent) => void;
  /** Where fail-open answers come from (default: a fresh MemorySpentStore and MemoryRateLimiter). */
  readonly memoryFallback?: { readonly store: SpentStore; readonly limiter: RateLimiter };
  /** Leased rate-limit tokens unused for this long are dropped (default 1000 ms; redis-limiter.ts). */
  readonly leaseTtlMs?: number;
  /** Makes the connection (runtime/redis-clients.ts's redisClients in wisdom serve). */
  readonly connect: RedisConnectionFactory;
  /** The client library: "auto" (default) is Bun's built-in client on Bun, ioredis elsewhere (and for Sentinel). */
  readonly library?: RedisLibrary | "auto";
  /**
   * How far apart the instances' clocks may be (the gate's clock_skew_ms): a new server's fence is this
   * far past the clock of the instance that finds it, so challenges another instance issued before
   * the change still fall before it. Default 2000.
   */
  readonly clockSkewMs?: number;
  /** The instance's clock (default Date.now): the fence is proposed from it. */
  readonly now?: () => number;
  /** Passwords for the Redis servers and the sentinels (never from the URL). */
  readonly password?: Passwords;
}

export interface RedisBackend {
  /** A SpentStore with ready(); markSpent always returns a promise. */
  readonly store: RedisSpentStore;
  /** A RateLimiter over shared buckets, leasing tokens for busy keys (redis-limiter.ts). */
  readonly limiter: RedisRateLimiter;
  readonly pressure: PressureBoard;
  /** Which client library carries the connection. */
  readonly library: RedisLibrary;
  /** The store's address as it may be shown in logs. */
  readonly url: string;
  /** One Redis command, bounded by the command timeout (for tests and diagnostics). */
  command(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** Closes the connection (and the fallbacks it made itself). Idempotent; store.close() does the same. */
  close(): Promise<void>;
}

/**
 * Connects to Redis (waiting at most about the connect timeout) and returns the backend. Resolves
 * even when Redis is down: the connection keeps retrying by itself. Rejects only on bad options.
 */
export async function createRedisBackend(url: string, opts: RedisBackendOptions): Promise<RedisBackend> {
  const target = parseStoreUrl(url);
  if (opts.failMode !== "fail-closed" && opts.failMode !== "fail-open") {
    throw new TypeError(`Redis store: failMode "${opts.failMode}" must be "fail-closed" or "fail-open"`);
  }
  if (!opts.instanceId) throw new TypeError("Redis store: instanceId must not be empty");
  const prefix = opts.keyPrefix ?? "wisdom:";
  const onEvent = opts.onEvent ?? (() => undefined);
  const connectionName = "wisdom-" + opts.instanceId.replace(/[^\w.:-]/g, "_");
  const skew = opts.clockSkewMs ?? 2000;
  if (!(skew >= 0)) throw new RangeError(`Redis store: clockSkewMs ${skew} must be >= 0`);
  const now = opts.now ?? Date.now;
  const epoch = { key: prefix + "epoch", proposeFence: () => now() + skew };
  const link = await RedisLink.create(target, opts.commandTimeoutMs, onEvent, connectionName, epoch, opts.connect, opts.library ?? "auto", opts.password);
  const owned = opts.memoryFallback ? null : new MemorySpentStore();
  const fallbackStore = opts.memoryFallback?.store ?? owned!;
  const fallbackLimiter = opts.memoryFallback?.limiter ?? new MemoryRateLimiter();

  let closing: Promise<void> | null = null;
  const close = () => (closing ??= link.close().then(() => owned?.close()));
  await link.open();
  return {
    store: new RedisSpentStore(link, prefix, opts.failMode, fallbackStore, close, opts.failMode === "fail-open" ? now() : -Infinity),
    limiter: new RedisRateLimiter(link, prefix, opts.failMode, fallbackLimiter, { leaseTtlMs: opts.leaseTtlMs }),
    pressure: new RedisPressureBoard(link, prefix),
    library: link.library,
    url: target.url,
    command: (command, ...args) => link.command(command, args),
    close,
  };
}
