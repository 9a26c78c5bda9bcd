/**
 * Per-client escalation: a client key that asks often gets harder puzzles than one that asks rarely.
 * Each key has an exponentially decaying request count (half-life `halfLifeMs`); past `freeRequests`
 * every doubling adds one bit, up to `maxExtraBits`. Bounded memory, time handed in.
 * @module
 */

export interface EscalationSpec {
  readonly halfLifeMs: number;
  readonly freeRequests: number;
  readonly maxExtraBits: number;
  readonly maxKeys?: number;
}

/** What the difficulty policy needs of an escalation table (this one, or store/shared-escalation.ts across threads). */
export interface EscalationCounts {
  spec: EscalationSpec;
  /** Record one request by `key` at `nowMs`; returns the extra bits it now earns. */
  hit(key: string, nowMs: number): number;
  /** Take back one request of `key`. */
  refund(key: string, nowMs: number): void;
}

interface _Count {
  v: number;
  at: number;
}

export class Escalation implements EscalationCounts {
  private readonly _map = new Map<string, _Count>();
  constructor(public spec: EscalationSpec) {}

  get size(): number {
    return this._map.size;
  }

  /** Record one request by `key` at `nowMs`; returns the extra bits it now earns. */
  hit(key: string, nowMs: number): number {
    let c = this._map.get(key);
    if (c) {
      c.v = c.v * 2 ** (-(nowMs - c.at) / this.spec.halfLifeMs) + 1;
      c.at = nowMs;
      this._map.delete(key);
    } else {
      if (this._map.size >= (this.spec.maxKeys ?? 100_000)) {
        const oldest = this._map.keys().next().value;
        if (oldest !== undefined) this._map.delete(oldest);
      }
      c = { v: 1, at: nowMs };
    }
    this._map.set(key, c);
    return this.extraFor(c.v);
  }

  /** Take back one request of `key` (it was not a request after all); never below zero. */
  refund(key: string, nowMs: number): void {
    const c = this._map.get(key);
    if (!c) return;
    c.v = Math.max(0, c.v * 2 ** (-(nowMs - c.at) / this.spec.halfLifeMs) - 1);
    c.at = nowMs;
  }

  extraFor(count: number): number {
    if (count <= this.spec.freeRequests) return 0;
    return Math.min(this.spec.maxExtraBits, Math.ceil(Math.log2(count / this.spec.freeRequests)));
  }
}
