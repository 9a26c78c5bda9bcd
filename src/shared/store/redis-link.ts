/**
 * One connection to Redis (redis-connection.ts: Bun's client or ioredis) with the failure behaviour the
 * gate needs: no offline queue (a command while disconnected fails at once), every command bounded by
 * a deadline, reconnection in the background with capped backoff, and one "down"/"up" event per
 * outage however many commands fail during it. Scripts go by EVALSHA, falling back to EVAL once when
 * Redis does not have them cached (after a restart or SCRIPT FLUSH). Every batch also carries the
 * epoch check (redis-lua.ts BATCH_LUA) and reports the fence it saw ("fence" events); after each
 * (re)connection an empty batch checks at once, so a new server is reported without waiting for traffic.
 * @module
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { isNoScript, type Passwords, type RedisConnection, type RedisConnectionFactory, type RedisLibrary } from "./redis-connection.ts";
import { BATCH_LUA } from "./redis-lua.ts";
import type { RedisTarget } from "./redis-url.ts";

/** What the backend reports: transitions once each, and every answer given from memory (`source`: which part). */
export type RedisEvent =
  | { type: "down"; detail: string; source?: undefined }
  | { type: "up"; detail: string; source?: undefined; /** How long the store could not answer (absent at the first connection). */ downMs?: number }
  | { type: "fallback"; detail: string; source: "spent" | "limiter" | "pressure" }
  | {
    type: "fence";
    detail: string;
    source?: undefined;
    /** Proofs of challenges issued before this time (ms since the epoch) are refused. */
    fenceMs: number;
    /** True when this instance's batch found a new server and raised the fence; false when it learnt one another instance set. */
    raised: boolean;
  };

/** How batches guard against a server that lost spent marks (redis-lua.ts BATCH_LUA, the epoch record). */
export interface EpochOptions {
  /** The key of the epoch record (`<prefix>epoch`). */
  readonly key: string;
  /** The fence this instance proposes when it finds a new server: its clock plus the allowed clock skew. */
  proposeFence(): number;
}

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
  private _downSince = 0;
  private _closing: Promise<void> | null = null;
  private _fence = 0;

  private constructor(
    readonly target: RedisTarget,
    private readonly _timeoutMs: number,
    private readonly _onEvent: (e: RedisEvent) => void,
    private readonly _epoch: EpochOptions,
    private _conn: RedisConnection | null = null,
  ) {}

  /** A link (not yet open) through `library` ("auto": Bun's own client on Bun, ioredis elsewhere). */
  static async create(
    target: RedisTarget,
    timeoutMs: number,
    onEvent: (e: RedisEvent) => void,
    connectionName: string,
    epoch: EpochOptions,
    connect: RedisConnectionFactory,
    library: RedisLibrary | "auto" = "auto",
    password?: Passwords,
  ): Promise<RedisLink> {
    if (!(timeoutMs >= 1)) throw new RangeError(`Redis store: commandTimeoutMs ${timeoutMs} must be >= 1`);
    const link = new RedisLink(target, timeoutMs, onEvent, epoch);
    link._conn = await connect({
      target,
      password,
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

  /** The highest fence seen in the epoch record (0 before the first batch): challenges issued before it are refused. */
  get fence(): number {
    return this._fence;
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
    const keys: string[] = [this._epoch.key];
    const argv: (string | number)[] = [];
    for (const op of ops) keys.push(op.key);
    for (const op of ops) for (const a of typeof op.args === "function" ? op.args() : op.args) argv.push(a);
    // Proposed when the batch goes out, not when its first caller joined: the later, the safer.
    argv.unshift(Math.ceil(this._epoch.proposeFence()));
    this.eval(_BATCH, keys, argv).then(
      (flat) => {
        if (!Array.isArray(flat) || flat.length !== 2 + 2 * ops.length || !flat.every((x) => Number.isFinite(Number(x)))) {
          const err = new Error(`wisdom batch: expected ${2 + 2 * ops.length} integers from Redis, got ${Array.isArray(flat) ? flat.length : typeof flat}`);
          for (const op of ops) op.reject(err);
          return;
        }
        this._sawFence(Number(flat[0]), Number(flat[1]) === 1);
        for (let i = 0; i < ops.length; i++) ops[i]!.resolve([Number(flat[2 + 2 * i]), Number(flat[3 + 2 * i])]);
      },
      (err) => {
        for (const op of ops) op.reject(err);
      },
    );
  }

  private _sawFence(fenceMs: number, raised: boolean): void {
    if (fenceMs <= this._fence && !raised) return;
    const first = this._fence === 0;
    this._fence = Math.max(this._fence, fenceMs);
    const at = new Date(fenceMs).toISOString();
    const detail = raised
      ? `Redis at ${this.target.url} is a server this fleet has not written to before (failover, restart or flush): proofs of challenges issued before ${at} are refused`
      : first
      ? `Redis at ${this.target.url} fences challenges issued before ${at}`
      : `another instance found a new Redis server behind ${this.target.url}: proofs of challenges issued before ${at} are refused`;
    this._emit({ type: "fence", detail, fenceMs, raised });
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
    const was = this._up;
    this._up = up;
    const now = performance.now();
    if (!up) {
      this._downSince = now;
      this._emit({ type: "down", detail: `Redis at ${this.target.url} is down: ${why}` });
      return;
    }
    const downMs = was === false ? Math.round(now - this._downSince) : undefined;
    this._emit({ type: "up", detail: `Redis at ${this.target.url} is ${why}${downMs === undefined ? "" : ` after ${downMs} ms without it`}`, downMs });
    this._probe();
  }

  /**
   * A batch without operations: checks the epoch record at once on every (re)connection, so a new
   * server is fenced and reported when it appears, not at the next proof. Safety does not depend on
   * it (every batch checks the same); a failure here is reported by run() like any other.
   */
  private _probe(): void {
    this.eval(_BATCH, [this._epoch.key], [Math.ceil(this._epoch.proposeFence())]).then(
      (r) => Array.isArray(r) && r.length === 2 && this._sawFence(Number(r[0]), Number(r[1]) === 1),
      () => undefined,
    );
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
