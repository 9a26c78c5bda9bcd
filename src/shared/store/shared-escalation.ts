/**
 * Escalation counts shared by gate threads (issue 15): the decaying request count per client key of
 * defence/escalation.ts in shared memory, so a client that spreads its connections over N threads still
 * pays for all its requests (N separate counts would each see 1/N of them).
 *
 * Same arithmetic as Escalation: on a hit the count decays by 2^(-elapsed / halfLife) and gains 1; past
 * `freeRequests` every doubling adds a bit, up to `maxExtraBits`. On store/shared-table.ts; slot: 2 key
 * words; 2-3 the count, 4-5 the time of its last change (Float64). At a stripe's limit the table evicts a
 * count decayed below 1/64 first, else the one idle longest (as Escalation drops its least recently hit).
 * @module
 */
import type { EscalationSpec } from "../defence/escalation.ts";
import { createTableBuffer, SharedTable, tableWords } from "./shared-table.ts";

const KIND = 4;
const V_COUNT = 2, V_AT = 4;

export class SharedEscalation extends SharedTable {
  /** This thread's spec (a reload replaces it, as Escalation.spec). */
  spec: EscalationSpec;

  private constructor(w: Int32Array, spec: EscalationSpec) {
    super(w);
    this.spec = spec;
  }

  /** A table for `spec.maxKeys` keys (default 100,000). */
  static create(spec: EscalationSpec, o: { stripes?: number; hashKey?: Int32Array } = {}): SharedEscalation {
    const buf = createTableBuffer(KIND, { entries: spec.maxKeys ?? 100_000, valueWords: 4, noEvict: false, stripes: o.stripes, hashKey: o.hashKey });
    return new SharedEscalation(tableWords(buf, KIND, "SharedEscalation"), spec);
  }

  static attach(buffer: SharedArrayBuffer, spec: EscalationSpec): SharedEscalation {
    return new SharedEscalation(tableWords(buffer, KIND, "SharedEscalation"), spec);
  }

  /** Record one request by `key` at `nowMs`; returns the extra bits it now earns. */
  hit(key: string, nowMs: number): number {
    const base = this.lockStripe(this.hashKey(key, 0));
    let v: number;
    try {
      let s = this.find(base);
      if (s < 0) {
        s = this.insert(base, nowMs);
        v = 1;
      } else {
        v = this.f[(s + V_COUNT) >> 1]! * 2 ** (-(nowMs - this.f[(s + V_AT) >> 1]!) / this.spec.halfLifeMs) + 1;
      }
      if (s >= 0) {
        this.f[(s + V_COUNT) >> 1] = v;
        this.f[(s + V_AT) >> 1] = nowMs;
      }
    } finally {
      this.unlockStripe(base);
    }
    return this.extraFor(v);
  }

  /** Take back one request of `key` (it was not a request after all); never below zero. */
  refund(key: string, nowMs: number): void {
    const base = this.lockStripe(this.hashKey(key, 0));
    try {
      const s = this.find(base);
      if (s < 0) return;
      const f = this.f;
      f[(s + V_COUNT) >> 1] = Math.max(0, f[(s + V_COUNT) >> 1]! * 2 ** (-(nowMs - f[(s + V_AT) >> 1]!) / this.spec.halfLifeMs) - 1);
      f[(s + V_AT) >> 1] = nowMs;
    } finally {
      this.unlockStripe(base);
    }
  }

  /** The decayed count of `key` at `nowMs` (0 when unknown). */
  countOf(key: string, nowMs: number): number {
    const base = this.lockStripe(this.hashKey(key, 0));
    try {
      const s = this.find(base);
      return s < 0 ? 0 : this.f[(s + V_COUNT) >> 1]! * 2 ** (-(nowMs - this.f[(s + V_AT) >> 1]!) / this.spec.halfLifeMs);
    } finally {
      this.unlockStripe(base);
    }
  }

  extraFor(count: number): number {
    if (count <= this.spec.freeRequests) return 0;
    return Math.min(this.spec.maxExtraBits, Math.ceil(Math.log2(count / this.spec.freeRequests)));
  }

  protected override evictScore(s: number, nowMs: number): number {
    const idle = nowMs - this.f[(s + V_AT) >> 1]!;
    if (this.f[(s + V_COUNT) >> 1]! * 2 ** (-idle / this.spec.halfLifeMs) < 1 / 64) return Infinity;
    return Math.max(0, idle);
  }
}
