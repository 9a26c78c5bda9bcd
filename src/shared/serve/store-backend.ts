/**
 * The spent set (and, with a shared store, the rate limiter and pressure board) from `store:`: a Redis
 * backend whose events become log lines and metrics, or the memory store with its restart fence.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import type { Logger } from "../observe/logger.ts";
import type { Metrics } from "../observe/metrics.ts";
import { MemoryRateLimiter } from "../defence/rate-limiter.ts";
import { MemorySpentStore } from "../store/memory.ts";
// Types only: the Redis backend's modules load with `store: redis://` (every gate thread pays, in
// resident memory, for each module it loads).
import type { Passwords, RedisBackend } from "../store/redis.ts";
import type { SpentStore } from "../store/types.ts";
import { redactUrl } from "../store/redis-url.ts";

/** A store URL for logs: no credentials (the schema allows none, but logs must never carry a secret). */
export { redactUrl };

export interface StoreBackendOptions {
  /** A store handed in by the caller (tests, the library); no Redis backend is built then. */
  readonly store?: SpentStore;
  readonly storePasswords?: Passwords;
  readonly instanceId: string;
  readonly now?: () => number;
  readonly log: Logger;
  /** The metrics, once they exist: events during the connect are logged but not counted. */
  readonly metrics: () => Metrics | null;
}

export interface StoreBackend {
  readonly store: SpentStore;
  readonly redis: RedisBackend | null;
}

export async function openStoreBackend(c: ServeConfig, o: StoreBackendOptions): Promise<StoreBackend> {
  const log = o.log;
  const useRedis = !o.store && c.store !== "memory";
  const [backend, clients] = useRedis ? await Promise.all([import("../store/redis.ts"), import("../runtime/redis-clients.ts")]) : [null, null];
  const redis =
    backend && clients
      ? await backend.createRedisBackend(c.store, {
          connect: clients.redisClients,
          failMode: c.store_failure,
          commandTimeoutMs: c.store_timeout_ms,
          instanceId: o.instanceId,
          // Restart key: a reload that raises clock_skew_ms takes effect for the fence at the next start.
          clockSkewMs: c.clock_skew_ms,
          now: o.now,
          password: o.storePasswords,
          memoryFallback: { store: new MemorySpentStore({ maxEntries: c.spent_max_entries }), limiter: new MemoryRateLimiter() },
          onEvent: (e) => {
            const m = o.metrics();
            if (e.type === "down") log.warn("store down", { store: redactUrl(c.store), detail: e.detail, failure_mode: c.store_failure });
            else if (e.type === "up") {
              log.info("store up", { store: redactUrl(c.store), ...(e.downMs === undefined ? {} : { down_ms: e.downMs }) });
              if (e.downMs !== undefined && m) {
                m.storeOutages.inc();
                m.storeOutageSeconds.inc(e.downMs / 1000);
                m.storeLastOutage.set(e.downMs / 1000);
              }
            } else if (e.type === "fence") {
              const fields = { store: redactUrl(c.store), detail: e.detail, fence: new Date(e.fenceMs).toISOString() };
              if (e.raised) log.warn("store server changed", fields);
              else log.info("store fence", fields);
              m?.storeFence.set(e.fenceMs / 1000);
              if (e.raised) m?.storeServerChanges.inc();
            } else if (e.source === "spent") m?.storeFallbacks.inc(); // proofs checked in memory only
          },
        })
      : null;
  // Restart-safe: proofs of challenges issued before this start may have been redeemed by the previous
  // process, whose spent set is gone; they are refused (EXPIRED, ask again). See store/memory.ts.
  const store = o.store ?? redis?.store ?? new MemorySpentStore({ maxEntries: c.spent_max_entries, fenceMs: (o.now ?? Date.now)() });
  return { store, redis };
}
