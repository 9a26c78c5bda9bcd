/**
 * A bounded keyed table in a SharedArrayBuffer for gate threads of one process (issue 15): the base of the
 * shared connection counts, outstanding-challenge counts, token buckets and escalation counts
 * (shared-conns.ts, shared-outstanding.ts, shared-limiter.ts, shared-escalation.ts).
 *
 * Keys. A client key (an address, a network key) is hashed to 64 bits with HalfSipHash-1-3 under a random
 * 64-bit key drawn when the table (or its bundle, shared-admission.ts) is created and kept in its header,
 * so every thread hashes alike and a client cannot aim at collisions or at one stripe without that key;
 * a thread memoizes its last two hashes, so one connection hashes its address once for all the tables.
 * Only the 64-bit hash is stored, and
 * equal hashes are taken as equal keys: two client keys that collide share one entry (one count, one
 * bucket). For n live keys that happens with probability about n^2 / 2^65 (1e-10 at 100,000 keys), and
 * costs at most an early refusal or a shared bucket for those two clients.
 *
 * Stripes. The table is `stripes` independent open-addressing tables (linear probing), each behind its
 * own spin lock; a key's stripe comes from its first hash word (multiply-shift: any stripe count), its
 * home slot from the second, modulo the stripe's capacity. A stripe uses a prefix of its slots: its
 * capacity starts at MIN_CAPACITY and doubles (a rehash of that prefix, under the lock) before an insert
 * would fill it past 3/4, up to all its slots. So the pages a table makes resident follow the entries it
 * holds (about 2-3 slots an entry), not its size: spread over every slot, 1,000 addresses touched 1,000
 * pages of each table (5 to 8 MB for the admission bundle), and an attack from a few thousand addresses
 * made all of the default bundle's 28 MB resident in every `serve --threads` process. (A thread that
 * dies inside a growth leaves its stripe without the entries it had not placed back: they are forgotten,
 * as if evicted; for connection counts that is a cap lenient for those addresses until they reconnect.)
 * A critical
 * section is a probe plus a few loads and stores (no allocation, no call out), so a lock is held for well
 * under a microsecond; a thread that finds it taken spins briefly (test-and-test-and-set on Atomics.load),
 * then sleeps on the lock word (Atomics.wait; the unlock wakes one sleeper), and gives up after SPIN_MS
 * with StoreUnavailableError rather than hang (a thread descheduled that long, or killed inside).
 * A lock word holds its holder's owner id (each create/attach gets its own), so a supervisor can free the
 * locks of a thread that died (releaseHeldBy). Removal is backward-shift deletion, so tables never fill
 * with tombstones. Each stripe header sits on its own 64-byte line (no false sharing between stripes).
 *
 * Layout (Int32 words; Float64 fields are read through a Float64Array over the same buffer):
 *   header, 32 words: 0 magic, 1 kind, 2 stripes, 3 slots per stripe, 4 words per slot, 5 stripe limit
 *     (entries a stripe holds at most), 6-7 hash key, 8 next owner id, 9-15 kind-specific, 16-31 one
 *     cache line of kind-specific shared words (shared-conns.ts keeps the global open count at 16).
 *   stripe s at 32 + s * (16 + slots * slotWords): 0 lock (0 free, else holder's owner id), 1 entries,
 *     2 threads sleeping on the lock, 3 capacity in use (a power of two; 0 = MIN_CAPACITY), 4-15
 *     padding; then its slots.
 *   slot, `slotWords` (even) words: 0-1 the key's hash (0, 0 = empty), 2.. the kind's value fields
 *     (Float64 fields at even offsets).
 *
 * Bounds: a stripe holds at most `limit` entries (at most ~3/4 of its slots, so probes stay short). What
 * happens at the limit is the kind's policy: a subclass either evicts (evictScore) or refuses the insert.
 * @module
 */
import { zeroedSharedBuffer } from "../runtime/shared-buffer.ts";
import { halfSipHash64 } from "./halfsiphash.ts";
import { StoreUnavailableError } from "./types.ts";

export const HEADER_WORDS = 32;
export const STRIPE_HEADER_WORDS = 16;
/** First word of the kind-specific cache line of the header. */
export const H_SHARED = 16;
const MAGIC = 0x57535442; // "WSTB"
const H_MAGIC = 0, H_KIND = 1, H_STRIPES = 2, H_SLOTS = 3, H_SLOT_WORDS = 4, H_LIMIT = 5, H_K0 = 6, H_K1 = 7, H_OWNER = 8;
/** First kind-specific header word (9..15). */
export const H_KIND_WORDS = 9;

