/**
 * Event-loop delay, measured the portable way: a timer that should fire every `intervalMs` notes how
 * late it runs. Works the same on Bun, Deno and Node. `takeMax()` returns the worst delay since the last call.
 * @module
 */

export class LoopDelayMonitor {
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _expected = 0;
  private _max = 0;
  last = 0;

  constructor(private readonly _intervalMs = 50, private readonly _now: () => number = () => performance.now()) {}

  start(): this {
    if (this._timer) return this;
    this._expected = this._now() + this._intervalMs;
    this._timer = setInterval(() => {
      const now = this._now();
      const late = Math.max(0, now - this._expected);
      this.last = late;
      if (late > this._max) this._max = late;
      this._expected = now + this._intervalMs;
    }, this._intervalMs);
    (this._timer as { unref?: () => void }).unref?.();
    return this;
  }

  /** Worst delay (ms) since the previous call. */
  takeMax(): number {
    const m = this._max;
    this._max = 0;
    return m;
  }

  stop(): void {
    if (this._timer) clearInterval(this._timer);
    this._timer = null;
  }
}
