/**
 * Admission: connection caps (global, per address, per network) and per-client rate limits (challenges
 * issued, solutions submitted, outstanding unsolved challenges). Pure bookkeeping with the time handed in;
 * the connection handler asks before doing any work and answers refusals with a short Error frame.
 * @module
 */
import type { ErrorCode } from "../protocol/errors.ts";
import { networkKey } from "./client-key.ts";
import { MemoryRateLimiter, type RateLimiter } from "./rate-limiter.ts";
import type { BucketSpec, Take } from "./token-bucket.ts";

export interface AdmissionSpec {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddr: number;
  readonly maxConnectionsPerNet: number;
  readonly challengesPerAddr: BucketSpec;
  readonly challengesPerNet: BucketSpec;
  readonly solutionsPerAddr: BucketSpec;
  /** Challenges issued to one address and not redeemed, within their lifetime. */
  readonly maxOutstandingPerAddr: number;
  /** Challenge lifetime: outstanding challenges older than this no longer count. */
  readonly ttlMs: number;
  /** Most client keys tracked per table (memory bound). */
  readonly maxKeys?: number;
}

export type RefusalReason = "conn_cap" | "addr_conn_cap" | "net_conn_cap" | "challenge_rate" | "net_challenge_rate" | "outstanding_cap" | "solution_rate";

export interface Refusal {
  readonly code: ErrorCode;
  readonly reason: RefusalReason;
  readonly retryAfterMs: number;
  readonly message: string;
}

/** Refusal counters by reason, for metrics and `wisdom load`. */
export type RefusalCounts = Record<RefusalReason, number>;

/**
 * Connection and outstanding-challenge counts kept outside this Admission, shared by the gate threads of
 * one process (store/shared-admission.ts implements it over SharedArrayBuffers). Each call is atomic
 * across threads: a check and its count happen together.
 */
export interface SharedAdmissionTables {
  readonly conns: {
    /** 0 admitted (and counted); refused by 1 the global cap, 2 the address cap, 3 the network cap, 4 a full table. */
    tryOpen(addr: string, net: string, caps: AdmissionSpec): 0 | 1 | 2 | 3 | 4;
    close(addr: string, net: string): void;
  };
  readonly outstanding: {
    /** Record one if `addr` has fewer than `cap` outstanding: 0; else ms until its oldest expires. */
    tryAdd(addr: string, nowMs: number, cap: number, ttlMs: number): number;
    /** Take back the newest record (the challenge was refused after all). */
    undo(addr: string): void;
    settle(addr: string, count: number): void;
    count(addr: string, nowMs: number, ttlMs: number): number;
  };
}

export class Admission {
  /** Connections this Admission admitted and that are still open (with shared tables: this thread's). */
  open = 0;
  readonly refused: RefusalCounts = { conn_cap: 0, addr_conn_cap: 0, net_conn_cap: 0, challenge_rate: 0, net_challenge_rate: 0, outstanding_cap: 0, solution_rate: 0 };
  private readonly _perAddr = new Map<string, number>();
  private readonly _perNet = new Map<string, number>();
  private readonly _outstanding = new Map<string, number[]>();
  private readonly _maxKeys: number;

  /**
   * `limiter`: where token buckets live (default: this process). `shared`: where connection counts and
   * outstanding-challenge counts live when gate threads share them (default: this object's Maps).
   */
  constructor(public spec: AdmissionSpec, public limiter: RateLimiter = new MemoryRateLimiter(spec.maxKeys ?? 100_000), private readonly _shared: SharedAdmissionTables | null = null) {
    this._maxKeys = spec.maxKeys ?? 100_000;
  }

  /** Take new limits (live reload). Open-connection counts stay; a bucket table restarts only if its spec changed. */
  reconfigure(spec: AdmissionSpec): void {
    this.spec = spec;
  }

