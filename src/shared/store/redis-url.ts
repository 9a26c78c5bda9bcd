/**
 * Parses the address of the shared store: `redis://HOST:PORT/DB` (one server), or
 * `redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME/DB` (the primary found through Redis
 * Sentinel, https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/, and followed
 * across failovers). No TLS, no credentials in the URL (they would end up in logs and error messages:
 * passwords come from the environment or a file, config/store-secrets.ts), no query options.
 * @module
 */

export class RedisUrlError extends TypeError {
  readonly code = "BAD_REDIS_URL";
  constructor(message: string) {
    super(message);
    this.name = "RedisUrlError";
  }
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** One Redis server at a fixed address. */
export interface RedisServerTarget extends HostPort {
  readonly kind: "redis";
  readonly db: number;
  /** The URL as it may be shown in logs. */
  readonly url: string;
}

/** The primary of `masterName`, as the sentinels say. */
export interface RedisSentinelTarget {
  readonly kind: "sentinel";
  readonly sentinels: readonly HostPort[];
  readonly masterName: string;
  readonly db: number;
  readonly url: string;
}

export type RedisTarget = RedisServerTarget | RedisSentinelTarget;

/** Most sentinels listed in one URL. */
export const MAX_SENTINELS = 16;

/** Parses either form (see the module header). */
export function parseStoreUrl(url: string): RedisTarget {
  return url.startsWith("redis+sentinel:") ? parseSentinelUrl(url) : parseRedisUrl(url);
}

/** `redis://HOST[:PORT][/DB]`; the port defaults to 6379 and the database to 0. */
export function parseRedisUrl(url: string): RedisServerTarget {
  const bad = (why: string) => new RedisUrlError(`Invalid Redis URL "${_redact(url)}": ${why} (expected redis://HOST:PORT/DB)`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad("not a URL");
  }
  if (u.protocol !== "redis:") throw bad(`scheme "${u.protocol.replace(/:$/, "")}" is not supported, only redis and redis+sentinel`);
  if (u.username || u.password) throw bad("credentials in the URL are not supported (give the password by WISDOM_STORE_PASSWORD or a file)");
  if (u.search || u.hash) throw bad("query and fragment are not supported");
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw bad("missing host");
  const port = u.port === "" ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${u.port} is out of range`);
  const db = _db(u.pathname.replace(/^\//, ""), bad);
  return { kind: "redis", host, port, db, url: `redis://${u.host}/${db}` };
}

/**
 * `redis+sentinel://HOST[:PORT][,HOST[:PORT]...]/MASTER_NAME[/DB]`: sentinel ports default to 26379,
 * the database to 0. IPv6 hosts in brackets. The URL parser of the platform cannot take a host list,
 * so this one splits it by hand.
 */
export function parseSentinelUrl(url: string): RedisSentinelTarget {
  const bad = (why: string) =>
    new RedisUrlError(`Invalid Redis Sentinel URL "${_redact(url)}": ${why} (expected redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME/DB)`);
  // No part of a sentinel URL may hold "@": any "@" is credentials (a password may hold "/"), refused
  // before anything of the URL is quoted back.
  if (url.includes("@")) throw bad("credentials in the URL are not supported (give the password by WISDOM_STORE_SENTINEL_PASSWORD or a file)");
  const m = /^redis\+sentinel:\/\/([^/?#]*)(\/[^?#]*)?$/.exec(url);
  if (!m) throw bad(/[?#]/.test(url) ? "query and fragment are not supported" : "not a redis+sentinel:// URL");
  const authority = m[1]!;
  if (authority.includes("@")) throw bad("credentials in the URL are not supported (give the password by WISDOM_STORE_PASSWORD or a file)");
  if (authority === "") throw bad("missing sentinel address");
  const parts = authority.split(",");
  if (parts.length > MAX_SENTINELS) throw bad(`more than ${MAX_SENTINELS} sentinels`);
  const sentinels = parts.map((p) => _hostPort(p, 26379, bad));
  const seen = new Set<string>();
  for (const s of sentinels) {
    const k = `${s.host}|${s.port}`;
    if (seen.has(k)) throw bad(`sentinel ${_show(s)} is listed twice`);
    seen.add(k);
  }
  const path = (m[2] ?? "").replace(/^\//, "").split("/");
  const masterName = path[0] ?? "";
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(masterName)) throw bad(masterName === "" ? "missing master name" : `master name "${masterName}" must be 1 to 64 of A-Z a-z 0-9 . _ -`);
  if (path.length > 2) throw bad("too many path segments");
  const db = _db(path[1] ?? "", bad);
  return { kind: "sentinel", sentinels, masterName, db, url: `redis+sentinel://${sentinels.map(_show).join(",")}/${masterName}/${db}` };
}

function _hostPort(s: string, defaultPort: number, bad: (why: string) => RedisUrlError): HostPort {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(s);
  if (!m) throw bad(s === "" ? "empty sentinel address" : `"${s}" is not HOST or HOST:PORT`);
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65535) throw bad(`port ${m[3]} is out of range`);
  return { host: (m[1] ?? m[2]!).toLowerCase(), port };
}

function _show(h: HostPort): string {
  return `${h.host.includes(":") ? `[${h.host}]` : h.host}:${h.port}`;
}

function _db(path: string, bad: (why: string) => RedisUrlError): number {
  if (path !== "" && !/^\d{1,2}$/.test(path)) throw bad(`database "${path}" must be a number from 0 to 99`);
  return path === "" ? 0 : Number(path);
}

/**
 * The URL with any credentials cut: everything between "//" and the last "@" (a password may itself
 * hold "/", "@", "?" or "#"; no part after the authority of a store URL may hold "@").
 */
export function redactUrl(url: string): string {
  return url.replace(/^([^:/]*:\/\/).*@/s, "$1***@");
}

const _redact = redactUrl;
