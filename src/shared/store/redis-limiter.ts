/**
 * Token buckets in Redis, so a limit hit through one instance holds on the others. Each take is one
 * atomic step of a batch script (redis-lua.ts BATCH_LUA) timed by the Redis
 * server's clock: the caller's `nowMs` is used only by the in-memory fallback. Unlike MemoryRateLimiter, a changed spec (reload) keeps each
 * bucket's level, capped at the new burst.
 * @module
 */
import type { RateLimiter } from "../defence/rate-limiter.ts";
import type { BucketSpec, Take } from "../defence/token-bucket.ts";
import type { RedisLink } from "./redis-link.ts";
import type { FailMode } from "./redis-spent.ts";
import { StoreUnavailableError } from "./types.ts";

const OK: Take = { ok: true };

export class RedisRateLimiter implements RateLimiter {
  readonly name = "redis";

  constructor(
    private readonly _link: RedisLink,
    private readonly _prefix: string,
    private readonly _failMode: FailMode,
    private readonly _fallback: RateLimiter,
  ) {}

  async take(table: string, key: string, spec: BucketSpec, nowMs: number, n = 1): Promise<Take> {
    if (!(spec.ratePerSec > 0) || !(spec.burst >= 1)) {
      throw new RangeError(`RedisRateLimiter: rate ${spec.ratePerSec}/s and burst ${spec.burst} must be positive`);
    }
    try {
      const [ok, retryAfterMs] = await this._link.batch(`${this._prefix}rl:${table}:${key}`, ["t", spec.ratePerSec, spec.burst, n]);
      return ok === 1 ? OK : { ok: false, retryAfterMs };
    } catch (err) {
      if (this._failMode === "fail-closed") {
        throw new StoreUnavailableError(`Redis rate limiter at ${this._link.target.url} did not answer: ${(err as Error).message}`, { cause: err });
      }
      this._link.fallback("limiter", err);
      return this._fallback.take(table, key, spec, nowMs, n);
    }
  }
}
