/**
 * Connections to the guarded service (`upstream_max_connections`): while all are taken, clients whose
 * proof was accepted wait in a bounded queue ordered by effort (the leading zero bits of their proof),
 * highest first, first come first served among equals. A full queue takes a newcomer only when it
 * brought more effort than the least in the queue, which then leaves with "full". Pure: the caller
 * hands the clock in (sweep) and owns every socket.
 * @module
 */

export interface SlotSpec {
  /** Most upstream connections at once; 0: no limit. */
  readonly max: number;
  /** Most clients waiting for a connection. */
  readonly queueMax: number;
  /** Longest wait, ms. */
  readonly queueTimeoutMs: number;
}

export type SlotRefusal = "full" | "timeout";

/** One client waiting for, or holding, a connection slot. */
export interface SlotTicket {
  readonly effort: number;
  readonly since: number;
  /** Called once: the slot is yours (release it with UpstreamSlots.release), or you were refused. */
  readonly onGrant: () => void;
  readonly onRefuse: (why: SlotRefusal) => void;
  /** Arrival order, for fairness among equal efforts. */
  readonly seq: number;
}

export class UpstreamSlots {
  active = 0;
  private readonly _queue: SlotTicket[] = [];
  private _seq = 0;

  constructor(public spec: SlotSpec) {}

  get waiting(): number {
    return this._queue.length;
  }

  /**
   * Ask for a slot: granted at once (onGrant called before this returns) when one is free and nobody
   * waits, else queued or refused. Returns the ticket while it waits (for cancel), null otherwise.
   */
  request(effort: number, nowMs: number, onGrant: () => void, onRefuse: (why: SlotRefusal) => void): SlotTicket | null {
    const t: SlotTicket = { effort, since: nowMs, onGrant, onRefuse, seq: this._seq++ };
    if (this._free() && this._queue.length === 0) {
      this.active++;
      onGrant();
      return null;
    }
    if (this._queue.length >= this.spec.queueMax) {
      const last = this._queue[this._queue.length - 1];
      if (!last || last.effort >= effort) {
        onRefuse("full");
        return null;
      }
      this._queue.pop(); // the least effort, the latest among equals, makes room
      last.onRefuse("full");
    }
    // Sorted by effort (highest first), then arrival: insert after every ticket with at least this effort.
    let i = this._queue.length;
    while (i > 0 && this._queue[i - 1]!.effort < effort) i--;
    this._queue.splice(i, 0, t);
    return t;
  }

  /** A waiting client went away. */
  cancel(t: SlotTicket): void {
    const i = this._queue.indexOf(t);
    if (i >= 0) this._queue.splice(i, 1);
  }

  /** A granted slot is free again: the next waiter (highest effort) gets it. */
  release(): void {
    this.active = Math.max(0, this.active - 1);
    this._grantWaiting();
  }

  /** Refuse waiters past the queue timeout; grant any slot freed by a raised limit (reload). */
  sweep(nowMs: number): void {
    for (let i = this._queue.length - 1; i >= 0; i--) {
      const t = this._queue[i]!;
      if (nowMs - t.since >= this.spec.queueTimeoutMs) {
        this._queue.splice(i, 1);
        t.onRefuse("timeout");
      }
    }
    this._grantWaiting();
  }

  /**
   * For the difficulty controller: 0 without a limit; the share of slots in use; above 1 once clients
   * wait (1 + waiting / max), so a queue raises the price by log2 of its depth.
   */
  saturation(): number {
    if (this.spec.max === 0) return 0;
    return this.active / this.spec.max + this._queue.length / this.spec.max;
  }

  private _free(): boolean {
    return this.spec.max === 0 || this.active < this.spec.max;
  }

  private _grantWaiting(): void {
    while (this._free() && this._queue.length > 0) {
      const t = this._queue.shift()!;
      this.active++;
      t.onGrant();
    }
  }
}
