/**
 * Token buckets in Redis, so a limit hit through one instance holds on the others. Each request to
 * Redis is one atomic step of a batch script (redis-lua.ts BATCH_LUA) timed by the Redis server's
 * clock: the caller's `nowMs` is used only by the in-memory fallback. Unlike MemoryRateLimiter, a
 * changed spec (reload) keeps each bucket's level, capped at the new burst.
 *
 * Leases. A key that asks often would cost a Redis operation per token; instead the instance takes
 * tokens for it in advance and spends them locally (the way Doorman and other quota services lease
 * capacity to their clients). A key's lease starts at one token (exactly one Redis step per take, as
 * without leases) and doubles each time a grant is used up within its lifetime, up to leaseLimit(spec):
 * at most 1/8 of the burst, 100 ms of the rate, and 64. Every leased token left the shared bucket
 * before it is spent, so the fleet never admits more than the bucket gives out; the costs are that a
 * token leased by one instance cannot serve the client on another (a client may be refused a little
 * early), and that leased tokens unused for `leaseTtlMs` after the key's latest grant are dropped
 * rather than returned. Extra tokens are asked for by one request at a time per key and only while
 * Redis answers (a request that timed out here may still run there later: its tokens are lost), and
 * a failed request starts the key over at one token. With the default per-address limits the limit
 * is one token, so every take goes to Redis; the per-network default (200/s, burst 800) leases up to 20.
 * Leased tokens still count while Redis is down: in fail-closed mode a take they cover is answered.
 * The table keeps at most `maxKeys` keys, dropping the oldest entry first.
 *
 * Also: takes of one key issued in the same event-loop turn travel as one operation, and a refusal is
 * remembered until the time Redis gave (the bucket cannot hold a token before then), so a client
 * that keeps asking while refused costs Redis nothing.
 * @module
 */
import type { RateLimiter } from "../defence/rate-limiter.ts";
import type { BucketSpec, Take } from "../defence/token-bucket.ts";
import type { RedisLink } from "./redis-link.ts";
import type { FailMode } from "./redis-spent.ts";
import { StoreUnavailableError } from "./types.ts";

const OK: Take = { ok: true };

/** The most tokens an instance leases at once for one key under `spec` (at least 1). */
export function leaseLimit(spec: BucketSpec): number {
  return Math.max(1, Math.min(64, Math.floor(spec.burst / 8), Math.floor(spec.ratePerSec / 10)));
}

export interface RedisRateLimiterOptions {
  /** Leased tokens unused for this long are dropped (default 1000 ms). */
  readonly leaseTtlMs?: number;
  /** Keys with a lease or a remembered refusal kept at most (default 100,000; the oldest goes first). */
  readonly maxKeys?: number;
  /** Monotonic clock in ms (default performance.now). */
  readonly mono?: () => number;
}

interface _Waiter {
  readonly n: number;
  resolve(t: Take): void;
  reject(err: unknown): void;
}

interface _Lease {
  /** Leased and not spent yet. */
  tokens: number;
  /** How many to ask for next time. */
  size: number;
  /** Monotonic ms: unspent tokens are dropped after this. */
  expiresAt: number;
  /** Monotonic ms: Redis said the bucket cannot hold a token before this. */
  refusedUntil: number;
  /** The takes that will go out with the next request (not sent yet), if there are any. */
  waiters: _Waiter[] | null;
  /** Requests sent and not answered yet. */
  inFlight: number;
}

export class RedisRateLimiter implements RateLimiter {
  readonly name = "redis";
  private readonly _leases = new Map<string, _Lease>();
  private readonly _ttlMs: number;
  private readonly _maxKeys: number;
  private readonly _mono: () => number;

  constructor(
    private readonly _link: RedisLink,
    private readonly _prefix: string,
    private readonly _failMode: FailMode,
    private readonly _fallback: RateLimiter,
    opts: RedisRateLimiterOptions = {},
  ) {
    this._ttlMs = opts.leaseTtlMs ?? 1000;
    this._maxKeys = opts.maxKeys ?? 100_000;
    this._mono = opts.mono ?? (() => performance.now());
  }

