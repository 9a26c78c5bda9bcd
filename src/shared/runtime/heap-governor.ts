/**
 * Keeps the heap's garbage from becoming resident memory under connection churn. A flood of short
 * connections (slowloris turned over every second, connect floods) leaves 10 to 30 MB of garbage per
 * second; Bun's collector lets it pile up, and the process's RSS rose from 61 to 145 MB in a 5,000-
 * connection slowloris (bench/attack.ts). While the RSS is over `budgetBytes`, a full collection runs
 * whenever the heap has grown since the last one by `growthBytes` or a quarter of what the last one left,
 * whichever is more (a large live heap, a full spent set, is not collected four times a second),
 * checked every `everyMs`. Below the
 * budget nothing runs: a forced collection costs about 10 ms of loop time, and at 10,000 handshakes/s
 * collecting regardless cut the throughput by 8-15 % (bench/handshake.ts). Bun only: Deno (V8)
 * exposes no collection call without flags, and its collector is more eager.
 * @module
 */

declare const Bun: { gc(force: boolean): void } | undefined;

export interface HeapGovernor {
  /** Collections so far, and the loop time they took, ms. */
  readonly collections: number;
  readonly pausedMs: number;
  stop(): void;
}

export function startHeapGovernor(budgetBytes = 80 * 1024 * 1024, growthBytes = 2 * 1024 * 1024, everyMs = 250): HeapGovernor | null {
  if (typeof Bun === "undefined" || typeof Bun.gc !== "function") return null;
  const gc = Bun.gc;
  let base = process.memoryUsage().heapUsed;
  const g = { collections: 0, pausedMs: 0, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss < budgetBytes || m.heapUsed - base < Math.max(growthBytes, base / 4)) return;
    const t0 = performance.now();
    gc(true);
    g.collections++;
    g.pausedMs += performance.now() - t0;
    base = process.memoryUsage().heapUsed;
  }, everyMs);
  (timer as { unref?: () => void }).unref?.();
  return g;
}
