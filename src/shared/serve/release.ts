/**
 * A shutdown step that cannot stop the ones after it: a failure is logged ("a shutdown step failed") and
 * swallowed, so the steps an AsyncDisposableStack holds all run, the firewall's table included.
 * @module
 */
import type { Logger } from "../observe/logger.ts";

export function releaseStep(log: Logger, step: () => unknown): () => Promise<void> {
  return async () => {
    try {
      await step();
    } catch (err) {
      log.warn("a shutdown step failed", { error: (err as Error).message });
    }
  };
}
