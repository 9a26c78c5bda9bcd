/**
 * Token buckets keyed by client, with bounded memory. Pure: every call takes the time.
 * A bucket that has refilled completely is the same as no bucket, so idle entries are dropped freely;
 * when the table is full the least recently used entry goes (it refills to full: a bounded, documented
 * leniency, never unbounded growth).
 * @module
 */

export interface BucketSpec {
  /** Tokens added per second. */
  readonly ratePerSec: number;
  /** Capacity (the burst). */
  readonly burst: number;
}

interface _Bucket {
  tokens: number;
  at: number;
  /** When the entry last moved to the recent end of the table. */
  moved: number;
}

/**
 * A busy key moves to the recent end of the table at most this often: Map order is then recency order
 * to within a second, and a key taken thousands of times a second does not delete and re-insert each time
 * (which fills the table with tombstones and makes it rehash: measured as a hot spot of the gate).
 */
const MOVE_EVERY_MS = 1000;

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

const OK: Take = { ok: true };

export class TokenBuckets {
  private readonly _map = new Map<string, _Bucket>();
  private readonly _ratePerMs: number;

  constructor(readonly spec: BucketSpec, private readonly _maxKeys = 100_000) {
    if (!(spec.ratePerSec > 0) || !(spec.burst >= 1)) throw new RangeError(`TokenBuckets: rate ${spec.ratePerSec}/s and burst ${spec.burst} must be positive`);
    this._ratePerMs = spec.ratePerSec / 1000;
  }

  get size(): number {
    return this._map.size;
  }

  /** Take `n` tokens for `key` at `nowMs`, or say how long until they would be there. */
  take(key: string, nowMs: number, n = 1): Take {
    let b = this._map.get(key);
    if (b) {
      b.tokens = Math.min(this.spec.burst, b.tokens + (nowMs - b.at) * this._ratePerMs);
      b.at = nowMs;
      const sinceMoved = nowMs - b.moved;
      if (!(sinceMoved >= 0 && sinceMoved < MOVE_EVERY_MS)) { // a clock stepped back moves it too
        b.moved = nowMs;
        this._map.delete(key); // re-insert: Map order is recency order
        this._map.set(key, b);
      }
    } else {
      if (this._map.size >= this._maxKeys) this._evict(nowMs);
      b = { tokens: this.spec.burst, at: nowMs, moved: nowMs };
      this._map.set(key, b);
    }
    if (b.tokens >= n) {
      b.tokens -= n;
      return OK;
    }
    return { ok: false, retryAfterMs: Math.ceil((n - b.tokens) / this._ratePerMs) };
  }

  /** Tokens `key` has now (burst when unknown). */
  level(key: string, nowMs: number): number {
    const b = this._map.get(key);
    if (!b) return this.spec.burst;
    return Math.min(this.spec.burst, b.tokens + (nowMs - b.at) * this._ratePerMs);
  }

  private _evict(nowMs: number): void {
    // Drop full (idle) buckets first, scanning from the least recently used; else the oldest one.
    const fullAfterMs = this.spec.burst / this._ratePerMs;
    let scanned = 0;
    for (const [k, b] of this._map) {
      if (nowMs - b.at >= fullAfterMs) this._map.delete(k);
      if (++scanned >= 64) break;
    }
    if (this._map.size >= this._maxKeys) {
      const oldest = this._map.keys().next().value;
      if (oldest !== undefined) this._map.delete(oldest);
    }
  }
}
