/**
 * A circuit breaker: a pure state machine over an injected clock, no timers.
 *
 *   closed --(K consecutive failures, or trip())--> open --(cool-down passed)--> half_open
 *   half_open --(the one trial succeeds)--> closed;  half_open --(the trial fails)--> open again
 *
 * In half_open exactly one caller gets `acquire() === true` (the trial); the others are refused until it
 * reports. A trial that never reports is given up after another cool-down, so a lost call cannot wedge
 * the breaker. Reports that arrive while open (late answers of calls started before it opened) are ignored.
 * @module
 */

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerSpec {
  /** Consecutive failures that open the breaker (K >= 1). */
  readonly failures: number;
  /** How long it stays open before one trial call is let through, ms. */
  readonly cooldownMs: number;
}

export class CircuitBreaker {
  private _state: BreakerState = "closed";
  private _failures = 0;
  private _openedAt = 0;
  /** Start of the half-open trial in flight, or null when none is. */
  private _trialAt: number | null = null;

  constructor(
    readonly spec: BreakerSpec,
    private readonly _now: () => number = () => performance.now(),
    /** Called on every transition (metrics, logs). */
    private readonly _onChange?: (state: BreakerState, from: BreakerState) => void,
  ) {
    if (!Number.isInteger(spec.failures) || spec.failures < 1) throw new RangeError(`CircuitBreaker: failures ${spec.failures} must be an integer >= 1`);
    if (!(spec.cooldownMs >= 0)) throw new RangeError(`CircuitBreaker: cooldownMs ${spec.cooldownMs} must be >= 0`);
  }

  /** The state now (an open breaker whose cool-down has passed reads as half_open). */
  get state(): BreakerState {
    this._advance();
    return this._state;
  }

  /** Consecutive failures counted while closed. */
  get failures(): number {
    return this._failures;
  }

  /** Would `acquire()` let a call through now? Changes nothing but the lazy open -> half_open step. */
  allows(): boolean {
    this._advance();
    return this._state === "closed" || (this._state === "half_open" && !this._trialBusy());
  }

  /** Asks to make a call: true if it may go ahead (in half_open, true once: the caller holds the trial). */
  acquire(): boolean {
    if (!this.allows()) return false;
    if (this._state === "half_open") this._trialAt = this._now();
    return true;
  }

  success(): void {
    this._advance();
    if (this._state === "half_open") this._set("closed");
    if (this._state === "closed") this._failures = 0;
  }

  failure(): void {
    this._advance();
    if (this._state === "half_open") return this._open();
    if (this._state === "closed" && ++this._failures >= this.spec.failures) this._open();
  }

  /** Opens at once, whatever the count: for failures too costly to repeat K times (timeouts). */
  trip(): void {
    this._advance();
    if (this._state !== "open") this._open();
  }

  private _trialBusy(): boolean {
    return this._trialAt !== null && this._now() - this._trialAt < this.spec.cooldownMs;
  }

  private _advance(): void {
    if (this._state === "open" && this._now() - this._openedAt >= this.spec.cooldownMs) this._set("half_open");
  }

  private _open(): void {
    this._openedAt = this._now();
    this._failures = 0;
    this._set("open");
  }

  private _set(state: BreakerState): void {
    const from = this._state;
    this._trialAt = null;
    if (from === state) return;
    this._state = state;
    this._onChange?.(state, from);
  }
}
