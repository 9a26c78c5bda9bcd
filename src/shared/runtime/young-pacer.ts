/**
 * Young (eden) collections paced by the work a thread does, on Bun. JavaScriptCore collects a thread's
 * young objects once a whole allocation budget has been spent, and a thread that holds the shared tables
 * (a large SharedArrayBuffer, counted as heap) gets a larger budget still. Until then every allocation
 * takes a fresh heap block, whose pages JavaScriptCore's "JSCWarmUp" thread faults in ahead of it: CPU on
 * a second thread, and caches that never hold the young objects. Asking for an eden collection every
 * `every` units of work (`Bun.gc(false)`: a request, collected soon after on the same thread; a check
 * with BUN_JSC_logGC=1 shows "EdenCollection") keeps the young generation small and warm.
 *
 * What it buys is measured in README, Performance (bench/handshake.ts's cpu_share_by_thread and peak RSS,
 * bench/shared-tables.ts --young-every). Elsewhere (Deno's V8 sizes its young generation itself, Node)
 * nothing happens.
 * @module
 */
declare const Bun: { gc(force: boolean): void } | undefined;

/** Connections a gate thread accepts between two young collections (`wisdom serve`, the library's serve()). */
export const GATE_YOUNG_EVERY = 500;

export interface YoungPacer {
  /** One unit of work done: every `every`th asks for a young collection. */
  tick(): void;
  /** Young collections asked for so far. */
  readonly collections: number;
}

/** A pacer where the runtime can collect on request (Bun), else null. `every`: an integer >= 1. */
export function youngPacer(every: number): YoungPacer | null {
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`young collection every ${every}: expected an integer >= 1`);
  if (typeof Bun === "undefined" || typeof Bun.gc !== "function") return null;
  const gc = Bun.gc;
  let left = every;
  const p = {
    collections: 0,
    tick(): void {
      if (--left > 0) return;
      left = every;
      p.collections++;
      gc(false);
    },
  };
  return p;
}
