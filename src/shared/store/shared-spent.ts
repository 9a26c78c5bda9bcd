/**
 * A spent set in shared memory (SharedArrayBuffer + Atomics) for gate threads of one process (issue 15):
 * a proof redeemed on one thread is refused on every other, with no lock on the hot path, and resident
 * memory in proportion to the keys it holds (the buffer is committed page by page as it is written).
 *
 * Generations. Keys live in generation tables by their expiry, as in memory.ts: generation g holds keys
 * with expiry in ((g-1)W, gW]. A key's expiry is signed into its challenge, so one key always maps to one
 * generation, and a generation is only ever inserted into, never deleted from. `tables` tables are reused
 * round-robin; a table is reclaimed for a new generation only once its old generation has expired, after
 * waiting for threads still inside it (each thread counts itself in on its own lane, below).
 *
 * A table: a directory of bucket heads, then an entry area handed out in allocation order. An entry is
 * 5 Int32 words, the link to the next entry of its bucket and the 16-byte key. A bucket is an append-only
 * chain: an insert walks it comparing keys, writes its key into a fresh entry, and links the entry to the
 * chain's tail with one compare-and-swap on the tail's link word (0 -> entry). The CAS succeeds only if
 * nothing was appended since the walk saw the tail, so the walk covered every key before it: two threads
 * inserting one key race for the same link and exactly one wins; the loser walks on and finds the key.
 * An entry is written before it is linked (the CAS publishes it), so no reader sees a half-written key,
 * and a thread that dies mid-insert leaves at most an unlinked entry behind (it can still leave its
 * writer count raised: that table then refuses to be reclaimed, below, instead of hanging).
 *
 * Memory. Entries come from a per-table bump pointer in blocks of BLOCK entries per thread, so the pages
 * touched are the directory (fixed: 4 bytes a bucket, see LOAD_AT_FULL) plus the entries handed out. Reclaiming a table zeroes only its
 * directory and bump pointer: the entry area keeps stale keys and links from the old generation, which are
 * unreachable (every entry reachable from the zeroed directory was written, link included, after it).
 *
 * Lanes. Each view (create/attach, one per thread) takes a lane: a cache-line-padded slot holding its own
 * writer count and entry count per table, so the per-insert counters are not one word every thread writes.
 * Views beyond LANES share lanes (still exact: the counters are updated with Atomics).
 *
 * Bounded like memory.ts: each generation holds at most `perGeneration` keys (its share of maxEntries); beyond
 * that new proofs are refused (StoreUnavailableError: the gate answers BUSY) and nothing is evicted. With
 * several threads a generation may refuse up to (threads - 1) * BLOCK keys early (blocks other threads hold).
 *
 * Words of the header (the layout is read from it, so tests may poke it): see the H_ constants.
 * @module
 */
import { zeroedSharedBuffer } from "../runtime/shared-buffer.ts";
import { ChallengeFencedError, type SpentStore, StoreUnavailableError } from "./types.ts";

const MAGIC = 0x57495345; // "WISE": the chained layout (was "WISD", open addressing)
const H_MAGIC = 0, H_TABLES = 1, H_BUCKETS = 2, H_PER_GEN = 3, H_WINDOW = 4, H_BASE = 5, H_BLOCK = 6, H_LANE_NEXT = 7;
const H_LANES_AT = 8, H_LANE_STRIDE = 9, H_TABLES_AT = 10, H_TABLE_STRIDE = 11;
const H_FENCE64 = 8; // index in a BigInt64Array view: words 16-17
const HEADER_WORDS = 32; // 128 bytes: the header's cache lines are read-mostly
const LANES = 64;
/** Per table: generation (word 0), bump pointer (word 16, its own cache line), then the directory at word 32. */
const T_GEN = 0, T_BUMP = 16, T_DIR = 32;
const ENTRY_WORDS = 5;
const MAX_BLOCK = 32;
const NO_GEN = -2, RESETTING = -1;
/**
 * Keys per bucket on average in a full generation, at most. An insert walks its whole chain (every key
 * before it, to refuse a replay), one cache miss an entry. Buckets were perGeneration / 8 and at most 65,536
 * before: a full generation of the default spent_max_entries had chains of 5, and a bench generation
 * of 400,000 keys chains of 6 (bench/shared-tables.ts). The directory costs 4 bytes a bucket, 1 to 2 bytes a key
 * of a full generation here (power-of-two rounding), against 20 a key for the entries: at the default
 * spent_max_entries 512 KB a table (4 MB for the 8), at the largest (100,000,000) 16 MB a table.
 */
