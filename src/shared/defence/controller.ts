/**
 * The adaptive difficulty controller: raises the difficulty quickly under sustained server pressure and
 * lets it decay slowly, with hysteresis and bounds. Inputs are measured by the server (open handshakes,
 * accepts/s, failed proofs/s, valid proofs/s, event-loop delay), never reported by clients.
 * Pure: the caller samples once per tick and hands the sample in (docs/POW.md, "Adaptive difficulty").
 * @module
 */

export interface PressureSample {
  readonly openConnections: number;
  readonly acceptsPerSec: number;
  readonly failedProofsPerSec: number;
  readonly validProofsPerSec: number;
  readonly loopDelayMs: number;
}

/** The level of each signal at which it alone counts as full pressure (1.0). */
export type PressureThresholds = { readonly [K in keyof PressureSample]: number };

export interface ControllerSpec {
  readonly floor: number;
  readonly ceiling: number;
  readonly thresholds: PressureThresholds;
  /** Bits added per raise (default 2). */
  readonly raiseStep?: number;
  /** Consecutive high ticks before a raise (default 2). */
  readonly raiseAfter?: number;
  /** Consecutive low ticks before lowering one bit (default 10). */
  readonly lowerAfter?: number;
  /** Pressure below which a tick counts as low (default 0.5); between it and 1.0 nothing changes. */
  readonly lowBand?: number;
}

export interface ControllerStep {
  readonly bits: number;
  readonly changed: boolean;
  readonly pressure: number;
  /** The signal with the highest pressure. */
  readonly driver: keyof PressureSample;
}

export function pressureOf(s: PressureSample, t: PressureThresholds): { pressure: number; driver: keyof PressureSample } {
  let pressure = 0;
  let driver: keyof PressureSample = "openConnections";
  for (const k of Object.keys(t) as (keyof PressureSample)[]) {
    const p = t[k] > 0 ? s[k] / t[k] : 0;
    if (p > pressure) {
      pressure = p;
      driver = k;
    }
  }
  return { pressure, driver };
}

export class DifficultyController {
  bits: number;
  private _high = 0;
  private _low = 0;

  constructor(public spec: ControllerSpec) {
    if (!(spec.floor >= 0 && spec.ceiling <= 32 && spec.floor <= spec.ceiling)) {
      throw new RangeError(`DifficultyController: need 0 <= floor (${spec.floor}) <= ceiling (${spec.ceiling}) <= 32`);
    }
    this.bits = spec.floor;
  }

  /** Feed one tick's sample; returns the difficulty in force after it. */
  update(s: PressureSample): ControllerStep {
    const { pressure, driver } = pressureOf(s, this.spec.thresholds);
    const before = this.bits;
    if (pressure >= 1) {
      this._low = 0;
      if (++this._high >= (this.spec.raiseAfter ?? 2)) {
        this._high = 0;
        this.bits = Math.min(this.spec.ceiling, this.bits + (this.spec.raiseStep ?? 2));
      }
    } else if (pressure < (this.spec.lowBand ?? 0.5)) {
      this._high = 0;
      if (++this._low >= (this.spec.lowerAfter ?? 10)) {
        this._low = 0;
        this.bits = Math.max(this.spec.floor, this.bits - 1);
      }
    } else {
      this._high = 0;
      this._low = 0;
    }
    // Bounds may have moved (live reload): keep the level inside them.
    this.bits = Math.min(this.spec.ceiling, Math.max(this.spec.floor, this.bits));
    return { bits: this.bits, changed: this.bits !== before, pressure, driver };
  }
}
