/**
 * RedisConnection (redis-connection.ts) over ioredis: what Deno and Node use.
 * @module
 */
import { Redis } from "ioredis";
import { connectWithin, type RedisConnection, type RedisConnectionOptions, reconnectDelayMs } from "./redis-connection.ts";

export function ioredisConnection(o: RedisConnectionOptions): RedisConnection {
  const { target } = o;
  const client = new Redis({
    host: target.host,
    port: target.port,
    db: target.db,
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
  });
  let closing: Promise<void> | null = null;
  client.on("ready", () => o.onUp());
  client.on("close", () => o.onDown("connection closed"));
  client.on("error", (err: Error) => o.onDown(err.message)); // also keeps ioredis from logging it
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