  /**
   * A new connection from `addr`: admitted (null, and counted) or refused. `net` is networkKey(addr);
   * a caller that asks several times for one connection passes it in to compute it once.
   */
  onOpen(addr: string, net = networkKey(addr)): Refusal | null {
    if (this._shared) return this._sharedOpen(addr, net);
    const s = this.spec;
    if (this.open >= s.maxConnections) return this._refuse("conn_cap", "BUSY", 1000, `Server at its connection cap (${s.maxConnections})`);
    const a = this._perAddr.get(addr) ?? 0;
    if (a >= s.maxConnectionsPerAddr) return this._refuse("addr_conn_cap", "RATE_LIMITED", 1000, `Too many connections from this address (cap ${s.maxConnectionsPerAddr})`);
    const n = this._perNet.get(net) ?? 0;
    if (n >= s.maxConnectionsPerNet) return this._refuse("net_conn_cap", "RATE_LIMITED", 1000, `Too many connections from this network (cap ${s.maxConnectionsPerNet})`);
    this.open++;
    this._perAddr.set(addr, a + 1);
    this._perNet.set(net, n + 1);
    return null;
  }

  private _sharedOpen(addr: string, net: string): Refusal | null {
    const s = this.spec;
    switch (this._shared!.conns.tryOpen(addr, net, s)) {
      case 0:
        this.open++;
        return null;
      case 2:
        return this._refuse("addr_conn_cap", "RATE_LIMITED", 1000, `Too many connections from this address (cap ${s.maxConnectionsPerAddr})`);
      case 3:
        return this._refuse("net_conn_cap", "RATE_LIMITED", 1000, `Too many connections from this network (cap ${s.maxConnectionsPerNet})`);
      case 4:
        return this._refuse("conn_cap", "BUSY", 1000, "Server connection table full");
      default:
        return this._refuse("conn_cap", "BUSY", 1000, `Server at its connection cap (${s.maxConnections})`);
    }
  }

  /** An admitted connection closed. */
  onClose(addr: string, net = networkKey(addr)): void {
    this.open--;
    if (this._shared) return this._shared.conns.close(addr, net);
    const a = (this._perAddr.get(addr) ?? 1) - 1;
    if (a <= 0) this._perAddr.delete(addr);
    else this._perAddr.set(addr, a);
    const n = (this._perNet.get(net) ?? 1) - 1;
    if (n <= 0) this._perNet.delete(net);
    else this._perNet.set(net, n);
  }

  /**
   * May `addr` get a challenge now? Records it as outstanding when yes. Synchronous with the memory
   * limiter; a promise with a shared one.
   */
  allowChallenge(addr: string, nowMs: number, net = networkKey(addr)): Refusal | null | Promise<Refusal | null> {
    if (this._shared) return this._sharedChallenge(addr, nowMs, net);
    const out = this._pruned(addr, nowMs);
    if (out.length >= this.spec.maxOutstandingPerAddr) {
      return this._refuse("outstanding_cap", "RATE_LIMITED", Math.max(1, out[0]! + this.spec.ttlMs - nowMs), `Too many unsolved challenges for this address (cap ${this.spec.maxOutstandingPerAddr})`);
    }
    const t = this.limiter.take("challenge", addr, this.spec.challengesPerAddr, nowMs);
    if (t instanceof Promise) {
      // A shared limiter: ask for both buckets at once, so they travel in one round trip (pipelined).
      // The network token is then spent even when the address is refused; that only ever refuses more.
      const tn = this.limiter.take("challenge_net", net, this.spec.challengesPerNet, nowMs);
      return Promise.all([t, tn]).then(([ta, tb]) => this._challengeTaken(addr, nowMs, ta, ta.ok ? tb : null));
    }
    if (!t.ok) return this._challengeTaken(addr, nowMs, t, null);
    const tn = this.limiter.take("challenge_net", net, this.spec.challengesPerNet, nowMs);
    return tn instanceof Promise ? tn.then((x) => this._challengeTaken(addr, nowMs, t, x)) : this._challengeTaken(addr, nowMs, t, tn);
  }