  /** Synchronous when a lease covers the take or a refusal is still in force; a promise when Redis is asked. */
  take(table: string, key: string, spec: BucketSpec, nowMs: number, n = 1): Take | Promise<Take> {
    if (!(spec.ratePerSec > 0) || !(spec.burst >= 1)) {
      throw new RangeError(`RedisRateLimiter: rate ${spec.ratePerSec}/s and burst ${spec.burst} must be positive`);
    }
    const k = `${this._prefix}rl:${table}:${key}`;
    const now = this._mono();
    let l = this._leases.get(k);
    if (l) {
      if (now >= l.expiresAt && l.tokens > 0) {
        l.tokens = 0; // unused for its lifetime: dropped, and the key is not busy
        l.size = 1;
      }
      if (l.tokens >= n) {
        l.tokens -= n;
        if (l.tokens === 0) this._usedUp(l, spec);
        return OK;
      }
      if (now < l.refusedUntil) return { ok: false, retryAfterMs: Math.ceil(l.refusedUntil - now) };
    } else {
      if (this._leases.size >= this._maxKeys) this._leases.delete(this._leases.keys().next().value!);
      l = { tokens: 0, size: 1, expiresAt: -Infinity, refusedUntil: -Infinity, waiters: null, inFlight: 0 };
      this._leases.set(k, l);
    }
    const lease = l;
    return new Promise<Take>((resolve, reject) => {
      const w: _Waiter = { n, resolve, reject };
      if (lease.waiters) return void lease.waiters.push(w);
      const waiters = (lease.waiters = [w]);
      let least = 0;
      const args = () => {
        // The request goes out now: a take from here on starts the next one instead of joining this.
        if (lease.waiters === waiters) lease.waiters = null;
        // Its takes get their own tokens: any leased here now are not theirs to count on, since takes
        // answered at once may spend them before this grant comes back (with a full bucket, some of these
        // takes were then refused for 1 ms: tests/unit/redis-limiter-lease.test.ts).
        const need = waiters.reduce((s, x) => s + x.n, 0);
        least = Math.min(...waiters.map((x) => x.n));
        // Tokens beyond the need only from one request at a time and while Redis answers: a request
        // that times out may still be applied later, and its tokens would be lost to everyone.
        const extra = lease.inFlight === 0 && this._link.up ? lease.size : 0;
        lease.inFlight++;
        return ["t", spec.ratePerSec, spec.burst, least, Math.max(need, extra, least)];
      };
      this._link.batch(k, args).then(
        ([got, retryAfterMs]) => this._granted(lease, waiters, spec, got, got < least ? retryAfterMs : 0),
        (err) => this._failed(lease, waiters, table, key, spec, nowMs, err),
      );
    });
  }

  /** A grant was spent within its lifetime: the key is busy, lease twice as many next time. */
  private _usedUp(l: _Lease, spec: BucketSpec): void {
    l.size = Math.min(leaseLimit(spec), l.size * 2);
  }

  /** Leased tokens `table`/`key` holds here now (for tests and diagnostics). */
  held(table: string, key: string): number {
    const l = this._leases.get(`${this._prefix}rl:${table}:${key}`);
    return l && this._mono() < l.expiresAt ? l.tokens : 0;
  }

  private _granted(l: _Lease, waiters: _Waiter[], spec: BucketSpec, got: number, refusedMs: number): void {
    if (l.waiters === waiters) l.waiters = null;
    l.inFlight = Math.max(0, l.inFlight - 1);
    const now = this._mono();
    if (got > 0) {
      l.tokens += got;
      l.expiresAt = now + this._ttlMs;
    }
    if (refusedMs > 0) l.refusedUntil = now + refusedMs;
    for (const w of waiters) {
      if (l.tokens >= w.n) {
        l.tokens -= w.n;
        if (l.tokens === 0 && got > 0) this._usedUp(l, spec);
        w.resolve(OK);
      } else {
        // Redis gave all it had (less than asked): the bucket is empty, n tokens are n/rate away at most.
        w.resolve({ ok: false, retryAfterMs: refusedMs > 0 ? refusedMs : Math.max(1, Math.ceil((w.n * 1000) / spec.ratePerSec)) });
      }
    }
  }

  private _failed(l: _Lease, waiters: _Waiter[], table: string, key: string, spec: BucketSpec, nowMs: number, err: unknown): void {
    if (l.waiters === waiters) l.waiters = null;
    l.inFlight = Math.max(0, l.inFlight - 1);
    l.size = 1;
    for (const w of waiters) {
      if (this._failMode === "fail-closed") {
        w.reject(new StoreUnavailableError(`Redis rate limiter at ${this._link.target.url} did not answer: ${(err as Error).message}`, { cause: err }));
        continue;
      }
      this._link.fallback("limiter", err);
      try {
        const t = this._fallback.take(table, key, spec, nowMs, w.n);
        t instanceof Promise ? t.then(w.resolve, w.reject) : w.resolve(t);
      } catch (e) {
        w.reject(e);
      }
    }
  }
}
