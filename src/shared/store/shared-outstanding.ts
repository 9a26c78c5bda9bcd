/**
 * Outstanding-challenge counts per address shared by gate threads (issue 15): challenges issued to an
 * address and neither redeemed nor expired, under a cap that holds across threads (tryAdd checks and
 * records in one critical section).
 *
 * Admission (one thread) keeps each challenge's issue time. Here an address keeps counts in 8 time buckets
 * of width ttl/7 (a ring indexed by bucket number): a challenge issued in bucket k counts until
 * (k+1)*width + ttl, that is between ttl and ttl + ttl/7 after it was issued. Rounding only ever makes a
 * challenge count longer, so the cap is never exceeded; a client may be refused up to ttl/7 early, and
 * the retry-after it is given says when its oldest bucket expires. Settling (a redeemed challenge) takes
 * from the oldest bucket, as Admission drops the oldest time.
 *
 * On store/shared-table.ts. Slot: 2 key words; 2-3 head bucket number (Float64); 4-5 bucket width ms
 * (Float64); 6-13 the 8 counts (Int32, bucket k at 6 + (k & 7)); 14-15 time of the last add (Float64): 64
 * bytes a slot. An entry with no live challenge is no
 * entry. At a stripe's limit the table evicts: an address whose challenges have all expired first, else
 * the one idle longest (its challenges stop counting: the bounded leniency Admission's maxKeys has too).
 * A changed ttl (reload) moves an address's live count into its newest bucket at the next touch.
 * @module
 */
import { createTableBuffer, SharedTable, tableWords } from "./shared-table.ts";

const KIND = 2;
const TAG = 0; // as the other tables, so an address is hashed once for all of them
const RING = 8;
const V_HEAD = 2, V_WIDTH = 4, V_COUNTS = 6, V_TOUCH = 14;

export class SharedOutstanding extends SharedTable {
  /** `maxKeys`: addresses tracked at most (beyond it the idlest is forgotten). */
  static create(o: { maxKeys: number; stripes?: number; hashKey?: Int32Array }): SharedOutstanding {
    return new SharedOutstanding(tableWords(createTableBuffer(KIND, { entries: o.maxKeys, valueWords: 14, noEvict: false, stripes: o.stripes, hashKey: o.hashKey }), KIND, "SharedOutstanding"));
  }

  static attach(buffer: SharedArrayBuffer): SharedOutstanding {
    return new SharedOutstanding(tableWords(buffer, KIND, "SharedOutstanding"));
  }

  /**
   * Record one challenge for `addr` at `nowMs` if it has fewer than `cap` outstanding: returns 0 when
   * recorded, else the ms until its oldest one expires (>= 1).
   */
  tryAdd(addr: string, nowMs: number, cap: number, ttlMs: number): number {
    const base = this.lockStripe(this.hashKey(addr, TAG));
    try {
      let s = this.find(base);
      if (s < 0) s = this.insert(base, nowMs);
      if (s < 0) return 1000; // (not reached: every entry may be evicted)
      const width = ttlMs / (RING - 1);
      const head = this._advance(s, nowMs, width);
      const w = this.w;
      let total = 0;
      for (let i = 0; i < RING; i++) total += w[s + V_COUNTS + i]!;
      if (total >= cap) {
        for (let k = head - RING + 1; k <= head; k++) {
          if (w[s + V_COUNTS + (k & (RING - 1))]! > 0) return Math.max(1, Math.ceil((k + 1) * width + ttlMs - nowMs));
        }
        return 1;
      }
      const c = s + V_COUNTS + (head & (RING - 1));
      w[c] = w[c]! + 1;
      this.f[(s + V_TOUCH) >> 1] = nowMs;
      return 0;
    } finally {
      this.unlockStripe(base);
    }
  }

  /** Take back the newest challenge recorded for `addr` (tryAdd's record, when the challenge was not issued after all). */
  undo(addr: string): void {
    this._drop(addr, 1, -1);
  }

  /** `count` challenges of `addr` were redeemed or abandoned: its oldest ones stop counting. */
  settle(addr: string, count = 1): void {
    this._drop(addr, count, 1);
  }

  /** Challenges of `addr` outstanding at `nowMs`. */
  count(addr: string, nowMs: number, ttlMs: number): number {
    const base = this.lockStripe(this.hashKey(addr, TAG));
    try {
      const s = this.find(base);
      if (s < 0) return 0;
      this._advance(s, nowMs, ttlMs / (RING - 1));
      let total = 0;
      for (let i = 0; i < RING; i++) total += this.w[s + V_COUNTS + i]!;
      if (total === 0) this.remove(base, s);
      return total;
    } finally {
      this.unlockStripe(base);
    }
  }

  /** Move slot `s`'s head to the bucket of `nowMs` (never back), clearing expired buckets; returns the head. */
  private _advance(s: number, nowMs: number, width: number): number {
    const w = this.w, f = this.f;
    const cur = Math.floor(nowMs / width);
    if (f[(s + V_WIDTH) >> 1] !== width) {
      // new entry (width 0), or the ttl changed: keep the live count, as if issued now
      let total = 0;
      for (let i = 0; i < RING; i++) total += w[s + V_COUNTS + i]!;
      w.fill(0, s + V_COUNTS, s + V_COUNTS + RING);
      w[s + V_COUNTS + (cur & (RING - 1))] = total;
      f[(s + V_HEAD) >> 1] = cur;
      f[(s + V_WIDTH) >> 1] = width;
      return cur;
    }
    const head = f[(s + V_HEAD) >> 1]!;
    if (cur <= head) return head;
    if (cur - head >= RING) w.fill(0, s + V_COUNTS, s + V_COUNTS + RING);
    else for (let k = head + 1; k <= cur; k++) w[s + V_COUNTS + (k & (RING - 1))] = 0;
    f[(s + V_HEAD) >> 1] = cur;
    return cur;
  }

  /** Take `count` from the buckets of `addr`, oldest first (dir 1) or newest first (-1); drop the entry when none is left. */
  private _drop(addr: string, count: number, dir: 1 | -1): void {
    const base = this.lockStripe(this.hashKey(addr, TAG));
    try {
      const s = this.find(base);
      if (s < 0) return;
      const w = this.w, head = this.f[(s + V_HEAD) >> 1]!;
      let left = 0;
      for (let i = 0; i < RING; i++) {
        const c = s + V_COUNTS + ((dir > 0 ? head - RING + 1 + i : head - i) & (RING - 1));
        const take = Math.min(count, w[c]!);
        w[c] = w[c]! - take;
        count -= take;
        left += w[c]!;
      }
      if (left === 0) this.remove(base, s);
    } finally {
      this.unlockStripe(base);
    }
  }

  protected override evictScore(s: number, nowMs: number): number {
    const head = this.f[(s + V_HEAD) >> 1]!, width = this.f[(s + V_WIDTH) >> 1]!;
    const newestExpires = (head + 1) * width + (RING - 1) * width;
    if (newestExpires <= nowMs) return Infinity;
    return Math.max(0, nowMs - this.f[(s + V_TOUCH) >> 1]!);
  }
}
