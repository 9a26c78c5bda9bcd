/**
 * Adaptive connection windows: under connection pressure (many open connections, a burst of accepts, a
 * stream of failed proofs) the first-byte and frame windows shrink towards `minMs`, so connections that
 * hold a slot without answering (slowloris) turn over in about `minMs` instead of the configured window.
 * Honest clients are told the window in their Challenge (`window_ms`); one that needs longer solves in
 * reconnect mode. Tightening is immediate, loosening gradual, so an attack that pauses for a tick does
 * not get the long windows back. Pure: the caller hands in one sample per tick.
 * @module
 */
import { type ConnectionThresholds, connectionPressureOf, type PressureSample } from "./controller.ts";

export interface WindowSpec {
  /** Shortest window, ms (window_min_ms). */
  readonly minMs: number;
  readonly thresholds: ConnectionThresholds;
}

/** Connection pressure at or below which windows are whole, and at or above which they are at their minimum. */
export const LOOSE_BELOW = 0.25;
export const TIGHT_ABOVE = 0.75;
/** Most tightness given back per tick. */
export const LOOSEN_PER_TICK = 0.25;

export class AdaptiveWindows {
  /** 0: configured windows; 1: every window at its minimum. */
  tightness = 0;
  /** Connection pressure of the last sample. */
  pressure = 0;

  constructor(public spec: WindowSpec) {}

  update(s: PressureSample): number {
    this.pressure = connectionPressureOf(s, this.spec.thresholds);
    const target = Math.min(1, Math.max(0, (this.pressure - LOOSE_BELOW) / (TIGHT_ABOVE - LOOSE_BELOW)));
    this.tightness = target >= this.tightness ? target : Math.max(target, this.tightness - LOOSEN_PER_TICK);
    return this.tightness;
  }

  /** The window in force for a configured window of `ms`: never below min(ms, minMs), never above ms. */
  apply(ms: number): number {
    const floor = Math.min(ms, this.spec.minMs);
    return Math.round(ms - this.tightness * (ms - floor));
  }
}
