/**
 * A spent set in shared memory (SharedArrayBuffer + Atomics) for gate threads of one process (issue 15):
 * a proof redeemed on one thread is refused on every other, with no lock on the hot path.
 *
 * Layout. Keys live in generation tables by their expiry, as in memory.ts: generation g holds keys with
 * expiry in ((g-1)W, gW]. A key's expiry is signed into its challenge, so one key always maps to one
 * generation, and a generation is only ever inserted into, never deleted from: an insert-only open-
 * addressing table with linear probing is linearizable with one compare-and-swap per claimed slot.
 * `tables` tables are reused round-robin; a table is reclaimed for a new generation only once its
 * old generation has expired, after waiting for threads still inside it (a per-table writer count).
 *
 * Slot: 5 Int32 words, state (0 empty, 1 being written, 2 published) and the 16-byte key. A thread
 * that finds a slot being written waits for it to be published before comparing: two threads inserting
 * the same key race for the same first free slot, and exactly one wins it.
 *
 * Bounded like memory.ts: each generation holds at most `perGeneration` keys (half its slots); beyond
 * that new proofs are refused (StoreUnavailableError: the gate answers BUSY) and nothing is evicted.
 * @module
 */
import { ChallengeFencedError, type SpentStore, StoreUnavailableError } from "./types.ts";

const MAGIC = 0x57495344; // "WISD"
const H_MAGIC = 0, H_TABLES = 1, H_SLOTS = 2, H_PER_GEN = 3, H_WINDOW = 4, H_BASE = 5, H_FENCE_HI = 6, H_FENCE_LO = 7;
const HEADER_WORDS = 8;
const T_GEN = 0, T_WRITERS = 1, T_COUNT = 2;
const TABLE_HEADER_WORDS = 4;
const SLOT_WORDS = 5;
const EMPTY = 0, WRITING = 1, PUBLISHED = 2;
const RESETTING = -1;

export interface SharedSpentOptions {
  /** Most entries held at once across all live generations (as spent_max_entries). */
  readonly maxEntries: number;
  /** How far ahead a key can expire, ms: the longest challenge lifetime accepted plus the clock skew allowed. */
  readonly maxTtlMs: number;
  /** Generation tables (default 8). */
  readonly tables?: number;
  /** Proofs of challenges issued before this time are refused (ms; default none). */
  readonly fenceMs?: number;
  readonly nowMs?: number;
  /**
   * Touch every page of the buffer now (default false): the set's memory is committed at creation
   * instead of on first use, so the first minutes of a flood do not pay a page fault per new page
   * (tens of microseconds each on a VM, and taken by every thread at once: see bench/shared-tables.ts).
   */
  readonly prefault?: boolean;
}

export class SharedSpentSet implements SpentStore {
  readonly name = "shared-memory";
  private readonly _w: Int32Array;
  private readonly _tables: number;
  private readonly _slots: number;
  private readonly _perGen: number;
  private readonly _window: number;
  private readonly _base: number;

  /** A new set; hand `buffer` to other threads, which call SharedSpentSet.attach(buffer). */
  static create(o: SharedSpentOptions): SharedSpentSet {
    const tables = o.tables ?? 8;
    if (!Number.isInteger(tables) || tables < 4 || tables > 64) throw new RangeError(`SharedSpentSet: tables ${tables} must be an integer in 4..64`);
    if (!(o.maxEntries >= 1) || !(o.maxTtlMs >= 1)) throw new RangeError("SharedSpentSet: maxEntries and maxTtlMs must be positive");
    // A key expires at most maxTtlMs ahead, so it falls at most maxTtlMs / W + 2 generations after the
    // oldest live one; with W = maxTtlMs / (tables - 4) that leaves a table free to reclaim.
    const window = Math.ceil(o.maxTtlMs / (tables - 4));
    const live = Math.ceil(o.maxTtlMs / window) + 2;
    const perGen = Math.max(16, Math.ceil(o.maxEntries / live));
    let slots = 32;
    while (slots < perGen * 2) slots *= 2;
    const words = HEADER_WORDS + tables * (TABLE_HEADER_WORDS + slots * SLOT_WORDS);
    const w = new Int32Array(new SharedArrayBuffer(words * 4));
    w[H_TABLES] = tables; w[H_SLOTS] = slots; w[H_PER_GEN] = perGen; w[H_WINDOW] = window;
    w[H_BASE] = Math.floor((o.nowMs ?? Date.now()) / window) - tables; // generations stored relative to it (fit in Int32)
    const fence = o.fenceMs ?? 0;
    w[H_FENCE_HI] = Math.floor(fence / 0x1_0000_0000); w[H_FENCE_LO] = fence >>> 0;
    for (let t = 0; t < tables; t++) w[HEADER_WORDS + t * (TABLE_HEADER_WORDS + slots * SLOT_WORDS) + T_GEN] = -2 - t; // no generation yet
    if (o.prefault) for (let i = 0; i < w.length; i += 1024) w[i] = w[i]!; // one write a 4 KB page
    Atomics.store(w, H_MAGIC, MAGIC);
    return new SharedSpentSet(w);
  }

  static attach(buffer: SharedArrayBuffer): SharedSpentSet {
    const w = new Int32Array(buffer);
    if (Atomics.load(w, H_MAGIC) !== MAGIC) throw new TypeError("SharedSpentSet.attach: not a shared spent set");
    return new SharedSpentSet(w);
  }

