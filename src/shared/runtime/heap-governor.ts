/**
 * Keeps the heap's garbage from becoming resident memory under connection churn. A flood of short
 * connections (slowloris turned over every second, connect floods) leaves 10 to 30 MB of garbage per
 * second; Bun's collector lets it pile up, and the process's RSS rose from 61 to 145 MB in a 5,000-
 * connection slowloris (bench/attack.ts). While the RSS is over `budgetBytes`, a full collection runs
 * whenever the heap has grown since the last one by `growthBytes` or a quarter of what the last one left,
 * whichever is more (a large live heap, a full spent set, is not collected four times a second), or
 * when the RSS has grown by `rssStepBytes` since the last one (or since it crossed the budget). The second
 * trigger is for memory the heap's figures do not show: a closed socket's native memory (Bun's socket
 * and its buffers) is freed only once the collector finalizes the socket's JS object, so under churn the
 * RSS climbs while the heap looks quiet. Measured in the mixed attack (bench/attack.ts, 70-87k handshakes
 * in 30 s): peak RSS 104-106 MB with the heap trigger alone, 93-94 MB with a 1 MB RSS step, for the same
 * throughput and honest p99. The RSS trigger keeps the collections' share of loop time under about 10 %
 * (a live heap that grows, a filling spent set, makes each collection longer). Checked every `everyMs`:
 * 100 ms rather than 250 answers the climb sooner (peaks of 89-96 MB against 94-98 MB in alternating
 * runs, the 96 at the highest attack rate measured, 120k handshakes in 30 s). Both triggers answer only
 * new highs, so over the budget the RSS still ratcheted up from peak to peak (issue 14, two gate threads).
 * So over the budget it also collects `periodMs` after the last collection if `periodChurn` connections
 * were accepted since (an idle server over the budget, a full spent set, is left alone). No
 * collection comes sooner than ten times the last one's pause after it. /metrics counts them by the
 * trigger that fired (wisdom_forced_gc_total{trigger="heap"|"rss"|"period"}: the heap, the RSS step, the
 * period; when two are due at once, the first of those) and the loop time they took
 * (wisdom_forced_gc_seconds_total); docs/OPERATIONS.md has the figures. Below the
 * budget nothing runs: a forced collection costs about 10 ms of loop time, and at 10,000 handshakes/s
 * collecting regardless cut the throughput by 8-15 % (bench/handshake.ts). Bun only: Deno (V8)
 * exposes no collection call without flags, and its collector is more eager.
 *
 * The budget is the process's, and each gate thread of `serve --threads` runs its own governor on the
 * process's RSS; so the budget grows by what one more thread costs idle (governorBudgetBytes). At 80 MB
 * for any thread count, two threads at a steady 1,500 handshakes/s each sat just over it (84 MB) while
 * one thread sat under (75-80 MB): both threads kept forcing collections, and two threads cost 22-26 %
 * more CPU a handshake than one instead of 5-13 % (bench/handshake.ts --rate-per-thread 1500; README).
 * @module
 */

declare const Bun: { gc(force: boolean): void } | undefined;

/** The RSS budget of a one-thread process. */
export const GOVERNOR_BUDGET_BYTES = 80 * 1024 * 1024;
/**
 * What each further gate thread adds to the budget: its idle cost. Idle, `serve --threads 2` is
 * 61.4-61.6 MB and `--threads 1` 54.3-54.8 MB (bench/idle-rss.ts, docs/OPERATIONS.md).
 */
export const GOVERNOR_THREAD_BYTES = 7 * 1024 * 1024;

/** The budget of a process of `threads` gate threads (an integer from 1). */
export function governorBudgetBytes(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`heap governor: threads ${threads}: expected an integer >= 1`);
  return GOVERNOR_BUDGET_BYTES + (threads - 1) * GOVERNOR_THREAD_BYTES;
}

/** What made a collection due (the first that holds, in this order). */
export const GOVERNOR_TRIGGERS = ["heap", "rss", "period"] as const;
export type GovernorTrigger = (typeof GOVERNOR_TRIGGERS)[number];

export interface HeapGovernor {
  /** The RSS over which it collects, bytes. */
  readonly budgetBytes: number;
  /** Collections so far, and the loop time they took, ms. */
  readonly collections: number;
  readonly pausedMs: number;
  /** `collections` by trigger (they sum to it). */
  readonly byTrigger: Readonly<Record<GovernorTrigger, number>>;
  stop(): void;
}

/** When and how often the governor collects. */
export interface HeapGovernorOptions {
  /** Nothing runs while the RSS is under this (default GOVERNOR_BUDGET_BYTES). */
  readonly budgetBytes?: number;
  /** Heap growth since the last collection that triggers one (or a quarter of what the last one left). */
  readonly growthBytes?: number;
  /** How often the RSS and heap are read, ms. */
  readonly everyMs?: number;
  /** RSS growth since the last collection that triggers one. */
  readonly rssStepBytes?: number;
  /** Over the budget, collect this long after the last collection (0: never on time alone)... */
  readonly periodMs?: number;
  /**
   * ...if `churn` (a count that only grows: connections accepted) has grown by `periodChurn` since then:
   * an idle server is left alone. Bun's heap figures cannot say it instead: they change only when a
   * collection runs. Without `churn`, time alone.
   */
  readonly churn?: () => number;
  readonly periodChurn?: number;
}

export function startHeapGovernor(o: HeapGovernorOptions = {}): HeapGovernor | null {
  if (typeof Bun === "undefined" || typeof Bun.gc !== "function") return null;
  const { budgetBytes = GOVERNOR_BUDGET_BYTES, growthBytes = 2 * 1024 * 1024, everyMs = 100, rssStepBytes = 1024 * 1024, periodMs = 200, churn, periodChurn = 100 } = o;
  const gc = Bun.gc;
  let base = process.memoryUsage().heapUsed;
  let rssBase = budgetBytes;
  /** When the last collection began: the period counts from there, as the ticks do (a tick early by a little jitter still counts). */
  let last = performance.now();
  let churnAtLast = churn?.() ?? 0;
  /** No collection before this: ten times the last collection's pause after it (at most about a tenth of loop time). */
  let notBefore = 0;
  const byTrigger = Object.fromEntries(GOVERNOR_TRIGGERS.map((t) => [t, 0])) as Record<GovernorTrigger, number>;
  const g = { budgetBytes, collections: 0, pausedMs: 0, byTrigger, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss < budgetBytes) return void (rssBase = budgetBytes);
    const t0 = performance.now();
    if (t0 < notBefore) return;
    const trigger: GovernorTrigger | null = m.heapUsed - base >= Math.max(growthBytes, base / 4) ? "heap"
      : m.rss - rssBase >= rssStepBytes ? "rss"
      : periodMs > 0 && t0 - last >= periodMs - everyMs / 2 && (!churn || churn() - churnAtLast >= periodChurn) ? "period"
      : null;
    if (trigger === null) return;
    gc(true);
    const t1 = performance.now();
    g.collections++;
    byTrigger[trigger]++;
    g.pausedMs += t1 - t0;
    last = t0;
    churnAtLast = churn?.() ?? 0;
    notBefore = t1 + 10 * (t1 - t0);
    const after = process.memoryUsage();
    base = after.heapUsed;
    rssBase = after.rss;
  }, everyMs);
  (timer as { unref?: () => void }).unref?.();
  return g;
}
