/**
 * Honest clients for `wisdom load`: start `ratePerSec` fetches per second (open loop, bounded in flight),
 * each from its own source address, with a real solver; record latency, solve time and failures.
 * @module
 */
import { FetchError } from "../client/errors.ts";
import { fetchQuote, type SolverLike } from "../client/fetch.ts";
import type { Target } from "./_conn.ts";
import { BLOCKS, sourceAddress } from "./sources.ts";

export interface LegitCounts {
  ok: number;
  failed: number;
  failures: Record<string, number>;
  latencies: number[];
  solves: number[];
  overheads: number[];
  /** Lowest and highest difficulty of the challenges behind the quotes (minBits: Infinity until one). */
  minBits: number;
  maxBits: number;
  /** Solver attempts of the solves that won a quote, and the solving time they took. */
  attempts: number;
  solveMsTotal: number;
}

export const newLegit = (): LegitCounts => ({ ok: 0, failed: 0, failures: {}, latencies: [], solves: [], overheads: [], minBits: Infinity, maxBits: 0, attempts: 0, solveMsTotal: 0 });

export interface LegitOptions {
  ratePerSec: number;
  solver: SolverLike;
  timeoutMs: number;
  maxInFlight?: number;
  /** Index of the first source address (a later phase continues where an earlier one stopped). */
  firstSource?: number;
}

/** Runs until `t.until` and then waits for the fetches in flight; returns the next unused source index. */
export async function legit(t: Target, c: LegitCounts, o: LegitOptions): Promise<number> {
  const inFlight = new Set<Promise<void>>();
  const gap = 1000 / o.ratePerSec;
  let i = o.firstSource ?? 0;
  let nextAt = performance.now();
  while (performance.now() < t.until) {
    const wait = nextAt - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    nextAt += gap;
    if (performance.now() >= t.until) break;
    if (inFlight.size >= (o.maxInFlight ?? 64)) {
      c.failed++;
      c.failures.overloaded_client = (c.failures.overloaded_client ?? 0) + 1;
      continue;
    }
    const addr = sourceAddress(BLOCKS.legit, i++);
    const t0 = performance.now();
    const p = fetchQuote(t.host, t.port, { transport: t.transport, solver: o.solver, timeoutMs: o.timeoutMs, localAddress: addr, maxDifficulty: 32 })
      .then((r) => {
        const ms = performance.now() - t0;
        c.ok++;
        c.latencies.push(ms);
        c.solves.push(r.solve_ms);
        c.overheads.push(Math.max(0, ms - r.solve_ms));
        c.minBits = Math.min(c.minBits, r.difficulty);
        c.maxBits = Math.max(c.maxBits, r.difficulty);
        c.attempts += r.attempts;
        c.solveMsTotal += r.solve_ms;
      })
      .catch((err) => {
        c.failed++;
        const code = err instanceof FetchError ? err.code : "ERROR";
        c.failures[code] = (c.failures[code] ?? 0) + 1;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return i;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
