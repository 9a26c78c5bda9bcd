/**
 * RedisConnection (store/redis-connection.ts) over Bun's built-in Redis client (`RedisClient` from
 * "bun", native code): per call it costs the caller a fraction of what ioredis does, which is most of
 * what a gate instance spends on Redis. Its own reconnection is off: this adapter reconnects with the
 * same capped backoff as the ioredis one, forever, and names the connection again each time.
 * @module
 */
import { connectWithin, type RedisConnection, type RedisConnectionOptions, reconnectDelayMs } from "../store/redis-connection.ts";

// The compiled binary is bundled as CommonJS, where import.meta and top-level "bun" imports of a
// lazily loaded module are not available: require() works in both (see native-sha256.ts).
declare const require: ((id: string) => any) | undefined;

interface _BunRedisClient {
  connect(): Promise<void>;
  send(command: string, args: string[]): Promise<unknown>;
  close(): void;
  readonly connected: boolean;
  onconnect: (() => void) | null;
  onclose: ((err?: Error) => void) | null;
}

/** A connection through Bun's client, or null when this runtime has none. */
export function bunRedisConnection(o: RedisConnectionOptions): RedisConnection | null {
  if (typeof require !== "function") return null;
  let RedisClient: (new (url: string, opts: object) => _BunRedisClient) | undefined;
  try {
    RedisClient = require("bun").RedisClient;
  } catch {
    return null;
  }
  if (typeof RedisClient !== "function") return null;
  if (o.target.kind !== "redis") return null;
  const { host, port, db } = o.target;
  // The password rides in the URL given to the client only (never the one shown in logs).
  const auth = o.password?.redis ? `:${encodeURIComponent(o.password.redis)}@` : "";
  const client = new RedisClient(`redis://${auth}${host.includes(":") ? `[${host}]` : host}:${port}/${db}`, {
    autoReconnect: false,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    connectionTimeout: o.connectTimeoutMs,
  });
  let closed = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connect = async () => {
    await client.connect();
    // Only a label for CLIENT LIST: a server that refuses it (ACL, renamed command) is still usable.
    await client.send("CLIENT", ["SETNAME", o.name]).catch(() => undefined);
    attempt = 0;
    o.onUp();
  };
  const retry = () => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) connect().catch(retry);
    }, reconnectDelayMs(attempt++));
  };
  client.onclose = (err) => {
    if (closed) return;
    o.onDown(err?.message || "connection closed");
    retry();
  };
  return {
    library: "bun",
    async open() {
      try {
        await connectWithin(connect(), o.connectTimeoutMs + 100);
      } catch (err) {
        retry();
        throw err;
      }
    },
    send: (command, args) => client.send(command, args.map(String)),
    get connected() {
      return client.connected;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      client.close();
    },
  };
}