/** Longest a thread waits for a stripe lock, ms (then StoreUnavailableError). */
export const SPIN_MS = 250;
/** Tries before a thread waiting for a lock sleeps. */
const SPINS = 128;
/** Stripe header word: threads sleeping on its lock. */
const S_WAITERS = 2;
/** Stripe header word: the slots in use, a power of two (0: MIN_CAPACITY; never written at creation, so a new table's pages stay untouched). */
const S_CAPACITY = 3;
/** A stripe's first capacity, slots. */
const MIN_CAPACITY = 16;
/** Atomics.wait is refused on some main threads (browsers'); there a waiting thread spins. */
const CAN_WAIT = (() => {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();
/** Entries an eviction looks at (as TokenBuckets scans 64 from its oldest end). */
const EVICT_SCAN = 64;

export interface TableGeometry {
  /** Entries the table should hold in all (spread over the stripes). */
  readonly entries: number;
  /** Value words per slot after the 2 key words (rounded up to even). */
  readonly valueWords: number;
  /**
   * true: size each stripe so that it cannot fill by chance (for tables that never evict): its limit is
   * the mean share plus 8 standard deviations. false: the mean share plus 1/8 (evicting tables).
   */
  readonly noEvict: boolean;
  /** Stripes (default: the fewest of 1,024 slots each that hold `entries`). */
  readonly stripes?: number;
  /**
   * The 64-bit hash key (default: a fresh random one). Tables of one bundle share theirs, so a thread
   * hashes a client key once for all of them (hashKey's memo).
   */
  readonly hashKey?: Int32Array;
}

/**
 * Stripes unless the caller picks them or the table needs more: 64. Enough that threads rarely meet on
 * one lock (a critical section is well under a microsecond), and few enough that an almost empty table
 * touches few pages: each stripe in use makes at least its first page resident.
 */
const STRIPES = 64;
/** Most slots a stripe may have (a growth rehashes at most half of them under the lock: 2,048 slots, about 20 us). */
const MAX_STRIPE_SLOTS = 4096;

/** The stripe limit for `mean` entries a stripe (see TableGeometry.noEvict). */
function stripeLimit(mean: number, noEvict: boolean): number {
  return Math.ceil(noEvict ? mean + 8 * Math.sqrt(mean) + 8 : mean * 1.125 + 4);
}

/**
 * A fresh buffer for a table of `kind` with this geometry, header filled in and a random hash key. Its
 * pages are committed as entries land on them (a SharedArrayBuffer starts zeroed): a first touch costs a
 * page fault (tens of microseconds on a busy VM, once per 4 KiB page), and an idle or lightly used
 * table costs no resident memory. Writing every page here instead made the default admission tables
 * resident at start: about 33 MB more RSS for every `serve --threads` process, used or not.
 */
export function createTableBuffer(kind: number, g: TableGeometry): SharedArrayBuffer {
  if (!(g.entries >= 1) || !Number.isFinite(g.entries)) throw new RangeError(`Shared table: entries ${g.entries} must be a positive number`);
  let stripes = g.stripes ?? 0;
  if (stripes === 0) {
    // STRIPES, or more where a stripe's limit would pass 3/4 of MAX_STRIPE_SLOTS.
    stripes = STRIPES;
    while (stripeLimit(g.entries / stripes, g.noEvict) > MAX_STRIPE_SLOTS * 0.75) stripes++;
  }
  if (!Number.isInteger(stripes) || stripes < 1 || stripes > 1 << 20) throw new RangeError(`Shared table: stripes ${stripes} must be an integer in 1..2^20`);
  const limit = stripeLimit(g.entries / stripes, g.noEvict);
  const slots = Math.max(16, pow2(Math.ceil(limit * 4 / 3)));
  const slotWords = 2 + g.valueWords + (g.valueWords & 1);
  const words = HEADER_WORDS + stripes * (STRIPE_HEADER_WORDS + slots * slotWords);
  const w = new Int32Array(zeroedSharedBuffer(words * 4));
  const seed = g.hashKey ?? crypto.getRandomValues(new Int32Array(2));
  w[H_KIND] = kind; w[H_STRIPES] = stripes; w[H_SLOTS] = slots; w[H_SLOT_WORDS] = slotWords; w[H_LIMIT] = limit;
  w[H_K0] = seed[0]!; w[H_K1] = seed[1]!; w[H_OWNER] = 1;
  Atomics.store(w, H_MAGIC, MAGIC);
  return w.buffer as SharedArrayBuffer;
}

/** Checks that `buffer` holds a table of `kind`; returns its words. */
export function tableWords(buffer: SharedArrayBuffer, kind: number, what: string): Int32Array {
  // whole 8-byte words: the Float64Array view over it must cover it (a view over a growable buffer would not check)
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_WORDS * 4 || buffer.byteLength % 8 !== 0) throw new TypeError(`${what}.attach: not a SharedArrayBuffer`);
  const w = new Int32Array(buffer);
  if (Atomics.load(w, H_MAGIC) !== MAGIC || w[H_KIND] !== kind) throw new TypeError(`${what}.attach: not a shared ${what} table`);
  return w;
}

/**
 * One thread's view of a shared table. Subclasses implement the kind's operations with lockStripe /
 * find / insert / remove, all between one lockStripe and its unlockStripe.
 */
export abstract class SharedTable {
  protected readonly w: Int32Array;
  protected readonly f: Float64Array;
  /** This view's owner id (in its lock words). */
  readonly owner: number;
  protected readonly stripes: number;
  protected readonly slots: number;
  protected readonly slotWords: number;
  protected readonly limit: number;
  private readonly _k0: number;
  private readonly _k1: number;
  private readonly _stripeWords: number;
  /** The last hash (hashKey's output): [stripe's word, home slot's word]. */
  protected readonly h = new Int32Array(2);
  /** A stripe's entries while it grows (made on the first growth). */
  private _scratch: Int32Array | null = null;
  /** Whether the last insert() grew its stripe (which moves that stripe's entries: slot words found before are stale). */
  protected grew = false;

  protected constructor(w: Int32Array) {
    this.w = w;
    this.f = new Float64Array(w.buffer);
    this.stripes = w[H_STRIPES]!; this.slots = w[H_SLOTS]!; this.slotWords = w[H_SLOT_WORDS]!; this.limit = w[H_LIMIT]!;
    this._k0 = w[H_K0]!; this._k1 = w[H_K1]!;
    this._stripeWords = STRIPE_HEADER_WORDS + this.slots * this.slotWords;
    this.owner = Atomics.add(w, H_OWNER, 1);
  }

  get buffer(): SharedArrayBuffer {
    return this.w.buffer as SharedArrayBuffer;
  }

  /** Entries held now (a snapshot while other threads write). */
  size(): number {
    let n = 0;
    for (let s = 0; s < this.stripes; s++) n += Atomics.load(this.w, this.stripeBase(s) + 1);
    return n;
  }

  /** Slots the stripes use now (their capacities summed): what the entries can have made resident, at most. */
  slotsInUse(): number {
    let n = 0;
    for (let s = 0; s < this.stripes; s++) n += Atomics.load(this.w, this.stripeBase(s) + S_CAPACITY) || Math.min(MIN_CAPACITY, this.slots);
    return n;
  }

  /** Slots the table has (stripes x slots a stripe). */
  get totalSlots(): number {
    return this.stripes * this.slots;
  }

  /** Most entries the table can hold (stripes x stripe limit). */
  get capacity(): number {
    return this.stripes * this.limit;
  }

  /**
   * Hash `key` (with `tag` mixed into the hash key, so one table can hold several key spaces) into
   * this.h (never 0, 0); returns its stripe.
   */
  protected hashKey(key: string, tag: number): number {
    const h = this.h, k1 = this._k1 ^ tag;
    // A connection asks several tables about one address in a row: a two-entry memo per thread.
    if (key === _memoKey0 && this._k0 === _memoK0[0] && k1 === _memoK1[0]) {
      h[0] = _memoH[0]!; h[1] = _memoH[1]!;
    } else if (key === _memoKey1 && this._k0 === _memoK0[1] && k1 === _memoK1[1]) {
      h[0] = _memoH[2]!; h[1] = _memoH[3]!;
    } else {
      halfSipHash64(key, this._k0, k1, h);
      if (h[0] === 0 && h[1] === 0) h[1] = 1;
      _memoKey1 = _memoKey0; _memoK0[1] = _memoK0[0]!; _memoK1[1] = _memoK1[0]!; _memoH[2] = _memoH[0]!; _memoH[3] = _memoH[1]!;
      _memoKey0 = key; _memoK0[0] = this._k0; _memoK1[0] = k1; _memoH[0] = h[0]!; _memoH[1] = h[1]!;
    }
    return Math.floor((h[0]! >>> 0) * this.stripes / 4294967296); // exact: the product is below 2^53
  }

  protected stripeBase(stripe: number): number {
    return HEADER_WORDS + stripe * this._stripeWords;
  }

  /** Take stripe `stripe`'s lock; returns its base word. Throws StoreUnavailableError after SPIN_MS. */
  protected lockStripe(stripe: number): number {
    const base = HEADER_WORDS + stripe * this._stripeWords;
    if (Atomics.compareExchange(this.w, base, 0, this.owner) === 0) return base;
    return this._lockSlow(base);
  }

  /**
   * The lock is taken: spin a little (the holder is usually running, on another core), then sleep on
   * the lock word (Atomics.wait, woken by the unlock or after 1 ms): with more threads than free cores
   * the holder may be descheduled, and spinning would only keep it off the core it needs.
   */
  private _lockSlow(base: number): number {
    const w = this.w;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.load(w, base) === 0 && Atomics.compareExchange(w, base, 0, this.owner) === 0) return base;
    }
    Atomics.add(w, base + S_WAITERS, 1);
    try {
      const deadline = performance.now() + SPIN_MS;
      for (;;) {
        const v = Atomics.load(w, base);
        if (v === 0) {
          if (Atomics.compareExchange(w, base, 0, this.owner) === 0) return base;
          continue;
        }
        if (performance.now() > deadline) throw new StoreUnavailableError(`Shared table: a stripe lock stayed held over ${SPIN_MS} ms (by owner ${v}: a thread stalled or died inside?)`);
        if (CAN_WAIT) Atomics.wait(w, base, v, 1);
      }
    } finally {
      Atomics.sub(w, base + S_WAITERS, 1);
    }
  }

  protected unlockStripe(base: number): void {
    Atomics.store(this.w, base, 0);
    if (Atomics.load(this.w, base + S_WAITERS) !== 0) Atomics.notify(this.w, base, 1);
  }

  /**
   * Free every stripe lock held by `owner` (a thread that died inside a critical section, as its
   * supervisor knows). The entries it was changing keep whatever it wrote last.
   */
  releaseHeldBy(owner: number): number {
    let n = 0;
    for (let s = 0; s < this.stripes; s++) if (Atomics.compareExchange(this.w, this.stripeBase(s), owner, 0) === owner) n++;
    return n;
  }

  /** The capacity in use of the locked stripe at `base`, slots (a power of two). */
  private _capacity(base: number): number {
    return this.w[base + S_CAPACITY] || Math.min(MIN_CAPACITY, this.slots);
  }

  /** The slot word of the key in this.h in the locked stripe at `base`, or -1. */
  protected find(base: number): number {
    const w = this.w, h0 = this.h[0]!, h1 = this.h[1]!, sw = this.slotWords, cap = this._capacity(base), mask = cap - 1;
    const first = base + STRIPE_HEADER_WORDS;
    for (let i = (h1 >>> 0) & mask, n = 0; n < cap; n++, i = (i + 1) & mask) {
      const s = first + i * sw;
      const a = w[s]!, b = w[s + 1]!;
      if (a === h0 && b === h1) return s;
      if (a === 0 && b === 0) return -1;
    }
    return -1;
  }

  /**
   * Insert the key in this.h (known absent) into the locked stripe at `base`, value words zeroed; returns
   * its slot word, or -1 when the stripe is at its limit and nothing may be evicted (evictScore).
   */
  protected insert(base: number, nowMs: number): number {
    const w = this.w;
    this.grew = false;
    if (w[base + 1]! >= this.limit && !this._evict(base, nowMs)) return -1;
    let cap = this._capacity(base);
    this.grew = (w[base + 1]! + 1) * 4 > cap * 3 && cap < this.slots;
    if (this.grew) cap = this._grow(base, cap);
    const s = this._place(base, cap - 1, this.h[0]!, this.h[1]!);
    w.fill(0, s + 2, s + this.slotWords);
    w[base + 1] = w[base + 1]! + 1;
    return s;
  }

  /** Put a key's two hash words in the first free slot from its home in the locked stripe at `base`; returns the slot word (an empty slot must exist). */
  private _place(base: number, mask: number, h0: number, h1: number): number {
    const w = this.w, sw = this.slotWords, first = base + STRIPE_HEADER_WORDS;
    for (let i = (h1 >>> 0) & mask; ; i = (i + 1) & mask) {
      const s = first + i * sw;
      if (w[s] === 0 && w[s + 1] === 0) {
        w[s] = h0; w[s + 1] = h1;
        return s;
      }
    }
  }

  /**
   * Double the capacity of the locked stripe at `base` from `cap`: its entries are copied out, its first
   * `cap` slots cleared, and each entry placed again from its home under the new mask. Returns the new
   * capacity. At most log2(slots / MIN_CAPACITY) times a stripe, each O(cap) under the lock (1,024 slots
   * of 16 words: about 10 us).
   */
  private _grow(base: number, cap: number): number {
    const w = this.w, sw = this.slotWords, first = base + STRIPE_HEADER_WORDS, next = cap * 2;
    const scratch = (this._scratch ??= new Int32Array((this.slots / 2) * sw));
    scratch.set(w.subarray(first, first + cap * sw));
    w.fill(0, first, first + cap * sw);
    w[base + S_CAPACITY] = next;
    for (let o = 0, end = cap * sw; o < end; o += sw) {
      if (scratch[o] === 0 && scratch[o + 1] === 0) continue;
      const s = this._place(base, next - 1, scratch[o]!, scratch[o + 1]!);
      for (let k = 2; k < sw; k++) w[s + k] = scratch[o + k]!;
    }
    return next;
  }

  /** Remove the entry at slot word `s` of the locked stripe at `base` (backward-shift deletion). */
  protected remove(base: number, s: number): void {
    const w = this.w, sw = this.slotWords, mask = this._capacity(base) - 1;
    const first = base + STRIPE_HEADER_WORDS;
    let hole = (s - first) / sw;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const js = first + j * sw;
      if (w[js] === 0 && w[js + 1] === 0) break;
      const home = (w[js + 1]! >>> 0) & mask;
      // The entry at j may move back into the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        w.copyWithin(first + hole * sw, js, js + sw);
        hole = j;
      }
    }
    const hs = first + hole * sw;
    w.fill(0, hs, hs + sw);
    w[base + 1] = w[base + 1]! - 1;
  }

  /**
   * How willing the table is to drop the entry at slot word `s` when its stripe is full: higher first;
   * a negative score never. Default: never (a table that refuses instead).
   */
  protected evictScore(_s: number, _nowMs: number): number {
    return -1;
  }

  /**
   * Drop the most evictable of up to EVICT_SCAN entries of the locked stripe at `base`, scanned from the
   * home slot of the key in this.h (a random place: the hash key is secret); false if none may go.
   */
  private _evict(base: number, nowMs: number): boolean {
    const first = base + STRIPE_HEADER_WORDS, sw = this.slotWords, w = this.w, cap = this._capacity(base), mask = cap - 1;
    let best = -1, bestScore = -1;
    for (let i = (this.h[1]! >>> 0) & mask, n = 0, seen = 0; n < cap && seen < EVICT_SCAN; n++, i = (i + 1) & mask) {
      const s = first + i * sw;
      if (w[s] === 0 && w[s + 1] === 0) continue;
      seen++;
      const sc = this.evictScore(s, nowMs);
      if (sc > bestScore) {
        bestScore = sc;
        best = s;
        if (sc === Infinity) break;
      }
    }
    if (best < 0) return false;
    this.remove(base, best);
    return true;
  }

  /** Empty every stripe (each under its lock), back to its first capacity; only the slots in use are written. */
  protected clear(): void {
    for (let st = 0; st < this.stripes; st++) {
      const base = this.lockStripe(st);
      const used = this._capacity(base);
      if (this.w[base + 1] !== 0 || this.w[base + S_CAPACITY] !== 0) {
        this.w.fill(0, base + STRIPE_HEADER_WORDS, base + STRIPE_HEADER_WORDS + used * this.slotWords);
        this.w[base + 1] = 0;
        this.w[base + S_CAPACITY] = 0;
      }
      this.unlockStripe(base);
    }
  }
}

/** hashKey's memo (module state is per thread: each Worker has its own module instance). */
let _memoKey0: string | null = null, _memoKey1: string | null = null;
const _memoK0 = new Int32Array(2), _memoK1 = new Int32Array(2), _memoH = new Int32Array(4);

function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
