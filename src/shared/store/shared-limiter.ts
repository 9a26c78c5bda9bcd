/**
 * Token buckets shared by gate threads (issue 15): a RateLimiter whose buckets live in shared memory, so
 * a client's burst is one burst for the whole process, whichever thread its connections land on.
 * Synchronous, with the same arithmetic as defence/token-bucket.ts (refill at `ratePerSec` up to `burst`,
 * a new bucket starts full, a refused take says when enough tokens will be there).
 *
 * One table per bucket name (Admission's "challenge", "challenge_net", "solution"), each on
 * store/shared-table.ts. Header words 9 the spec lock, 10-11 rate per s and 12-13 burst (Float64) of the
 * spec the table runs under. Slot: 2 key words; 2-3 tokens, 4-5 time of the last take (Float64).
 *
 * Reload: as MemoryRateLimiter, a changed spec restarts the table. Threads reload one after another, so
 * the restart belongs to the first thread that moves to a new spec (it clears the table and records the
 * spec); a thread moving to the spec already recorded does nothing, and a thread that has not reloaded
 * yet keeps using its old spec on the buckets meanwhile.
 *
 * Bounded: at a stripe's limit the table evicts a bucket that has refilled (the same as no bucket) first,
 * else the one idle longest (it comes back full: the leniency TokenBuckets documents).
 * @module
 */
import type { RateLimiter } from "../defence/rate-limiter.ts";
import type { BucketSpec, Take } from "../defence/token-bucket.ts";
import { createTableBuffer, H_KIND_WORDS, SharedTable, SPIN_MS, tableWords } from "./shared-table.ts";
import { StoreUnavailableError } from "./types.ts";

const KIND = 3;
const H_SPEC_LOCK = H_KIND_WORDS, F_RATE = 5, F_BURST = 6; // Float64 indices (words 10-11, 12-13)
const V_TOKENS = 2, V_AT = 4;
const OK: Take = { ok: true };

/** Bucket table names Admission uses. */
export const BUCKET_TABLES = ["challenge", "challenge_net", "solution"] as const;

export class SharedBuckets extends SharedTable {
  private _spec: BucketSpec | null = null;
  private _ratePerMs = 0;
  private _burst = 0;

  static create(o: { maxKeys: number; stripes?: number; hashKey?: Int32Array }): SharedBuckets {
    return new SharedBuckets(tableWords(createTableBuffer(KIND, { entries: o.maxKeys, valueWords: 4, noEvict: false, stripes: o.stripes, hashKey: o.hashKey }), KIND, "SharedBuckets"));
  }

  static attach(buffer: SharedArrayBuffer): SharedBuckets {
    return new SharedBuckets(tableWords(buffer, KIND, "SharedBuckets"));
  }

  /** Take `n` tokens for `key` at `nowMs` under `spec`, or say how long until they would be there. */
  take(key: string, spec: BucketSpec, nowMs: number, n = 1): Take {
    if (spec !== this._spec) this._useSpec(spec);
    const base = this.lockStripe(this.hashKey(key, 0));
    const f = this.f, burst = this._burst, ratePerMs = this._ratePerMs;
    let tokens: number;
    try {
      let s = this.find(base);
      if (s < 0) {
        s = this.insert(base, nowMs);
        if (s < 0) throw new StoreUnavailableError("Shared token buckets: a stripe is full"); // (not reached: buckets may be evicted)
        tokens = burst;
      } else {
        tokens = Math.min(burst, f[(s + V_TOKENS) >> 1]! + (nowMs - f[(s + V_AT) >> 1]!) * ratePerMs);
      }
      f[(s + V_AT) >> 1] = nowMs;
      if (tokens >= n) {
        f[(s + V_TOKENS) >> 1] = tokens - n;
        return OK;
      }
      f[(s + V_TOKENS) >> 1] = tokens;
    } finally {
      this.unlockStripe(base);
    }
    return { ok: false, retryAfterMs: Math.ceil((n - tokens) / ratePerMs) };
  }

