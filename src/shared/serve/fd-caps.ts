/**
 * Connection caps that fit the open-file limit: read once, after the runtime raised the soft limit to the
 * hard one (without /proc, as on Deno, it probes); a reload fits its new caps to the same numbers. The
 * configuration keeps the configured values; only what admission gets is clamped (defence/fd-budget.ts).
 * Gate threads share the process's descriptors: serve/threads.ts measures them once and gives every
 * thread the same numbers (a Worker then loads no node:fs for them; runtime/process-info.ts).
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import { fitCaps } from "../defence/fd-budget.ts";
import type { Logger } from "../observe/logger.ts";
import { type FdLimit, readFdLimit, type StartDescriptors, startDescriptors } from "../runtime/fd-limits.ts";

export interface FdCaps {
  /** The open-file limit as read for the fd gauges. */
  readonly fdLimit: FdLimit | null;
  /** The limit the caps are fitted to. */
  readonly limit: StartDescriptors["limit"];
  /** `cfg` with the caps admission gets. */
  fitted(cfg: ServeConfig): ServeConfig;
  /** Says whether (and why) `cfg`'s caps were clamped. */
  logFit(cfg: ServeConfig): void;
}

/** The open-file limit and the descriptors at start, as measured once per process. */
export interface MeasuredFds {
  readonly fdLimit: FdLimit | null;
  readonly start: StartDescriptors;
}

/** Reads the limit and the descriptors in use, probing for `c`'s caps where /proc cannot be read. */
export function measureFds(c: ServeConfig): MeasuredFds {
  return { fdLimit: readFdLimit(), start: startDescriptors(c.max_connections + c.fd_reserve) };
}

/** The caps `c` gets from `measured` (measured now when not given). */
export function fdCaps(c: ServeConfig, log: Logger, measured: MeasuredFds = measureFds(c)): FdCaps {
  const { fdLimit, start: fds } = measured;
  const fit = (cfg: ServeConfig) => fitCaps(cfg, { limit: fds.limit, inUse: fds.inUse, reserve: cfg.fd_reserve });
  return {
    fdLimit,
    limit: fds.limit,
    fitted: (cfg) => ({ ...cfg, ...fit(cfg).caps }),
    logFit: (cfg) => {
      const f = fit(cfg);
      if (cfg.defence === "off" && f.room !== null && cfg.max_connections > f.room) log.warn(`defence off: no connection cap applies; ${f.message}`);
      else if (f.clamped) log.warn(f.message, { open_file_limit: fds.limit, max_connections: f.caps.max_connections, read_from: fds.source });
      else log.debug(f.message, { read_from: fds.source });
    },
  };
}
