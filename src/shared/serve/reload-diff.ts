/**
 * What a reload changes: the keys whose values differ, those of them that take a restart (RESTART_KEYS),
 * and the configuration to apply, which keeps the running value of every restart key.
 * @module
 */
// Type only: the schema's module builds every validator (valibot) when loaded, which a gate thread,
// given an already checked configuration, never needs (serve/gate-thread.ts).
import type { ServeConfig } from "../config/schema.ts";

/** Keys whose change takes a restart; a reload reports them and keeps the running value. */
export const RESTART_KEYS: readonly (keyof ServeConfig)[] = [
  "listen", "metrics_listen", "log_format", "log_level", "spent_max_entries", "threads", "debug_runtime", "store", "store_failure", "store_timeout_ms", "store_password_file", "store_sentinel_password_file",
  "adaptive_tick_ms", "firewall", "firewall_refusals", "firewall_window_ms", "firewall_ban_ms", "firewall_max_entries", "firewall_table",
  "profile_dir",
];

export interface ReloadReport {
  readonly changed: string[];
  readonly needRestart: string[];
}

export interface ReloadDiff extends ReloadReport {
  /** The next configuration with every restart key at its running value. */
  readonly applied: ServeConfig;
}

/** Both configurations are whole (every key, defaults filled in): the keys of either are every key. */
export function reloadDiff(running: ServeConfig, next: ServeConfig): ReloadDiff {
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  const changed = [...keys].filter((k) => JSON.stringify((running as Record<string, unknown>)[k]) !== JSON.stringify((next as Record<string, unknown>)[k]));
  const needRestart = changed.filter((k) => (RESTART_KEYS as readonly string[]).includes(k));
  const applied: ServeConfig = { ...next };
  for (const k of needRestart) (applied as Record<string, unknown>)[k] = (running as Record<string, unknown>)[k];
  return { changed, needRestart, applied };
}
