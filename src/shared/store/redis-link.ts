/**
 * One connection to Redis (redis-connection.ts: Bun's client or ioredis) with the failure behaviour the
 * gate needs: no offline queue (a command while disconnected fails at once), every command bounded by
 * a deadline, reconnection in the background with capped backoff, and one "down"/"up" event per
 * outage however many commands fail during it. Scripts go by EVALSHA, falling back to EVAL once when
 * Redis does not have them cached (after a restart or SCRIPT FLUSH).
 * @module
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { createRedisConnection, isNoScript, type RedisConnection, type RedisLibrary } from "./redis-connection.ts";
import { BATCH_LUA } from "./redis-lua.ts";
import type { RedisTarget } from "./redis-url.ts";

/** What the backend reports: transitions once each, and every answer given from memory (`source`: which part). */
export type RedisEvent =
  | { type: "down" | "up"; detail: string; source?: undefined }
  | { type: "fallback"; detail: string; source: "spent" | "limiter" | "pressure" };

/** A Lua script and the SHA-1 that EVALSHA names it by. */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

export function script(lua: string): Script {
  return { lua, sha: bytesToHex(sha1(new TextEncoder().encode(lua))) };
}

const _BATCH = script(BATCH_LUA);

/** One operation of a batch (BATCH_LUA): its key, its arguments, and who waits for its two numbers. */
interface _BatchOp {
  key: string;
  /** The arguments, or a function that gives them when the batch is sent (after the turn's callers joined). */
  args: readonly (string | number)[] | (() => readonly (string | number)[]);
  resolve(reply: [number, number]): void;
  reject(err: unknown): void;
}

/** Most operations per script call; more wait for the next call of the same flush. */
const _MAX_BATCH = 256;

/** After the current event-loop turn's I/O callbacks: so every handshake of the turn joins one batch. */
const _defer: (f: () => void) => void = typeof (globalThis as { setImmediate?: unknown }).setImmediate === "function"
  ? (f) => void (globalThis as unknown as { setImmediate(f: () => void): unknown }).setImmediate(f)
  : (f) => void setTimeout(f, 0);

const _NAMES = { spent: "spent set", limiter: "rate limiter", pressure: "pressure board" };

export class RedisLink {
  private _up: boolean | null = null; // null: never connected yet
  private _closing: Promise<void> | null = null;

  private constructor(
    readonly target: RedisTarget,
    private readonly _timeoutMs: number,
    private readonly _onEvent: (e: RedisEvent) => void,
    private _conn: RedisConnection | null = null,
  ) {}

  /** A link (not yet open) through `library` ("auto": Bun's own client on Bun, ioredis elsewhere). */
  static async create(
    target: RedisTarget,
    timeoutMs: number,
    onEvent: (e: RedisEvent) => void,
    connectionName: string,
    library: RedisLibrary | "auto" = "auto",
  ): Promise<RedisLink> {
    if (!(timeoutMs >= 1)) throw new RangeError(`Redis store: commandTimeoutMs ${timeoutMs} must be >= 1`);
    const link = new RedisLink(target, timeoutMs, onEvent);
    link._conn = await createRedisConnection({
      target,
      name: connectionName,
      connectTimeoutMs: Math.max(1000, timeoutMs),
      onUp: () => link._mark(true, "connected"),
      onDown: (why) => link._mark(false, why),
    }, library);
    return link;
  }

  private get conn(): RedisConnection {
    return this._conn!;
  }

  /** Which client library carries the connection. */
  get library(): RedisLibrary {
    return this.conn.library;
  }

  /** Connect once, waiting at most the connect timeout; never throws (the connection keeps retrying by itself). */
  async open(): Promise<boolean> {
    try {
      await this.conn.open();
    } catch (err) {
      this._mark(false, (err as Error).message);
    }
    return this._up === true;
  }

  /** True while Redis answers. */
  get up(): boolean {
    return this._up === true;
  }