const LOAD_AT_FULL = 4;

export interface SharedSpentOptions {
  /** Most entries held at once across all live generations (as spent_max_entries). */
  readonly maxEntries: number;
  /** How far ahead a key can expire, ms: the longest challenge lifetime accepted plus the clock skew allowed. */
  readonly maxTtlMs: number;
  /** Generation tables (default 8; 5 to 64). */
  readonly tables?: number;
  /** Buckets per generation, a power of two (default: the least one with chains of at most 4 keys on average in a full generation). */
  readonly buckets?: number;
  /** Proofs of challenges issued before this time are refused (ms; default none). */
  readonly fenceMs?: number;
  readonly nowMs?: number;
  /**
   * Touch every page of the buffer now (default false): the set's memory is committed at creation
   * instead of on first use, so the first minutes of a flood do not pay a page fault per new page
   * (tens of microseconds each on a VM, and taken by every thread at once: see bench/shared-tables.ts).
   * It makes the whole buffer resident (its size grows with maxEntries), which the chained layout
   * otherwise avoids: for benches, not for serve.
   */
  readonly prefault?: boolean;
}

export class SharedSpentSet implements SpentStore {
  readonly name = "shared-memory";
  private readonly _w: Int32Array;
  private readonly _fence: BigInt64Array;
  private readonly _tables: number;
  private readonly _buckets: number;
  private readonly _perGen: number;
  private readonly _window: number;
  private readonly _base: number;
  private readonly _block: number;
  private readonly _lanesAt: number;
  private readonly _laneStride: number;
  private readonly _lane: number;
  private readonly _tablesAt: number;
  private readonly _tableStride: number;
  /** This view's block of entries per table: for generation _blockGen[t], entries _blockNext[t].._blockEnd[t] - 1. */
  private readonly _blockGen: Int32Array;
  private readonly _blockNext: Int32Array;
  private readonly _blockEnd: Int32Array;
  /** The fence as this view last read it (ms): never below the shared one. */
  private _fenceSeen = Infinity;

