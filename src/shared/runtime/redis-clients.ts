/**
 * The Redis connection factory the composition root hands to the store (store/redis.ts): Bun's built-in
 * client on Bun for redis:// (runtime/redis-bun.ts), ioredis elsewhere and for Sentinel
 * (store/redis-ioredis.ts). The store itself never picks a runtime.
 * @module
 */
import type { RedisConnection, RedisConnectionFactory, RedisConnectionOptions, RedisLibrary } from "../store/redis-connection.ts";
import { runtimeName } from "./name.ts";

export const redisClients: RedisConnectionFactory = async (o: RedisConnectionOptions, library: RedisLibrary | "auto" = "auto"): Promise<RedisConnection> => {
  if (o.target.kind === "sentinel" && library === "bun") throw new Error("Redis store: Bun's built-in client does not speak Sentinel; use ioredis (library auto)");
  if (o.target.kind === "redis" && (library === "bun" || (library === "auto" && runtimeName() === "bun"))) {
    const { bunRedisConnection } = await import("./redis-bun.ts");
    const c = bunRedisConnection(o);
    if (c) return c;
    if (library === "bun") throw new Error("Redis store: this runtime has no built-in Redis client (Bun >= 1.2.9 has one)");
  }
  const { ioredisConnection } = await import("../store/redis-ioredis.ts");
  return ioredisConnection(o);
};
