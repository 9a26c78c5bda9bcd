/**
 * The spent set in Redis, shared by every instance: one key per spent proof, written with
 * `SET <prefix>spent:<key> 1 PX <ms> NX` (inside a batch script, redis-lua.ts BATCH_LUA), which sets
 * and expires atomically and only if absent, so of several instances racing on one proof exactly one
 * is told it is fresh. In the same atomic step, a proof whose challenge was issued before the fence of
 * the epoch record is refused (ChallengeFencedError): see redis-lua.ts BATCH_LUA and
 * docs/OPERATIONS.md, "Redis Sentinel", for why that closes the replay window a failover opens.
 * @module
 */
import { ChallengeFencedError, type SpentStore, StoreUnavailableError } from "./types.ts";
import type { RedisLink } from "./redis-link.ts";

export type FailMode = "fail-closed" | "fail-open";

export class RedisSpentStore implements SpentStore {
  readonly name = "redis";
  private readonly _live = new _ExpiryCount();
  private _fellBack = false;

  constructor(
    private readonly _link: RedisLink,
    private readonly _prefix: string,
    private readonly _failMode: FailMode,
    /** Answers while Redis cannot (fail-open only). */
    private readonly _fallback: SpentStore,
    private readonly _onClose: () => Promise<void>,
    /**
     * Fail-open only: this instance's start. A proof accepted from memory during an outage never reached
     * Redis, and the memory died with the previous process: so challenges issued before this start are
     * refused (as memory.ts does), lowered by issued() if the clock steps back. -Infinity: none.
     */
    private _startFence = -Infinity,
  ) {}

  get startFenceMs(): number {
    return this._startFence;
  }

  issued(iatMs: number): void {
    if (iatMs < this._startFence) this._startFence = iatMs;
  }

  async markSpent(key: string, expiresAtMs: number, nowMs: number, issuedAtMs: number): Promise<boolean> {
    if (issuedAtMs < this._startFence) {
      throw new ChallengeFencedError(this._startFence, `Challenge was issued before this server started (${new Date(this._startFence).toISOString()}); ask for a fresh one`);
    }
    this._live.sweep(nowMs);
    const ttl = Math.max(1, Math.ceil(expiresAtMs - nowMs));
    if (!Number.isFinite(issuedAtMs)) throw new TypeError(`RedisSpentStore.markSpent: issuedAtMs ${issuedAtMs} is not a time`);
    let fresh: boolean;
    try {
      const [set, fenced] = await this._link.batch(this._prefix + "spent:" + key, ["s", ttl, Math.floor(issuedAtMs)]);
      if (fenced === 1) throw new ChallengeFencedError(this._link.fence);
      fresh = set === 1;
    } catch (err) {
      // Redis's answer, not a failure: refused in either mode (memory cannot know what the old server held).
      if (err instanceof ChallengeFencedError) throw err;
      if (this._failMode === "fail-closed") {
        throw new StoreUnavailableError(`Redis spent set at ${this._link.target.url} did not answer: ${(err as Error).message}`, { cause: err });
      }
      this._link.fallback("spent", err);
      this._fellBack = true;
      return this._fallback.markSpent(key, expiresAtMs, nowMs, issuedAtMs);
    }
    if (!fresh) return false;
    this._live.add(expiresAtMs);
    // Proofs spent in memory during an outage never reached Redis: they stay binding here until they expire.
    if (this._fellBack) {
      if (this._fallback.size() === 0) this._fellBack = false;
      else {
        try {
          return await this._fallback.markSpent(key, expiresAtMs, nowMs, issuedAtMs);
        } catch {
          return true; // memory full: Redis has the final word
        }
      }
    }
    return true;
  }

  /**
   * Entries this instance inserted that have not expired yet (in Redis, plus in memory while
   * fail-open), as of the latest markSpent: an estimate for metrics, not the fleet-wide count, which
   * would cost a scan. A proof checked against both after an outage may count twice until it expires.
   */
  size(): number {
    return this._live.count + this._fallback.size();
  }

  healthy(): boolean {
    return this._link.up;
  }

  /** Challenges issued before this time (ms since the epoch; 0 before the first answer) are refused. */
  get fenceMs(): number {
    return this._link.fence;
  }

  ready(): boolean {
    return this._link.up || this._failMode === "fail-open";
  }

  /** Closes the whole backend (the connection is shared with the limiter and the pressure board). */
  close(): Promise<void> {
    return this._onClose();
  }
}

/** Counts entries by expiry second, so the count drops as they expire without tracking each key. */
class _ExpiryCount {
  private readonly _bySecond = new Map<number, number>();
  private _swept = -Infinity;
  count = 0;

  add(expiresAtMs: number): void {
    const s = Math.ceil(expiresAtMs / 1000);
    this._bySecond.set(s, (this._bySecond.get(s) ?? 0) + 1);
    this.count++;
  }

  sweep(nowMs: number): void {
    if (nowMs - this._swept < 1000) return;
    this._swept = nowMs;
    for (const [s, n] of this._bySecond) {
      if (s * 1000 > nowMs) continue;
      this._bySecond.delete(s);
      this.count -= n;
    }
  }
}
