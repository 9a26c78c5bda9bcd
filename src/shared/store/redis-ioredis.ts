/**
 * RedisConnection (redis-connection.ts) over ioredis: what Deno and Node use, and every runtime for
 * redis+sentinel:// (ioredis asks the sentinels for the primary, connects to it, checks its role, and
 * does all that again after every lost connection, so it follows a failover).
 * @module
 */
import { Redis } from "ioredis";
import { connectWithin, type RedisConnection, type RedisConnectionOptions, reconnectDelayMs } from "./redis-connection.ts";

export function ioredisConnection(o: RedisConnectionOptions): RedisConnection {
  const { target } = o;
  const where = target.kind === "sentinel"
    ? {
      sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: target.masterName,
      role: "master" as const,
      sentinelPassword: o.password?.sentinel,
      sentinelCommandTimeout: o.connectTimeoutMs,
      // Ask the sentinels again at once when they announce a new primary, instead of waiting for the
      // old connection to fail.
      failoverDetector: true,
      sentinelRetryStrategy: (attempt: number) => reconnectDelayMs(attempt),
    }
    : { host: target.host, port: target.port };
  const client = new Redis({
    ...where,
    db: target.db,
    password: o.password?.redis,
    connectionName: o.name,
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: o.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    // A command that lost its connection already failed for its caller; never send it again later.
    autoResendUnfulfilledCommands: false,
    // Commands issued in the same tick go out as one pipeline.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => reconnectDelayMs(attempt),
    // A primary demoted to replica (a failover it survived) answers writes with READONLY: reconnect,
    // which asks the sentinels again, and resend nothing (the caller was already answered).
    reconnectOnError: (err) => /^READONLY\b/.test(err.message) ? 1 : false,
  });
  let closing: Promise<void> | null = null;
  let ended = 0;
  client.on("ready", () => {
    ended = 0;
    o.onUp();
  });
  client.on("close", () => o.onDown("connection closed"));
  client.on("error", (err: Error) => o.onDown(err.message)); // also keeps ioredis from logging it
  // ioredis gives up for good ("end") when a connection attempt is cut short from inside, as its
  // Sentinel failover detector does when +switch-master arrives while it is connecting (seen under
  // load in tests/integration/sentinel.test.ts: the instances stayed down after the failover). The
  // store must never stop reconnecting until close(): start again, with the same backoff.
  client.on("end", () => {
    if (closing) return;
    o.onDown("connection ended");
    setTimeout(() => {
      if (!closing && client.status === "end") client.connect().catch(() => undefined);
    }, reconnectDelayMs(ended++));
  });
  return {
    library: "ioredis",
    open: () => connectWithin(client.connect(), o.connectTimeoutMs + 100),
    send: (command, args) => client.call(command, ...args),
    get connected() {
      return client.status === "ready";
    },
    close() {
      closing ??= (async () => {
        if (client.status === "ready") {
          const t = setTimeout(() => client.disconnect(), 1000);
          await client.quit().catch(() => undefined);
          clearTimeout(t);
        }
        client.disconnect();
        client.removeAllListeners();
        client.on("error", () => undefined);
      })();
      return closing;
    },
  };
}
