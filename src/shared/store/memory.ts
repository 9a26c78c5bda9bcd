/**
 * In-memory spent set, bucketed by expiry time. A key always falls in the bucket of its own expiry,
 * so a lookup touches one bucket, and a whole bucket is dropped once its newest expiry has passed.
 * Memory is bounded by `maxEntries`: when full, new proofs are refused (BUSY) instead of evicting
 * older entries, because an evict-oldest policy lets a flood flush entries and reopen replays.
 *
 * Restarts: the set dies with the process, so a proof redeemed just before a restart (or a crash) would
 * be fresh to the next process. With `fenceMs` (wisdom serve passes its start time) a proof whose
 * challenge was issued before the fence is refused with ChallengeFencedError (the client is told
 * EXPIRED and asks for a fresh challenge): every challenge this process issues is at or after it, and
 * `iat` is signed. A wall clock stepped back after the start would put this process's own new
 * challenges before the fence; issued() lowers the fence to the earliest issue time this process has
 * signed, so they stay valid (docs/OPERATIONS.md, "Restarts and replay").
 * @module
 */
import { ChallengeFencedError, type SpentStore, StoreUnavailableError } from "./types.ts";

export interface MemoryStoreOptions {
  /** Width of one expiry bucket in ms (default 1000). */
  readonly bucketMs?: number;
  /** Most entries held at once (default 2,000,000; about 100 bytes each). */
  readonly maxEntries?: number;
  /** Refuse proofs of challenges issued before this time, ms (default: no fence). */
  readonly fenceMs?: number;
}

export class MemorySpentStore implements SpentStore {
  readonly name = "memory";
  private readonly _bucketMs: number;
  private readonly _max: number;
  private readonly _buckets = new Map<number, Set<string>>();
  private _size = 0;
  private _swept = -Infinity;
  private _fence: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this._bucketMs = opts.bucketMs ?? 1000;
    this._max = opts.maxEntries ?? 2_000_000;
    this._fence = opts.fenceMs ?? -Infinity;
    if (!(this._bucketMs >= 1)) throw new RangeError(`MemorySpentStore: bucketMs ${this._bucketMs} must be >= 1`);
    if (!(this._max >= 1)) throw new RangeError(`MemorySpentStore: maxEntries ${this._max} must be >= 1`);
  }

  /** Proofs of challenges issued before this time (ms) are refused; -Infinity: none. */
  get fenceMs(): number {
    return this._fence;
  }

  issued(iatMs: number): void {
    if (iatMs < this._fence) this._fence = iatMs;
  }

  markSpent(key: string, expiresAtMs: number, nowMs: number, issuedAtMs = Infinity): boolean {
    if (issuedAtMs < this._fence) {
      throw new ChallengeFencedError(this._fence, `Challenge was issued before this server started (${new Date(this._fence).toISOString()}): a proof of it may have been redeemed by the previous process; ask for a fresh one`);
    }
    if (nowMs - this._swept >= this._bucketMs) this.sweep(nowMs);
    const id = Math.ceil(expiresAtMs / this._bucketMs);
    let bucket = this._buckets.get(id);
    if (bucket?.has(key)) return false;
    if (this._size >= this._max) {
      throw new StoreUnavailableError(`Spent set is full (${this._max} entries); refusing new proofs until entries expire`);
    }
    if (!bucket) {
      bucket = new Set();
      this._buckets.set(id, bucket);
    }
    bucket.add(key);
    this._size++;
    return true;
  }

  /** Drop every bucket whose entries have all expired by `nowMs`. */
  sweep(nowMs: number): void {
    this._swept = nowMs;
    for (const [id, bucket] of this._buckets) {
      if (id * this._bucketMs <= nowMs) {
        this._size -= bucket.size;
        this._buckets.delete(id);
      }
    }
  }

  size(): number {
    return this._size;
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this._buckets.clear();
    this._size = 0;
  }
}
