/**
 * The Bun heap governor's forced collections as the benches report them (forced_gc_by_trigger): a gate
 * server started by `bench/handshake.ts server gate ...` prints one JSON line of these on SIGUSR2, read
 * from its /metrics (every thread's: the main thread's registry sums them). 0 on Deno (no governor).
 * @module
 */

/** Forced collections by trigger (runtime/heap-governor.ts) and the loop time they took, ms. */
export type ForcedGc = { heap: number; rss: number; period: number; ms: number };

/** Read from a /metrics text: wisdom_forced_gc_total{trigger=...} and wisdom_forced_gc_seconds_total. */
export function forcedGcOf(metricsText: string): ForcedGc {
  const read = (re: RegExp) => Number(re.exec(metricsText)?.[1] ?? 0);
  const by = (t: string) => read(new RegExp(`^wisdom_forced_gc_total\\{trigger="${t}"\\} (\\S+)$`, "m"));
  return { heap: by("heap"), rss: by("rss"), period: by("period"), ms: read(/^wisdom_forced_gc_seconds_total (\S+)$/m) * 1000 };
}

/** a + k b (k = -1: what happened between two readings). */
export function addForcedGc(a: ForcedGc, b: ForcedGc, k = 1): ForcedGc {
  return { heap: a.heap + k * b.heap, rss: a.rss + k * b.rss, period: a.period + k * b.period, ms: a.ms + k * b.ms };
}
