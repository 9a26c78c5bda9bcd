/**
 * One ioredis connection with the failure behaviour the gate needs: no offline queue (a command while
 * disconnected fails at once), every command bounded by a deadline, reconnection in the background
 * with capped backoff, and one "down"/"up" event per outage however many commands fail during it.
 * @module
 */
import { Redis } from "ioredis";
import { BATCH_LUA, PRESSURE_LUA } from "./redis-lua.ts";
import type { RedisTarget } from "./redis-url.ts";

/** What the backend reports: transitions once each, and every answer given from memory (`source`: which part). */
export type RedisEvent =
  | { type: "down" | "up"; detail: string; source?: undefined }
  | { type: "fallback"; detail: string; source: "spent" | "limiter" | "pressure" };

/** The client with the scripts of redis-lua.ts defined on it (EVALSHA, falling back to EVAL). */
export type ScriptedRedis = Redis & {
  wisdomPressure(key: string, instanceId: string, ttlMs: number, sampleJson: string): Promise<string>;
  /** BATCH_LUA: the number of keys, the keys, then every op's arguments. */
  wisdomBatch(...args: (string | number)[]): Promise<number[]>;
};

/** One operation of a batch (BATCH_LUA): its key, its arguments, and who waits for its two numbers. */
interface _BatchOp {
  key: string;
  args: (string | number)[];
  resolve(reply: [number, number]): void;
  reject(err: unknown): void;
}

/** Most operations per script call; more wait for the next call of the same flush. */
const _MAX_BATCH = 256;

/** After the current event-loop turn's I/O callbacks: so every handshake of the turn joins one batch. */
const _defer: (f: () => void) => void = typeof (globalThis as { setImmediate?: unknown }).setImmediate === "function"
  ? (f) => void (globalThis as unknown as { setImmediate(f: () => void): unknown }).setImmediate(f)
  : (f) => void setTimeout(f, 0);

/** Reconnect delay after the `attempt`-th failure: 50 ms doubling up to the cap, with some jitter. */
export function reconnectDelayMs(attempt: number, capMs = 2000): number {
  return Math.min(capMs, 50 * 2 ** Math.min(attempt, 16)) + Math.floor(Math.random() * 50);
}

const _NAMES = { spent: "spent set", limiter: "rate limiter", pressure: "pressure board" };

export class RedisLink {
  readonly client: ScriptedRedis;
  private _up: boolean | null = null; // null: never connected yet
  private _closing: Promise<void> | null = null;

  constructor(
    readonly target: RedisTarget,
    private readonly _timeoutMs: number,
    private readonly _onEvent: (e: RedisEvent) => void,
    connectionName: string,
  ) {
    if (!(_timeoutMs >= 1)) throw new RangeError(`Redis store: commandTimeoutMs ${_timeoutMs} must be >= 1`);
    const client = new Redis({
      host: target.host,
      port: target.port,
      db: target.db,
      connectionName,
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: _timeoutMs,
      connectTimeout: Math.max(1000, _timeoutMs),
      maxRetriesPerRequest: 1,
      // A command that lost its connection already failed for its caller; never send it again later.
      autoResendUnfulfilledCommands: false,
      // Commands issued in the same tick by concurrent handshakes go out as one pipeline: far fewer
      // syscalls and round trips under load (bench/handshake.ts --redis).
      enableAutoPipelining: true,
      retryStrategy: (attempt) => reconnectDelayMs(attempt),
    });
    client.defineCommand("wisdomPressure", { numberOfKeys: 1, lua: PRESSURE_LUA });
    client.defineCommand("wisdomBatch", { lua: BATCH_LUA }); // the key count is the first argument
    client.on("ready", () => this._mark(true, "connected"));
    client.on("close", () => this._mark(false, "connection closed"));
    client.on("error", (err: Error) => this._mark(false, err.message)); // also keeps ioredis from logging it
    this.client = client as ScriptedRedis;
  }

  /** Connect once, waiting at most the connect timeout; never throws (ioredis keeps retrying by itself). */
  async open(): Promise<boolean> {
    const wait = Math.max(1000, this._timeoutMs) + 100;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.client.connect(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("connect timed out")), wait))),
      ]);
    } catch (err) {
      this._mark(false, (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
    return this._up === true;
  }

  /** True while Redis answers. */
  get up(): boolean {
    return this._up === true;
  }

  /** Run `op`, failing if no answer within the command timeout (scripts may send twice: EVALSHA then EVAL). */
  async run<T>(op: (c: ScriptedRedis) => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no reply within ${this._timeoutMs} ms`)), this._timeoutMs);
      });
      const v = await Promise.race([op(this.client), deadline]);
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
   * Rejects like run() when that call fails or times out.
   */
  batch(key: string, args: (string | number)[]): Promise<[number, number]> {
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
    const argv: (string | number)[] = [ops.length];
    for (const op of ops) argv.push(op.key);
    for (const op of ops) for (const a of op.args) argv.push(a);
    this.run((c) => c.wisdomBatch(...argv)).then(
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
    this._closing ??= (async () => {
      const c = this.client;
      if (c.status === "ready") {
        const t = setTimeout(() => c.disconnect(), this._timeoutMs);
        await c.quit().catch(() => undefined);
        clearTimeout(t);
      }
      c.disconnect();
      c.removeAllListeners();
      c.on("error", () => undefined);
    })();
    return this._closing;
  }

  private _mark(up: boolean, why: string): void {
    if (this._closing || this._up === up) return;
    // A stray success while the socket is down (a reply racing the close) is not a recovery.
    if (up && this.client.status !== "ready") return;
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
