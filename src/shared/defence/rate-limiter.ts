/**
 * Where the per-client token buckets live: in this process (MemoryRateLimiter, the default), or in a
 * shared store (store/redis.ts) so that a limit hit through one instance holds on the others.
 * @module
 */
import { type BucketSpec, type Take, TokenBuckets } from "./token-bucket.ts";

export interface RateLimiter {
  readonly name: string;
  /** Take `n` tokens from bucket `key` of table `table` (e.g. "challenge", "solution"), created full under `spec`. */
  take(table: string, key: string, spec: BucketSpec, nowMs: number, n?: number): Take | Promise<Take>;
}

export class MemoryRateLimiter implements RateLimiter {
  readonly name = "memory";
  private readonly _tables = new Map<string, TokenBuckets>();
  constructor(private readonly _maxKeys = 100_000) {}

  take(table: string, key: string, spec: BucketSpec, nowMs: number, n = 1): Take {
    let t = this._tables.get(table);
    if (!t || t.spec.ratePerSec !== spec.ratePerSec || t.spec.burst !== spec.burst) {
      t = new TokenBuckets(spec, this._maxKeys); // a changed spec (reload) starts the table afresh
      this._tables.set(table, t);
    }
    return t.take(key, nowMs, n);
  }
}
