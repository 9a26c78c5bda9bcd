/**
 * Turns the server's running counters into one PressureSample per tick (rates from deltas).
 * @module
 */
import type { PressureSample } from "./controller.ts";

export interface PressureReaders {
  accepted(): number;
  challenges(): number;
  failedProofs(): number;
  validProofs(): number;
  openConnections(): number;
  loopDelayMs(): number;
  /** The quote source's saturation (1 = full); absent: 0. */
  sourceSaturation?(): number;
}

export class PressureSampler {
  private _last: { t: number; accepted: number; challenges: number; failed: number; valid: number } | null = null;
  constructor(private readonly _r: PressureReaders) {}

  sample(nowMs: number): PressureSample {
    const cur = { t: nowMs, accepted: this._r.accepted(), challenges: this._r.challenges(), failed: this._r.failedProofs(), valid: this._r.validProofs() };
    const prev = this._last ?? cur;
    this._last = cur;
    const dt = Math.max(1, cur.t - prev.t) / 1000;
    return {
      openConnections: this._r.openConnections(),
      acceptsPerSec: (cur.accepted - prev.accepted) / dt,
      challengesPerSec: (cur.challenges - prev.challenges) / dt,
      failedProofsPerSec: (cur.failed - prev.failed) / dt,
      validProofsPerSec: (cur.valid - prev.valid) / dt,
      loopDelayMs: this._r.loopDelayMs(),
      sourceSaturation: this._r.sourceSaturation?.() ?? 0,
    };
  }
}
