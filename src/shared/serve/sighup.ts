/**
 * SIGHUP for `serve` and `guard`: read the configuration again and apply it to the running instance.
 * An invalid configuration is refused and the running one kept; a random per-process key stays the
 * process's key (a new random one would invalidate every challenge in flight).
 * @module
 */
import { ConfigError } from "../config/load.ts";
import type { ServeConfig } from "../config/schema.ts";
import type { Secrets } from "../config/secrets.ts";
import type { Io } from "../cli/io.ts";
import type { Logger } from "../observe/logger.ts";
import type { KeySpec } from "../pow/keys.ts";
import type { ReloadReport } from "./reload-diff.ts";

export function reloadOnSighup(
  io: Io,
  log: Logger,
  read: () => { config: ServeConfig; secrets: Secrets },
  started: Secrets,
  target: { reload(config: ServeConfig, keys: readonly KeySpec[], signingId?: string): Promise<ReloadReport> },
): void {
  io.onReload?.(async () => {
    let next;
    try {
      next = read();
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      log.error("reload refused: the new configuration is invalid; keeping the running one", { problems: problems.length });
      for (const p of problems) log.error(`reload problem: ${p}`);
      return;
    }
    const secrets = started.origin === "random" && next.secrets.origin === "random" ? started : next.secrets; // keep the process key
    try {
      const r = await target.reload(next.config, secrets.keys, secrets.signingId);
      log.info("configuration reloaded", { changed: r.changed.join(",") || "nothing", key_id: secrets.signingId, keys: secrets.keys.length });
      if (r.needRestart.length > 0) log.warn("some changes take effect only after a restart", { keys: r.needRestart.join(",") });
    } catch (err) {
      log.error("reload refused; keeping the running configuration", { error: (err as Error).message });
    }
  });
}