  /** A new set; hand `buffer` to other threads, which call SharedSpentSet.attach(buffer). */
  static create(o: SharedSpentOptions): SharedSpentSet {
    const tables = o.tables ?? 8;
    if (!Number.isInteger(tables) || tables < 5 || tables > 64) throw new RangeError(`SharedSpentSet: tables ${tables} must be an integer in 5..64`);
    if (!(o.maxEntries >= 1) || !(o.maxTtlMs >= 1)) throw new RangeError("SharedSpentSet: maxEntries and maxTtlMs must be positive");
    // A key expires at most maxTtlMs ahead, so it falls at most maxTtlMs / W + 2 generations after the
    // oldest live one; with W = maxTtlMs / (tables - 4) that leaves a table free to reclaim.
    const window = Math.ceil(o.maxTtlMs / (tables - 4));
    const live = Math.ceil(o.maxTtlMs / window) + 2;
    const perGen = Math.max(16, Math.ceil(o.maxEntries / live));
    let buckets = o.buckets ?? 16;
    if (o.buckets === undefined) while (buckets < perGen / LOAD_AT_FULL) buckets *= 2;
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 1 << 24 || (buckets & (buckets - 1)) !== 0) {
      throw new RangeError(`SharedSpentSet: buckets ${buckets} must be a power of two up to 2^24`);
    }
    const block = Math.max(1, Math.min(MAX_BLOCK, Math.floor(perGen / 64)));
    const laneStride = Math.ceil((2 * tables) / 32) * 32; // whole 128-byte lines: no two lanes share one
    const lanesAt = HEADER_WORDS;
    const tablesAt = lanesAt + LANES * laneStride;
    const tableStride = Math.ceil((T_DIR + buckets + perGen * ENTRY_WORDS) / 32) * 32;
    const words = tablesAt + tables * tableStride;
    if (words > 2 ** 30) throw new RangeError(`SharedSpentSet: maxEntries ${o.maxEntries} needs more than 4 GiB of address space`);
    const buffer = zeroedSharedBuffer(words * 4);
    const w = new Int32Array(buffer);
    w[H_TABLES] = tables; w[H_BUCKETS] = buckets; w[H_PER_GEN] = perGen; w[H_WINDOW] = window; w[H_BLOCK] = block;
    w[H_BASE] = Math.floor((o.nowMs ?? Date.now()) / window) - tables; // generations stored relative to it (fit in Int32)
    w[H_LANES_AT] = lanesAt; w[H_LANE_STRIDE] = laneStride; w[H_TABLES_AT] = tablesAt; w[H_TABLE_STRIDE] = tableStride;
    new BigInt64Array(buffer, 0, HEADER_WORDS / 2)[H_FENCE64] = BigInt(Number.isFinite(o.fenceMs) ? Math.floor(o.fenceMs!) : 0); // 0: none
    for (let t = 0; t < tables; t++) w[tablesAt + t * tableStride + T_GEN] = NO_GEN;
    if (o.prefault) for (let i = 0; i < w.length; i += 1024) w[i] = w[i]!; // one write a 4 KB page
    Atomics.store(w, H_MAGIC, MAGIC);
    return new SharedSpentSet(w);
  }

  static attach(buffer: SharedArrayBuffer): SharedSpentSet {
    const w = new Int32Array(buffer);
    if (w.length < HEADER_WORDS || Atomics.load(w, H_MAGIC) !== MAGIC) throw new TypeError("SharedSpentSet.attach: not a shared spent set");
    return new SharedSpentSet(w);
  }

  private constructor(w: Int32Array) {
    this._w = w;
    this._fence = new BigInt64Array(w.buffer, 0, HEADER_WORDS / 2);
    this._tables = w[H_TABLES]!; this._buckets = w[H_BUCKETS]!; this._perGen = w[H_PER_GEN]!; this._window = w[H_WINDOW]!;
    this._base = w[H_BASE]!; this._block = w[H_BLOCK]!;
    this._lanesAt = w[H_LANES_AT]!; this._laneStride = w[H_LANE_STRIDE]!; this._tablesAt = w[H_TABLES_AT]!; this._tableStride = w[H_TABLE_STRIDE]!;
    this._lane = this._lanesAt + ((Atomics.add(w, H_LANE_NEXT, 1) & 0x7fff_ffff) % LANES) * this._laneStride;
    this._blockGen = new Int32Array(this._tables).fill(NO_GEN);
    this._blockNext = new Int32Array(this._tables);
    this._blockEnd = new Int32Array(this._tables);
  }

  get buffer(): SharedArrayBuffer {
    return this._w.buffer as SharedArrayBuffer;
  }

  /** Keys one generation holds at most (its share of maxEntries). */
  get perGeneration(): number {
    return this._perGen;
  }

  /** Buckets per generation (SharedSpentOptions.buckets). */
  get buckets(): number {
    return this._buckets;
  }

  get fenceMs(): number {
    return Number(Atomics.load(this._fence, H_FENCE64));
  }

  /**
   * This process issued a challenge at `iatMs`: lower the fence to it if it is earlier (a wall clock stepped
   * back), as MemorySpentStore.issued does; a CAS loop, so it never raises the fence another thread lowered.
   */
  issued(iatMs: number): void {
    if (!Number.isFinite(iatMs) || iatMs >= this._fenceSeen) return; // at or after a fence already seen: nothing to lower
    const f = this._fence;
    for (;;) {
      const cur = Atomics.load(f, H_FENCE64);
      this._fenceSeen = Number(cur);
      if (iatMs >= this._fenceSeen) return;
      const lowered = Math.floor(iatMs);
      if (Atomics.compareExchange(f, H_FENCE64, cur, BigInt(lowered)) === cur) {
        this._fenceSeen = lowered;
        return;
      }
    }
  }

  /** `key`: 32 lowercase hex digits (the first 16 tag bytes, as verifySolution gives it). */
  markSpent(key: string, expiresAtMs: number, nowMs: number, issuedAtMs = Infinity): boolean {
    // The fence only goes down, so a fence read earlier is an upper bound: at or after it, no need to read again.
    if (issuedAtMs < this._fenceSeen) this._fenceSeen = this.fenceMs;
    const fence = this._fenceSeen;
    if (issuedAtMs < fence) throw new ChallengeFencedError(fence, `Challenge was issued before this server started (${new Date(fence).toISOString()}); ask for a fresh one`);
    if (key.length !== 32) throw new TypeError(`SharedSpentSet: key must be 32 hex digits, got ${key.length}`);
    const k0 = hexWord(key, 0), k1 = hexWord(key, 8), k2 = hexWord(key, 16), k3 = hexWord(key, 24);
    const gen = Math.ceil(expiresAtMs / this._window) - this._base;
    const oldest = Math.floor(nowMs / this._window) - this._base; // generations before it have expired
    if (gen < oldest) return false; // already expired: nothing to protect (the verifier refuses these first)
    if (gen >= oldest + this._tables - 1) throw new StoreUnavailableError(`Spent set: expiry ${expiresAtMs} is further ahead than the set covers (maxTtlMs)`);
    if (gen < 0) throw new StoreUnavailableError(`Spent set: expiry ${expiresAtMs} is before the set was created (clock stepped back?)`);
    const w = this._w;
    const t = gen % this._tables;
    const th = this._tablesAt + t * this._tableStride;
    const writers = this._lane + 2 * t;
    for (;;) {
      const g = Atomics.load(w, th + T_GEN);
      if (g === RESETTING) { // another thread is resetting it: a short wait
        this._awaitReset(th);
        continue;
      }
      if (g > gen) {
        // Reclaimed for a later generation by a thread whose clock is ahead: this proof has expired there.
        throw new StoreUnavailableError("Spent set generation already reused: the proof expired while it was checked");
      }
      if (g < gen) {
        this._reclaim(t, th, g, gen); // the table holds an expired generation (gen - g is a multiple of tables)
        continue;
      }
      Atomics.add(w, writers, 1);
      if (Atomics.load(w, th + T_GEN) !== gen) { // a reclaim started between the check and the count
        Atomics.sub(w, writers, 1);
        continue;
      }
      try {
        return this._insert(t, th, gen, k0, k1, k2, k3);
      } finally {
        Atomics.sub(w, writers, 1);
      }
    }
  }

  /**
   * Wait while another thread resets the table at word `th`. Its own method: a closure in markSpent that
   * captures its locals makes V8 allocate their context on every call, taken or not (48 bytes a proof).
   */
  private _awaitReset(th: number): void {
    const w = this._w;
    if (!spinUntil(() => Atomics.load(w, th + T_GEN) !== RESETTING)) throw new StoreUnavailableError("Spent set: a generation table stayed in reset (a thread died inside it?)");
  }

  /** Take table `t` (at word `th`) from expired generation `g` to `gen`, or leave it to a thread already doing so. */
  private _reclaim(t: number, th: number, g: number, gen: number): void {
    const w = this._w;
    if (Atomics.compareExchange(w, th + T_GEN, g, RESETTING) !== g) return;
    // Threads still inside the old generation finish first. A thread that died inside it (terminated
    // mid-insert) would hold this forever: give up after SPIN_MS and refuse rather than hang.
    if (!spinUntil(() => this._writersIn(t) === 0)) {
      Atomics.store(w, th + T_GEN, g);
      throw new StoreUnavailableError("Spent set: a generation table stayed busy (a thread died inside it?)");
    }
    // A table never used is still as created, zeroed: filling it would only make its directory resident at
    // once, a stall of tens of milliseconds at the largest spent_max_entries (16 MB a table).
    if (g !== NO_GEN) w.fill(0, th + T_DIR, th + T_DIR + this._buckets); // the entry area is not touched: see the module comment
    for (let l = 0; l < LANES; l++) Atomics.store(w, this._lanesAt + l * this._laneStride + 2 * t + 1, 0);
    Atomics.store(w, th + T_BUMP, 0);
    Atomics.store(w, th + T_GEN, gen);
  }

  private _writersIn(t: number): number {
    let n = 0;
    for (let l = 0; l < LANES; l++) n += Atomics.load(this._w, this._lanesAt + l * this._laneStride + 2 * t);
    return n;
  }

  /** Insert into table `t` (at word `th`); the caller is counted in it for generation `gen`. */
  private _insert(t: number, th: number, gen: number, k0: number, k1: number, k2: number, k3: number): boolean {
    const w = this._w;
    const entries = th + T_DIR + this._buckets - ENTRY_WORDS; // entry i (1-based: 0 is "none") at entries + i * ENTRY_WORDS
    let link = th + T_DIR + ((Math.imul(k0 ^ Math.imul(k1, 0x9e3779b1), 0x85ebca6b) >>> 0) & (this._buckets - 1));
    let next = Atomics.load(w, link);
    let mine = 0; // our entry, written once we reach the tail
    for (;;) {
      while (next !== 0) {
        const s = entries + next * ENTRY_WORDS;
        if (w[s + 1] === k0 && w[s + 2] === k1 && w[s + 3] === k2 && w[s + 4] === k3) return false;
        link = s;
        next = Atomics.load(w, link);
      }
      if (mine === 0) {
        mine = this._entry(t, th, gen) + 1;
        const s = entries + mine * ENTRY_WORDS;
        w[s + 1] = k0; w[s + 2] = k1; w[s + 3] = k2; w[s + 4] = k3;
        Atomics.store(w, s, 0); // a stale link from an older generation must not survive
      }
      next = Atomics.compareExchange(w, link, 0, mine); // publishes the key words written before it
      if (next === 0) {
        this._blockNext[t]++;
        Atomics.add(w, this._lane + 2 * t + 1, 1);
        return true;
      }
      // Another thread appended first: walk on from its entry (ours stays unlinked, for the next try).
    }
  }

  /** The 0-based index of this view's next free entry in table `t`; it is consumed only once linked. */
  private _entry(t: number, th: number, gen: number): number {
    if (this._blockGen[t] !== gen) {
      this._blockGen[t] = gen;
      this._blockNext[t] = this._blockEnd[t] = 0;
    }
    if (this._blockNext[t] < this._blockEnd[t]) return this._blockNext[t]!;
    const w = this._w;
    const start = Atomics.load(w, th + T_BUMP) < this._perGen ? Atomics.add(w, th + T_BUMP, this._block) : this._perGen;
    if (start >= this._perGen) {
      throw new StoreUnavailableError(`Spent set is full (${this._perGen} entries for this expiry window); refusing new proofs until entries expire`);
    }
    this._blockNext[t] = start;
    this._blockEnd[t] = Math.min(start + this._block, this._perGen);
    return start;
  }

  /** Entries in live tables (approximate while other threads insert). */
  size(): number {
    let n = 0;
    for (let l = 0; l < LANES; l++) {
      for (let t = 0; t < this._tables; t++) n += Atomics.load(this._w, this._lanesAt + l * this._laneStride + 2 * t + 1);
    }
    return n;
  }

  /**
   * Bytes of entry area handed out by the bump allocators (all tables): what inserts have touched beyond the
   * fixed header, lanes and directories (directoryBytes). Grows with the keys held, at most 20 bytes each
   * plus one partly used block per thread and table.
   */
  allocatedBytes(): number {
    let n = 0;
    for (let t = 0; t < this._tables; t++) n += Math.min(Atomics.load(this._w, this._tablesAt + t * this._tableStride + T_BUMP), this._perGen);
    return n * ENTRY_WORDS * 4;
  }

  /** Bytes of the fixed part touched as the set is used: header, lanes and every table's directory. */
  get directoryBytes(): number {
    return (this._tablesAt + this._tables * (T_DIR + this._buckets)) * 4;
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}

