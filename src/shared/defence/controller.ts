/**
 * The adaptive difficulty controller: prices only the load that proof of work can shed.
 *
 * A higher difficulty slows clients that solve; it costs nothing to a client that never solves (a
 * connection flood, junk, slowloris, replays, forgeries). So the price rises only when proofs that would
 * be accepted arrive faster than the service can serve them (docs/POW.md, "What work can shed"):
 * - valid proofs per second against the service's capacity (`pressure_valid_proofs_per_s`);
 * - event-loop delay, weighted by the share of connections that bring a valid proof, so a loop swamped
 *   by a flood that never solves does not raise the price, while one swamped by solvers does (this is
 *   the capacity the server measures, when the operator's figure is too high);
 * - the quote source's own saturation (1 = full), for sources that report one.
 * Everything else (open connections, accepts, failed proofs) is connection pressure: it tightens the
 * deadlines (see windows.ts) and is shed by caps, buckets and the firewall, never by the price.
 *
 * The level rises fast and in proportion: after `raiseAfter` high ticks, by ceil(log2(pressure)) bits
 * (each bit halves the solving rate), at most `raiseStep`; it decays one bit per `lowerAfter` quiet
 * ticks. Pure: the caller samples once per tick and hands the sample in.
 * @module
 */

export interface PressureSample {
  readonly openConnections: number;
  readonly acceptsPerSec: number;
  /** Challenges issued per second: accepted connections that were not refused. */
  readonly challengesPerSec: number;
  readonly failedProofsPerSec: number;
  readonly validProofsPerSec: number;
  readonly loopDelayMs: number;
  /** The quote source's saturation (1 = at its capacity); 0 for sources that report none. */
  readonly sourceSaturation: number;
}

/** What counts as full price pressure (1.0) for each signal that work can shed. */
export interface PriceThresholds {
  /** Valid proofs per second the service can serve. */
  readonly validProofsPerSec: number;
  /** Event-loop delay that counts as full pressure when every connection brings a valid proof. */
  readonly loopDelayMs: number;
}

/** What counts as full connection pressure (1.0): the load work cannot shed. */
export interface ConnectionThresholds {
  readonly openConnections: number;
  readonly acceptsPerSec: number;
  readonly failedProofsPerSec: number;
}

export interface ControllerSpec {
  readonly floor: number;
  readonly ceiling: number;
  readonly thresholds: PriceThresholds;
  /** Most bits added per raise (default 4); a raise adds ceil(log2(pressure)), at least 1. */
  readonly raiseStep?: number;
  /** Consecutive high ticks before a raise (default 2). */
  readonly raiseAfter?: number;
  /** Consecutive low ticks before lowering one bit (default 10). */
  readonly lowerAfter?: number;
  /** Pressure below which a tick counts as low (default 0.5); between it and 1.0 nothing changes. */
  readonly lowBand?: number;
}

export type PriceDriver = "validProofsPerSec" | "loopDelayMs" | "sourceSaturation";

export interface ControllerStep {
  readonly bits: number;
  readonly changed: boolean;
  readonly pressure: number;
  /** The signal with the highest pressure. */
  readonly driver: PriceDriver;
}

/**
 * The share of challenged connections that brought a valid proof, in 0..1. A client in reconnect mode
 * opens two connections per proof (one for the challenge, one for the answer), hence the factor 2.
 * Connections refused before a challenge (caps, buckets) do not count: they cost the loop little, and a
 * cheap flood of them must not dilute the share of a solving flood.
 */
export function solvingShare(s: PressureSample): number {
  if (s.validProofsPerSec <= 0) return 0;
  if (s.challengesPerSec <= 0) return 1;
  return Math.min(1, (2 * s.validProofsPerSec) / s.challengesPerSec);
}

/** Price pressure: the largest of the signals work can shed, each over its threshold. */
export function pricePressureOf(s: PressureSample, t: PriceThresholds): { pressure: number; driver: PriceDriver } {
  const valid = t.validProofsPerSec > 0 ? s.validProofsPerSec / t.validProofsPerSec : 0;
  const loop = t.loopDelayMs > 0 ? (s.loopDelayMs / t.loopDelayMs) * solvingShare(s) : 0;
  const source = Number.isFinite(s.sourceSaturation) ? Math.max(0, s.sourceSaturation) : 0;
  let pressure = valid;
  let driver: PriceDriver = "validProofsPerSec";
  if (loop > pressure) [pressure, driver] = [loop, "loopDelayMs"];
  if (source > pressure) [pressure, driver] = [source, "sourceSaturation"];
  return { pressure, driver };
}

/** Connection pressure: the largest of open connections, accepts and failed proofs over their thresholds. */
export function connectionPressureOf(s: PressureSample, t: ConnectionThresholds): number {
  const r = (x: number, th: number) => (th > 0 && Number.isFinite(x) ? x / th : 0);
  return Math.max(r(s.openConnections, t.openConnections), r(s.acceptsPerSec, t.acceptsPerSec), r(s.failedProofsPerSec, t.failedProofsPerSec));
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
    const { pressure, driver } = pricePressureOf(s, this.spec.thresholds);
    const before = this.bits;
    if (pressure >= 1) {
      this._low = 0;
      if (++this._high >= (this.spec.raiseAfter ?? 2)) {
        this._high = 0;
        const step = Math.max(1, Math.min(this.spec.raiseStep ?? 4, Math.ceil(Math.log2(pressure))));
        this.bits = Math.min(this.spec.ceiling, this.bits + step);
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