  private constructor(w: Int32Array) {
    this._w = w;
    this._tables = w[H_TABLES]!; this._slots = w[H_SLOTS]!; this._perGen = w[H_PER_GEN]!; this._window = w[H_WINDOW]!; this._base = w[H_BASE]!;
  }

  get buffer(): SharedArrayBuffer {
    return this._w.buffer as SharedArrayBuffer;
  }

  /** Keys one generation holds at most (its share of maxEntries). */
  get perGeneration(): number {
    return this._perGen;
  }

  get fenceMs(): number {
    return this._w[H_FENCE_HI]! * 0x1_0000_0000 + (this._w[H_FENCE_LO]! >>> 0);
  }

  /** `key`: 32 lowercase hex digits (the first 16 tag bytes, as verifySolution gives it). */
  markSpent(key: string, expiresAtMs: number, nowMs: number, issuedAtMs = Infinity): boolean {
    if (issuedAtMs < this.fenceMs) throw new ChallengeFencedError(this.fenceMs, `Challenge was issued before this server started (${new Date(this.fenceMs).toISOString()}); ask for a fresh one`);
    if (key.length !== 32) throw new TypeError(`SharedSpentSet: key must be 32 hex digits, got ${key.length}`);
    const k0 = hexWord(key, 0), k1 = hexWord(key, 8), k2 = hexWord(key, 16), k3 = hexWord(key, 24);
    const gen = Math.ceil(expiresAtMs / this._window) - this._base;
    const oldest = Math.floor(nowMs / this._window) - this._base; // generations before it have expired
    if (gen < oldest) return false; // already expired: nothing to protect (the verifier refuses these first)
    if (gen >= oldest + this._tables - 1) throw new StoreUnavailableError(`Spent set: expiry ${expiresAtMs} is further ahead than the set covers (maxTtlMs)`);
    const w = this._w;
    const t = gen % this._tables;
    const th = HEADER_WORDS + t * (TABLE_HEADER_WORDS + this._slots * SLOT_WORDS);
    for (;;) {
      const g = Atomics.load(w, th + T_GEN);
      if (g === RESETTING) continue; // another thread is clearing it: wait
      if (g > gen) {
        // Reclaimed for a later generation by a thread whose clock is ahead: this proof has expired there.
        throw new StoreUnavailableError("Spent set generation already reused: the proof expired while it was checked");
      }
      if (g < gen) {
        // The table holds an expired generation (g < oldest: gen - g is a multiple of tables): reclaim it.
        if (Atomics.compareExchange(w, th + T_GEN, g, RESETTING) !== g) continue;
        // Threads still inside the old generation finish first. A thread that died inside it (terminated
        // mid-insert) would hold this forever: give up after SPIN_MS and refuse rather than hang.
        if (!spinUntil(() => Atomics.load(w, th + T_WRITERS) === 0)) {
          Atomics.store(w, th + T_GEN, g);
          throw new StoreUnavailableError("Spent set: a generation table stayed busy (a thread died inside it?)");
        }
        w.fill(0, th + TABLE_HEADER_WORDS, th + TABLE_HEADER_WORDS + this._slots * SLOT_WORDS);
        Atomics.store(w, th + T_COUNT, 0);
        Atomics.store(w, th + T_GEN, gen);
        continue;
      }
      Atomics.add(w, th + T_WRITERS, 1);
      if (Atomics.load(w, th + T_GEN) !== gen) { // a reclaim started between the check and the count
        Atomics.sub(w, th + T_WRITERS, 1);
        continue;
      }
      try {
        return this._insert(th, k0, k1, k2, k3);
      } finally {
        Atomics.sub(w, th + T_WRITERS, 1);
      }
    }
  }

  /** Insert into the table at word `th`; the caller holds it (writer count) for its generation. */
  private _insert(th: number, k0: number, k1: number, k2: number, k3: number): boolean {
    const w = this._w;
    const mask = this._slots - 1;
    let i = (Math.imul(k0 ^ Math.imul(k1, 0x9e3779b1), 0x85ebca6b) >>> 0) & mask;
    for (let probes = 0; probes < this._slots; probes++, i = (i + 1) & mask) {
      const s = th + TABLE_HEADER_WORDS + i * SLOT_WORDS;
      let state = Atomics.load(w, s);
      if (state === EMPTY) {
        if (Atomics.load(w, th + T_COUNT) >= this._perGen) {
          throw new StoreUnavailableError(`Spent set is full (${this._perGen} entries for this expiry window); refusing new proofs until entries expire`);
        }
        state = Atomics.compareExchange(w, s, EMPTY, WRITING);
        if (state === EMPTY) {
          w[s + 1] = k0; w[s + 2] = k1; w[s + 3] = k2; w[s + 4] = k3;
          Atomics.add(w, th + T_COUNT, 1);
          Atomics.store(w, s, PUBLISHED); // publishes the key words written before it
          return true;
        }
      }
      if (state === WRITING && !spinUntil(() => (state = Atomics.load(w, s)) !== WRITING)) {
        throw new StoreUnavailableError("Spent set: a slot stayed half-written (a thread died inside it?)");
      }
      if (w[s + 1] === k0 && w[s + 2] === k1 && w[s + 3] === k2 && w[s + 4] === k3) return false;
    }
    throw new StoreUnavailableError("Spent set table is full");
  }

  /** Entries in live tables (approximate while other threads insert). */
  size(): number {
    let n = 0;
    for (let t = 0; t < this._tables; t++) n += Atomics.load(this._w, HEADER_WORDS + t * (TABLE_HEADER_WORDS + this._slots * SLOT_WORDS) + T_COUNT);
    return n;
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