  /** One command, bounded by the command timeout (for scripts, see eval()). */
  command(command: string, args: readonly (string | number)[] = []): Promise<unknown> {
    return this.run(() => this.conn.send(command, args));
  }

  /** Run `s` by EVALSHA (EVAL when Redis lacks it), bounded by the command timeout as a whole. */
  eval(s: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const tail = [keys.length, ...keys, ...args];
    return this.run((late) =>
      this.conn.send("EVALSHA", [s.sha, ...tail]).catch((err) => {
        // Past the deadline the caller was already answered: running the script now would only
        // take tokens or spend a proof that nobody is told about.
        if (!isNoScript(err) || late()) throw err;
        return this.conn.send("EVAL", [s.lua, ...tail]);
      })
    );
  }

  /** Run `op`, failing if no answer within the command timeout; `late()` tells `op` whether that already happened. */
  async run<T>(op: (late: () => boolean) => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let expired = false;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          expired = true;
          reject(new Error(`no reply within ${this._timeoutMs} ms`));
        }, this._timeoutMs);
      });
      const v = await Promise.race([op(() => expired), deadline]);
      this._mark(true, "answering again");
      return v;
    } catch (err) {
      this._mark(false, (err as Error).message);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Queue one BATCH_LUA operation on `key`; every operation queued in the same event-loop turn goes
   * to Redis in one script call (one command, one reply, one deadline), instead of one command each.
   * Rejects like run() when that call fails or times out. `args` may be a function: it is called when
   * the batch goes out, so a caller can fold later requests of the same turn into one operation.
   */
  batch(key: string, args: _BatchOp["args"]): Promise<[number, number]> {
    return new Promise((resolve, reject) => {
      this._queued.push({ key, args, resolve, reject });
      if (this._queued.length === 1) _defer(() => this._flush());
    });
  }

  private _queued: _BatchOp[] = [];

  private _flush(): void {
    const ops = this._queued;
    this._queued = [];
    for (let i = 0; i < ops.length; i += _MAX_BATCH) this._send(ops.slice(i, i + _MAX_BATCH));
  }

  private _send(ops: _BatchOp[]): void {
    const keys: string[] = [];
    const argv: (string | number)[] = [];
    for (const op of ops) keys.push(op.key);
    for (const op of ops) for (const a of typeof op.args === "function" ? op.args() : op.args) argv.push(a);
    this.eval(_BATCH, keys, argv).then(
      (flat) => {
        if (!Array.isArray(flat) || flat.length !== 2 * ops.length || !flat.every((x) => Number.isFinite(Number(x)))) {
          const err = new Error(`wisdom batch: expected ${2 * ops.length} integers from Redis, got ${Array.isArray(flat) ? flat.length : typeof flat}`);
          for (const op of ops) op.reject(err);
          return;
        }
        for (let i = 0; i < ops.length; i++) ops[i]!.resolve([Number(flat[2 * i]), Number(flat[2 * i + 1])]);
      },
      (err) => {
        for (const op of ops) op.reject(err);
      },
    );
  }

  /** An answer came from this process instead of Redis. */
  fallback(source: "spent" | "limiter" | "pressure", err: unknown): void {
    this._emit({ type: "fallback", source, detail: `${_NAMES[source]} answered locally: ${err instanceof Error ? err.message : String(err)}` });
  }

  close(): Promise<void> {
    this._closing ??= this.conn.close();
    return this._closing;
  }

  private _mark(up: boolean, why: string): void {
    if (this._closing || this._up === up) return;
    // A stray success while the socket is down (a reply racing the close) is not a recovery.
    if (up && !this.conn.connected) return;
    this._up = up;
    this._emit({ type: up ? "up" : "down", detail: `Redis at ${this.target.url} ${up ? "is " + why : "is down: " + why}` });
  }

  /** A throwing listener must not turn an answer from Redis into a failure. */
  private _emit(e: RedisEvent): void {
    try {
      this._onEvent(e);
    } catch {
      // the listener's own problem
    }
  }
}