/** Longest a thread waits for another's short critical section before giving up, ms. */
const SPIN_MS = 250;

/** A word nobody changes: sleeping on it (Atomics.wait with a timeout) gives the core away for a while. */
const _NAP = new Int32Array(new SharedArrayBuffer(4));
/** Atomics.wait is refused on some main threads (browsers'); there a waiting thread only spins. */
const _CAN_NAP = (() => {
  try {
    Atomics.wait(_NAP, 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Spin until `done()` (true), or SPIN_MS have passed (false). After 1,024 tries the other thread is
 * probably not running (more threads than free cores: it was descheduled inside its critical section),
 * so the waiter naps 0.1 ms between tries instead of holding the core that thread needs.
 */
function spinUntil(done: () => boolean): boolean {
  let deadline = 0;
  for (let i = 1; ; i++) {
    if (done()) return true;
    if (i >= 1024) {
      const now = performance.now();
      if (deadline === 0) deadline = now + SPIN_MS;
      else if (now > deadline) return false;
      if (_CAN_NAP) Atomics.wait(_NAP, 0, 0, 0.1);
    }
  }
}

/** 8 lowercase hex digits at `off` as an Int32. */
function hexWord(s: string, off: number): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = s.charCodeAt(off + i);
    v = (v << 4) | (c > 57 ? c - 87 : c - 48);
  }
  return v | 0;
}
