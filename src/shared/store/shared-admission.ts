/**
 * The admission state gate threads share (issue 15), as one bundle: open-connection counts
 * (shared-conns.ts), outstanding-challenge counts (shared-outstanding.ts), token buckets
 * (shared-limiter.ts) and, when escalation is on, per-address and per-network escalation counts
 * (shared-escalation.ts). The main thread creates it (sized from the configuration), hands
 * `buffers()` to each worker in a postMessage, and each worker calls SharedAdmissionState.attach.
 *
 * Sizes are fixed at creation: the connection table from max_connections (two entries per connection,
 * with room to spare so chance never fills a stripe), the others from `maxKeys` each. A reload that
 * raises max_connections far beyond the start value can fill the connection table; connections are then
 * refused with BUSY ("connection table full"), never over-admitted.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import type { EscalationSpec } from "../defence/escalation.ts";
import { escalationSpec, netEscalationSpec, type SharedDefenceState } from "../defence/from-config.ts";
import { SharedConnectionCounts } from "./shared-conns.ts";
import { SharedEscalation } from "./shared-escalation.ts";
import { type SharedLimiterBuffers, SharedRateLimiter } from "./shared-limiter.ts";
import { SharedOutstanding } from "./shared-outstanding.ts";

/** Everything a worker needs to attach: plain SharedArrayBuffers (structured-clone safe, shared not copied). */
export interface SharedAdmissionBuffers {
  readonly conns: SharedArrayBuffer;
  readonly outstanding: SharedArrayBuffer;
  readonly buckets: SharedLimiterBuffers;
  readonly escalation: SharedArrayBuffer | null;
  readonly netEscalation: SharedArrayBuffer | null;
}

export interface SharedAdmissionOptions {
  /** The connection cap the connection table is sized for (max_connections). */
  readonly maxConnections: number;
  /** Keys per bucket, outstanding and escalation table (default 100,000, as Admission's maxKeys). */
  readonly maxKeys?: number;
  /** Escalation specs (per address, per network); absent: no escalation tables. */
  readonly escalation?: { readonly addr: EscalationSpec; readonly net: EscalationSpec } | null;
}

export class SharedAdmissionState implements SharedDefenceState {
  private constructor(
    readonly conns: SharedConnectionCounts,
    readonly outstanding: SharedOutstanding,
    readonly limiter: SharedRateLimiter,
    readonly escalation: SharedEscalation | null,
    readonly netEscalation: SharedEscalation | null,
  ) {}

  static create(o: SharedAdmissionOptions): SharedAdmissionState {
    const maxKeys = o.maxKeys ?? 100_000;
    // One hash key for every table: a thread hashes an address once per connection, not once per table.
    const hashKey = crypto.getRandomValues(new Int32Array(2));
    return new SharedAdmissionState(
      SharedConnectionCounts.create({ maxConnections: o.maxConnections, hashKey }),
      SharedOutstanding.create({ maxKeys, hashKey }),
      SharedRateLimiter.create({ maxKeys, hashKey }),
      o.escalation ? SharedEscalation.create({ ...o.escalation.addr, maxKeys }, { hashKey }) : null,
      o.escalation ? SharedEscalation.create({ ...o.escalation.net, maxKeys }, { hashKey }) : null,
    );
  }

  /** The bundle for a serve configuration (escalation tables only when escalation_max_bits > 0). */
  static forConfig(c: ServeConfig, maxKeys?: number): SharedAdmissionState {
    return SharedAdmissionState.create({ maxConnections: c.max_connections, maxKeys, escalation: escalationSpecsFor(c) });
  }

  /**
   * Attach in another thread. `escalation`: this thread's escalation specs (they drive the decay
   * arithmetic; the counts are shared); required when the buffers carry escalation tables.
   */
  static attach(b: SharedAdmissionBuffers, escalation?: { readonly addr: EscalationSpec; readonly net: EscalationSpec } | null): SharedAdmissionState {
    if ((b.escalation || b.netEscalation) && !escalation) throw new TypeError("SharedAdmissionState.attach: the buffers have escalation tables: pass the escalation specs");
    return new SharedAdmissionState(
      SharedConnectionCounts.attach(b.conns),
      SharedOutstanding.attach(b.outstanding),
      SharedRateLimiter.attach(b.buckets),
      b.escalation && escalation ? SharedEscalation.attach(b.escalation, escalation.addr) : null,
      b.netEscalation && escalation ? SharedEscalation.attach(b.netEscalation, escalation.net) : null,
    );
  }

  /** attach() for a serve configuration. */
  static attachForConfig(b: SharedAdmissionBuffers, c: ServeConfig): SharedAdmissionState {
    return SharedAdmissionState.attach(b, escalationSpecsFor(c));
  }

  buffers(): SharedAdmissionBuffers {
    return {
      conns: this.conns.buffer,
      outstanding: this.outstanding.buffer,
      buckets: this.limiter.buffers(),
      escalation: this.escalation?.buffer ?? null,
      netEscalation: this.netEscalation?.buffer ?? null,
    };
  }

  /**
   * Free the stripe locks a dead thread held: `owners` is that thread's `owners` (its owner id in each
   * table, in order). Returns how many locks were freed.
   */
  releaseHeldBy(owners: readonly number[]): number {
    const tables = this._tables();
    if (owners.length !== tables.length) throw new TypeError(`SharedAdmissionState.releaseHeldBy: ${owners.length} owner ids for ${tables.length} tables`);
    return tables.reduce((n, t, i) => n + t.releaseHeldBy(owners[i]!), 0);
  }

  /** This view's owner id in each table (what a supervisor keeps to call releaseHeldBy if the thread dies). */
  get owners(): number[] {
    return this._tables().map((t) => t.owner);
  }

  private _tables() {
    return [this.conns, this.outstanding, ...this.limiter.tables(), ...(this.escalation ? [this.escalation] : []), ...(this.netEscalation ? [this.netEscalation] : [])];
  }
}

function escalationSpecsFor(c: ServeConfig): { addr: EscalationSpec; net: EscalationSpec } | null {
  return c.escalation_max_bits > 0 ? { addr: escalationSpec(c), net: netEscalationSpec(c) } : null;
}