  /** allowChallenge's verdict once both buckets answered (a method, not a closure per call: it runs per connection). */
  private _challengeTaken(addr: string, nowMs: number, t: Take, tn: Take | null, recorded = false): Refusal | null {
    if (!t.ok) return this._refuse("challenge_rate", "RATE_LIMITED", t.retryAfterMs, "Too many challenges for this address");
    if (tn && !tn.ok) return this._refuse("net_challenge_rate", "RATE_LIMITED", tn.retryAfterMs, "Too many challenges for this network");
    if (!recorded) this._record(addr, nowMs);
    return null;
  }

  /**
   * allowChallenge with shared counts: the outstanding slot is taken first (check and record in one step,
   * so threads cannot overshoot the cap together) and given back if a bucket then refuses.
   */
  private _sharedChallenge(addr: string, nowMs: number, net: string): Refusal | null | Promise<Refusal | null> {
    const out = this._shared!.outstanding;
    const wait = out.tryAdd(addr, nowMs, this.spec.maxOutstandingPerAddr, this.spec.ttlMs);
    if (wait > 0) return this._refuse("outstanding_cap", "RATE_LIMITED", wait, `Too many unsolved challenges for this address (cap ${this.spec.maxOutstandingPerAddr})`);
    const done = (t: Take, tn: Take | null): Refusal | null => {
      const r = this._challengeTaken(addr, nowMs, t, tn, true);
      if (r) out.undo(addr);
      return r;
    };
    const t = this.limiter.take("challenge", addr, this.spec.challengesPerAddr, nowMs);
    if (t instanceof Promise) {
      const tn = this.limiter.take("challenge_net", net, this.spec.challengesPerNet, nowMs);
      return Promise.all([t, tn]).then(([ta, tb]) => done(ta, ta.ok ? tb : null), (err) => {
        out.undo(addr);
        throw err;
      });
    }
    if (!t.ok) return done(t, null);
    const tn = this.limiter.take("challenge_net", net, this.spec.challengesPerNet, nowMs);
    return tn instanceof Promise ? tn.then((x) => done(t, x), (err) => {
      out.undo(addr);
      throw err;
    }) : done(t, tn);
  }

  private _record(addr: string, nowMs: number): void {
    const out = this._outstanding.get(addr);
    if (out) {
      out.push(nowMs);
      return;
    }
    if (this._outstanding.size >= this._maxKeys) {
      const oldest = this._outstanding.keys().next().value;
      if (oldest !== undefined) this._outstanding.delete(oldest);
    }
    this._outstanding.set(addr, [nowMs]);
  }

  /** May `addr` submit a solution now? */
  allowSolution(addr: string, nowMs: number): Refusal | null | Promise<Refusal | null> {
    const t = this.limiter.take("solution", addr, this.spec.solutionsPerAddr, nowMs);
    return t instanceof Promise ? t.then((x) => this._solutionTaken(x)) : this._solutionTaken(t);
  }

  private _solutionTaken(t: Take): Refusal | null {
    return t.ok ? null : this._refuse("solution_rate", "RATE_LIMITED", t.retryAfterMs, "Too many solutions from this address");
  }

  /** `count` challenges of `addr` were redeemed or abandoned: they stop counting as outstanding. */
  settle(addr: string, count = 1): void {
    if (this._shared) return this._shared.outstanding.settle(addr, count);
    const out = this._outstanding.get(addr);
    if (!out) return;
    if (count >= out.length) return void this._outstanding.delete(addr);
    for (let i = 0; i < count; i++) out.shift(); // count is 1 or 2: cheaper than a splice call
  }

  outstanding(addr: string, nowMs: number): number {
    if (this._shared) return this._shared.outstanding.count(addr, nowMs, this.spec.ttlMs);
    return this._pruned(addr, nowMs).length;
  }

  private _pruned(addr: string, nowMs: number): number[] {
    const out = this._outstanding.get(addr);
    if (!out) return [];
    let drop = 0;
    while (drop < out.length && out[drop]! + this.spec.ttlMs <= nowMs) drop++;
    if (drop > 0) out.splice(0, drop);
    if (out.length === 0) this._outstanding.delete(addr);
    return out;
  }

  private _refuse(reason: RefusalReason, code: ErrorCode, retryAfterMs: number, message: string): Refusal {
    this.refused[reason]++;
    return { code, reason, retryAfterMs, message };
  }
}
