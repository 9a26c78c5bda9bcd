/**
 * The quote source from `quotes:`, its failures and breaker states reported to the metrics. Built at
 * start and again on every reload (so edited quote files are read again); a bad spec is a ConfigError.
 * @module
 */
import { ConfigError } from "../config/errors.ts";
import type { ServeConfig } from "../config/schema.ts";
import type { Logger } from "../observe/logger.ts";
import type { Metrics } from "../observe/metrics.ts";
import { createQuoteSource, QuoteConfigError } from "../quotes/from-config.ts";
import type { QuoteSource } from "../quotes/types.ts";

export function quoteBuilder(o: { baseDir?: string; log: Logger; metrics: Metrics }): (cfg: ServeConfig) => Promise<QuoteSource> {
  return async (cfg) => {
    try {
      return await createQuoteSource(cfg.quotes, {
        baseDir: o.baseDir,
        warn: (m) => o.log.warn(m),
        observer: {
          failed: (source, reason) => o.metrics.quoteSourceFailed(source, reason),
          breakerState: (source, state) => o.metrics.quoteSourceBreakerState(source, state),
        },
      });
    } catch (err) {
      if (err instanceof QuoteConfigError) throw new ConfigError([...err.problems]);
      throw err;
    }
  };
}
