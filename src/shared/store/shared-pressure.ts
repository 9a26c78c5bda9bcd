/**
 * The pressure board for gate threads of one process (issue 15): each thread publishes its latest
 * sample into its own slot of a SharedArrayBuffer and reads every live slot, so one controller view
 * covers the whole process and every thread agrees on the difficulty, as instances do over Redis
 * (redis-pressure.ts, whose aggregation this follows: counts and rates summed, the worst loop delay and
 * source saturation, the highest difficulty).
 *
 * Layout: per slot, an Int32 sequence word (odd while its thread writes) and FIELDS Float64 values
 * (publish time, the seven sample fields, bits). One writer per slot; a reader that sees the sequence
 * odd or moved retries a few times, then skips the slot for this exchange (a torn sample is never read).
 * A slot not published for `ttlMs` is a dead thread's and drops out.
 * @module
 */
import type { PressureSample } from "../defence/controller.ts";
import type { PressureBoard, PressureReport } from "./types.ts";

const FIELDS = 9; // at, openConnections, acceptsPerSec, challengesPerSec, failedProofsPerSec, validProofsPerSec, loopDelayMs, sourceSaturation, bits
const RETRIES = 4;

type Published = PressureSample & { readonly bits: number };

export class SharedPressureBoard implements PressureBoard {
  private readonly _seq: Int32Array;
  private readonly _v: Float64Array;
  private readonly _slots: number;

  /** A board for `slots` threads; hand `buffer` to the others, which call attach(buffer, theirSlot). */
  static create(slots: number): SharedPressureBoard {
    if (!Number.isInteger(slots) || slots < 1 || slots > 1024) throw new RangeError(`SharedPressureBoard: slots ${slots} must be an integer in 1..1024`);
    const seqBytes = Math.ceil((4 * slots) / 8) * 8;
    return new SharedPressureBoard(new SharedArrayBuffer(seqBytes + 8 * FIELDS * slots), slots, 0);
  }

  static attach(buffer: SharedArrayBuffer, slot: number): SharedPressureBoard {
    // buffer = seqBytes + 72 * slots with seqBytes = ceil(slots / 2) * 8: solve for slots.
    let slots = Math.floor(buffer.byteLength / (8 * FIELDS));
    while (slots > 0 && Math.ceil((4 * slots) / 8) * 8 + 8 * FIELDS * slots !== buffer.byteLength) slots--;
    if (slots < 1) throw new TypeError("SharedPressureBoard.attach: not a pressure board buffer");
    return new SharedPressureBoard(buffer, slots, slot);
  }

  private constructor(readonly buffer: SharedArrayBuffer, slots: number, readonly slot: number, private readonly _now: () => number = Date.now) {
    if (!Number.isInteger(slot) || slot < 0 || slot >= slots) throw new RangeError(`SharedPressureBoard: slot ${slot} out of 0..${slots - 1}`);
    this._slots = slots;
    const seqBytes = Math.ceil((4 * slots) / 8) * 8;
    this._seq = new Int32Array(buffer, 0, slots);
    this._v = new Float64Array(buffer, seqBytes, FIELDS * slots);
  }

  /** The same board seen from another slot (each thread publishes into its own). */
  forSlot(slot: number): SharedPressureBoard {
    return new SharedPressureBoard(this.buffer, this._slots, slot, this._now);
  }

  /** `_instanceId` is unused: a thread's slot is its identity here. Never rejects. */
  exchange(_instanceId: string, s: Published, ttlMs: number): Promise<PressureReport> {
    return Promise.resolve(this.exchangeNow(s, ttlMs));
  }

  exchangeNow(s: Published, ttlMs: number): PressureReport {
    const now = this._now();
    const fin = (x: number) => (Number.isFinite(x) ? x : 0);
    const seq = this._seq, v = this._v, base = this.slot * FIELDS;
    Atomics.add(seq, this.slot, 1); // odd: writing
    v[base] = now;
    v[base + 1] = fin(s.openConnections);
    v[base + 2] = fin(s.acceptsPerSec);
    v[base + 3] = fin(s.challengesPerSec);
    v[base + 4] = fin(s.failedProofsPerSec);
    v[base + 5] = fin(s.validProofsPerSec);
    v[base + 6] = fin(s.loopDelayMs);
    v[base + 7] = fin(s.sourceSaturation);
    v[base + 8] = fin(s.bits);
    Atomics.add(seq, this.slot, 1); // even: published
    const sum = { openConnections: 0, acceptsPerSec: 0, challengesPerSec: 0, failedProofsPerSec: 0, validProofsPerSec: 0, loopDelayMs: 0, sourceSaturation: 0 };
    let maxBits = 0, instances = 0;
    const row = new Float64Array(FIELDS);
    for (let i = 0; i < this._slots; i++) {
      if (!this._read(i, row) || !(row[0]! > 0) || now - row[0]! > ttlMs) continue;
      instances++;
      sum.openConnections += row[1]!;
      sum.acceptsPerSec += row[2]!;
      sum.challengesPerSec += row[3]!;
      sum.failedProofsPerSec += row[4]!;
      sum.validProofsPerSec += row[5]!;
      sum.loopDelayMs = Math.max(sum.loopDelayMs, row[6]!);
      sum.sourceSaturation = Math.max(sum.sourceSaturation, row[7]!);
      maxBits = Math.max(maxBits, row[8]!);
    }
    return { aggregate: sum, maxBits, instances };
  }

  /** Copy slot `i` into `row` if a consistent copy can be had. */
  private _read(i: number, row: Float64Array): boolean {
    for (let t = 0; t < RETRIES; t++) {
      const before = Atomics.load(this._seq, i);
      if (before & 1) continue;
      for (let f = 0; f < FIELDS; f++) row[f] = this._v[i * FIELDS + f]!;
      if (Atomics.load(this._seq, i) === before) return true;
    }
    return false;
  }
}
