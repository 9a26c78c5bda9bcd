/**
 * The adaptive loop: every adaptive_tick_ms, sample the pressure (defence/sampler.ts), let the windows
 * follow this instance's connections, and step the difficulty controller. With a shared store the
 * controller sees the pressure summed over every live instance, so all of them agree on the difficulty.
 * @module
 */
import { PressureSampler } from "../defence/sampler.ts";
import type { Gate } from "../gate/gate.ts";
import type { GateObserver } from "../gate/types.ts";
import { LoopDelayMonitor } from "../observe/loop-delay.ts";
import type { Logger } from "../observe/logger.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { GateStats } from "../observe/stats.ts";
import type { PressureBoard } from "../store/types.ts";
import type { ServeState } from "./state.ts";

export interface AdaptiveLoopParts {
  readonly state: ServeState;
  readonly gate: Gate;
  readonly stats: GateStats;
  readonly openConnections: () => number;
  readonly metrics: Metrics;
  readonly observer: GateObserver;
  readonly log: Logger;
  /** The shared pressure board and this instance's id on it, with a shared store. */
  readonly shared: { readonly board: PressureBoard; readonly instanceId: string } | null;
}

export interface AdaptiveLoop {
  /** The event-loop delay monitor the samples read (the debug snapshot shows its last value). */
  readonly loop: LoopDelayMonitor;
  [Symbol.dispose](): void;
}

/** Announce the starting difficulty and windows, then tick until disposed. */
export function startAdaptiveLoop(p: AdaptiveLoopParts): AdaptiveLoop {
  const { state, gate, stats, metrics, log } = p;
  const c = state.config;
  p.observer.difficultyChanged?.(state.defence.controller?.bits ?? c.difficulty, 0, 0, "start");
  metrics.difficultyFloor.set(c.difficulty);
  metrics.difficultyCeiling.set(state.defence.adaptive ? c.difficulty_max : c.difficulty);
  metrics.windowSeconds.set(c.first_byte_timeout_ms / 1000);
  const loop = new LoopDelayMonitor().start();
  const sampler = new PressureSampler({
    accepted: () => stats.accepted,
    challenges: () => stats.challenges,
    failedProofs: () => Object.values(stats.proofsFailed).reduce((a, b) => a + b, 0),
    validProofs: () => stats.proofsOk,
    openConnections: p.openConnections,
    loopDelayMs: () => loop.takeMax(),
    sourceSaturation: () => gate.quotes.saturation?.() ?? 0,
  });
  sampler.sample(gate.mono());
  const tick = async () => {
    let sample = sampler.sample(gate.mono());
    metrics.loopDelay.set(sample.loopDelayMs / 1000);
    // Windows follow this instance's own connections: a flood elsewhere does not shorten them here.
    const windows = state.defence.windows;
    if (windows) {
      const before = windows.tightness;
      windows.update(sample);
      metrics.connectionPressure.set(windows.pressure);
      metrics.windowSeconds.set(windows.apply(gate.settings.timeouts.firstByteMs) / 1000);
      if ((before === 0) !== (windows.tightness === 0)) {
        log.info(windows.tightness > 0 ? "windows tightened" : "windows restored", {
          first_byte_ms: windows.apply(gate.settings.timeouts.firstByteMs),
          frame_ms: windows.apply(gate.settings.timeouts.frameMs),
          connection_pressure: Math.round(windows.pressure * 100) / 100,
        });
      }
    }
    const controller = state.defence.controller;
    if (!controller || !state.defence.adaptive) return;
    const from = controller.bits;
    let sharedBits = 0;
    if (p.shared) {
      const rep = await p.shared.board.exchange(p.shared.instanceId, { ...sample, bits: controller.bits }, state.config.adaptive_tick_ms * 3);
      sample = rep.aggregate;
      sharedBits = rep.maxBits;
    }
    const step = controller.update(sample);
    // Rising pressure anywhere raises everyone: adopt the highest level another instance already reached.
    if (sharedBits > controller.bits && step.pressure >= 0.5) controller.bits = Math.min(controller.spec.ceiling, sharedBits);
    metrics.pressure.set(step.pressure);
    if (controller.bits !== from) {
      p.observer.difficultyChanged?.(controller.bits, from, step.pressure, step.driver);
      log.info("difficulty changed", { from, to: controller.bits, pressure: Math.round(step.pressure * 100) / 100, driver: step.driver });
    }
  };
  let ticking = false;
  // adaptive_tick_ms is a restart key: the interval keeps the value it started with.
  const ticker = setInterval(async () => {
    if (ticking) return; // a slow store must not pile ticks up
    ticking = true;
    try {
      await tick();
    } catch (err) {
      // An observer or a quote source's saturation() that throws must not become an unhandled rejection
      // (which ends the process on some runtimes), nor stop the next tick.
      log.error("controller tick failed", { error: (err as Error)?.message ?? String(err) });
    } finally {
      ticking = false;
    }
  }, state.config.adaptive_tick_ms);
  (ticker as { unref?: () => void }).unref?.();
  return {
    loop,
    [Symbol.dispose]: () => {
      clearInterval(ticker);
      loop.stop();
    },
  };
}
