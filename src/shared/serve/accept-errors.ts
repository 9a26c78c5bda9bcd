/**
 * Failed accepts (EMFILE and the like): every one is counted; the log says so at most every 5 s, with
 * how many since the last line.
 * @module
 */
import type { Logger } from "../observe/logger.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { AcceptError } from "../transport/types.ts";

export interface AcceptErrorContext {
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly mono: () => number;
  readonly openConnections: () => number;
  readonly maxConnections: () => number | null;
  readonly openFileLimit: number | null;
}

export function acceptErrorReporter(x: AcceptErrorContext): (e: AcceptError) => void {
  let failures = 0;
  let logged = 0;
  let loggedAt = -Infinity;
  return (e) => {
    x.metrics.acceptFailed(e.code);
    failures++;
    const now = x.mono();
    if (now - loggedAt < 5000) return;
    loggedAt = now;
    x.log.error("accept failed: new connections wait in the kernel's queue", {
      code: e.code, detail: e.message, failures: failures - logged, open_connections: x.openConnections(),
      max_connections: x.maxConnections(), open_file_limit: x.openFileLimit,
    });
    logged = failures;
  };
}
