/**
 * Parses the `redis://HOST:PORT/DB` address of the shared store. Only that form is taken: no TLS, no
 * credentials in the URL (they would end up in logs and error messages), no query options.
 * @module
 */

export class RedisUrlError extends TypeError {
  readonly code = "BAD_REDIS_URL";
  constructor(message: string) {
    super(message);
    this.name = "RedisUrlError";
  }
}

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  /** The URL as it may be shown in logs. */
  readonly url: string;
}

/** `redis://HOST[:PORT][/DB]`; the port defaults to 6379 and the database to 0. */
export function parseRedisUrl(url: string): RedisTarget {
  const bad = (why: string) => new RedisUrlError(`Invalid Redis URL "${_redact(url)}": ${why} (expected redis://HOST:PORT/DB)`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad("not a URL");
  }
  if (u.protocol !== "redis:") throw bad(`scheme "${u.protocol.replace(/:$/, "")}" is not supported, only redis`);
  if (u.username || u.password) throw bad("credentials in the URL are not supported");
  if (u.search || u.hash) throw bad("query and fragment are not supported");
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw bad("missing host");
  const port = u.port === "" ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${u.port} is out of range`);
  const path = u.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,2}$/.test(path)) throw bad(`database "${path}" must be a number from 0 to 99`);
  const db = path === "" ? 0 : Number(path);
  return { host, port, db, url: `redis://${u.host}/${db}` };
}

function _redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