  /** Tokens `key` has now under the table's spec (burst when unknown). */
  level(key: string, nowMs: number): number {
    const base = this.lockStripe(this.hashKey(key, 0));
    try {
      const s = this.find(base);
      if (s < 0) return this._burst;
      return Math.min(this._burst, this.f[(s + V_TOKENS) >> 1]! + (nowMs - this.f[(s + V_AT) >> 1]!) * this._ratePerMs);
    } finally {
      this.unlockStripe(base);
    }
  }

  /** The spec the table runs under (the last one a thread moved it to), or null before the first take. */
  get tableSpec(): BucketSpec | null {
    const burst = this.f[F_BURST]!;
    return burst > 0 ? { ratePerSec: this.f[F_RATE]!, burst } : null;
  }

  private _useSpec(spec: BucketSpec): void {
    if (!(spec.ratePerSec > 0) || !(spec.burst >= 1)) throw new RangeError(`SharedBuckets: rate ${spec.ratePerSec}/s and burst ${spec.burst} must be positive`);
    const changed = this._spec === null || spec.ratePerSec !== this._spec.ratePerSec || spec.burst !== this._spec.burst;
    this._spec = spec;
    this._ratePerMs = spec.ratePerSec / 1000;
    this._burst = spec.burst;
    if (!changed) return;
    // This thread moved to a new spec: restart the table unless another thread already did for this spec.
    const w = this.w, f = this.f;
    const t0 = performance.now();
    while (Atomics.compareExchange(w, H_SPEC_LOCK, 0, this.owner) !== 0) {
      if (performance.now() - t0 > 20 * SPIN_MS) throw new StoreUnavailableError("Shared token buckets: the spec lock stayed held");
    }
    try {
      if (f[F_RATE] !== spec.ratePerSec || f[F_BURST] !== spec.burst) {
        if (f[F_BURST]! > 0) this.clear();
        f[F_RATE] = spec.ratePerSec;
        f[F_BURST] = spec.burst;
      }
    } finally {
      Atomics.store(w, H_SPEC_LOCK, 0);
    }
  }

  protected override evictScore(s: number, nowMs: number): number {
    const idle = nowMs - this.f[(s + V_AT) >> 1]!;
    if (idle * this._ratePerMs >= this._burst) return Infinity; // refilled: the same as no bucket
    return Math.max(0, idle);
  }
}

/** Transferable buffers of a SharedRateLimiter, by table name. */
export type SharedLimiterBuffers = Record<string, SharedArrayBuffer>;

export class SharedRateLimiter implements RateLimiter {
  readonly name = "shared-memory";
  private readonly _tables: Map<string, SharedBuckets>;

  private constructor(tables: Map<string, SharedBuckets>) {
    this._tables = tables;
  }

  /** One table per name (default Admission's three), each bounded by `maxKeys`. */
  static create(o: { maxKeys: number; tables?: readonly string[]; stripes?: number; hashKey?: Int32Array }): SharedRateLimiter {
    return new SharedRateLimiter(new Map((o.tables ?? BUCKET_TABLES).map((name) => [name, SharedBuckets.create(o)])));
  }

  static attach(buffers: SharedLimiterBuffers): SharedRateLimiter {
    return new SharedRateLimiter(new Map(Object.entries(buffers).map(([name, b]) => [name, SharedBuckets.attach(b)])));
  }

  buffers(): SharedLimiterBuffers {
    return Object.fromEntries([...this._tables].map(([name, t]) => [name, t.buffer]));
  }

  /** Every bucket table, in name order of creation. */
  tables(): SharedBuckets[] {
    return [...this._tables.values()];
  }

  table(name: string): SharedBuckets {
    const t = this._tables.get(name);
    if (!t) throw new TypeError(`SharedRateLimiter: no bucket table "${name}" (has ${[...this._tables.keys()].join(", ")})`);
    return t;
  }

  take(table: string, key: string, spec: BucketSpec, nowMs: number, n = 1): Take {
    return this.table(table).take(key, spec, nowMs, n);
  }
}
