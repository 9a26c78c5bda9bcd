/**
 * The Bun heap governor's forced collections as the benches report them (forced_gc_by_trigger): a gate
 * server started by `bench/handshake.ts server gate ...` prints one JSON line of these on SIGUSR2, read
 * from its /metrics (every thread's: the main thread's registry sums them). 0 on Deno (no governor).
 * @module
 */
import { GOVERNOR_TRIGGERS, type GovernorTrigger } from "../src/shared/runtime/heap-governor.ts";

/** Forced collections by trigger (runtime/heap-governor.ts) and the loop time they took, ms. */
export type ForcedGc = Record<GovernorTrigger, number> & { ms: number };

/** Read from a /metrics text: wisdom_forced_gc_total{trigger=...} and wisdom_forced_gc_seconds_total (a missing series throws). */
export function forcedGcOf(metricsText: string): ForcedGc {
  const read = (name: string, re: RegExp) => {
    const m = re.exec(metricsText);
    if (!m) throw new Error(`forced collections: no ${name} in /metrics`);
    return Number(m[1]);
  };
  const by = Object.fromEntries(GOVERNOR_TRIGGERS.map((t) => [t, read(`wisdom_forced_gc_total{trigger="${t}"}`, new RegExp(`^wisdom_forced_gc_total\\{trigger="${t}"\\} (\\S+)$`, "m"))]));
  return { ...(by as Record<GovernorTrigger, number>), ms: read("wisdom_forced_gc_seconds_total", /^wisdom_forced_gc_seconds_total (\S+)$/m) * 1000 };
}

/** A server's SIGUSR2 line, checked: every trigger's count and the time, finite numbers. */
export function parseForcedGc(line: string): ForcedGc {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error(`forced collections: not JSON: ${JSON.stringify(line)}`);
  }
  const o = v as Record<string, unknown>;
  const ok = typeof v === "object" && v !== null && [...GOVERNOR_TRIGGERS, "ms"].every((k) => typeof o[k] === "number" && Number.isFinite(o[k]));
  if (!ok) throw new Error(`forced collections: expected {${[...GOVERNOR_TRIGGERS, "ms"].join(", ")}}, got ${line}`);
  return v as ForcedGc;
}

/** a + k b (k = -1: what happened between two readings). */
export function addForcedGc(a: ForcedGc, b: ForcedGc, k = 1): ForcedGc {
  return Object.fromEntries([...GOVERNOR_TRIGGERS, "ms" as const].map((f) => [f, a[f] + k * b[f]])) as ForcedGc;
}
