/**
 * Open-connection counts shared by gate threads (issue 15): the global count, and one count per address
 * and per network, each under its cap, admitted or refused atomically across threads: the cap+1th
 * connection is refused whatever thread takes it.
 *
 * On store/shared-table.ts: one table holds both key spaces (networks hashed under another tag than
 * addresses, so an address that is its own network key still has two entries). Slot: 2 key words, 0 count,
 * 1 padding. An entry exists only while its count is above zero, so the table holds at most two entries
 * per open connection: it is sized from the connection cap and never evicts a live count (a stripe at its
 * limit, which chance does not reach, refuses the connection). The global count is header word 16, alone
 * on its cache line.
 *
 * tryOpen locks the address's and the network's stripes (lower index first: no deadlock; one lock when
 * they share a stripe), checks both caps, then raises the global count by compare-and-swap under its
 * cap, then the two counts: no count ever passes its cap, and no refusal comes from a connection that is
 * itself refused.
 * @module
 */
import { createTableBuffer, H_SHARED, SharedTable, tableWords } from "./shared-table.ts";

const KIND = 1;
// Addresses hash with tag 0, as in the other tables (one hash a connection: shared-table.ts hashKey memo).
const TAG_ADDR = 0, TAG_NET = 0x6e657477;
const G_OPEN = H_SHARED;

/** tryOpen's verdict: admitted, or which cap refused (TABLE_FULL: a stripe at its limit, by chance or misuse). */
export const OPEN_OK = 0, CONN_CAP = 1, ADDR_CAP = 2, NET_CAP = 3, TABLE_FULL = 4;
export type OpenVerdict = typeof OPEN_OK | typeof CONN_CAP | typeof ADDR_CAP | typeof NET_CAP | typeof TABLE_FULL;

export interface ConnCaps {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddr: number;
  readonly maxConnectionsPerNet: number;
}

export class SharedConnectionCounts extends SharedTable {
  /** `maxConnections`: the cap the table is sized for (two entries per connection). */
  static create(o: { maxConnections: number; stripes?: number; hashKey?: Int32Array }): SharedConnectionCounts {
    return new SharedConnectionCounts(tableWords(createTableBuffer(KIND, { entries: 2 * o.maxConnections, valueWords: 1, noEvict: true, stripes: o.stripes, hashKey: o.hashKey }), KIND, "SharedConnectionCounts"));
  }

  static attach(buffer: SharedArrayBuffer): SharedConnectionCounts {
    return new SharedConnectionCounts(tableWords(buffer, KIND, "SharedConnectionCounts"));
  }

  /** Connections open across all threads. */
  get open(): number {
    return Atomics.load(this.w, G_OPEN);
  }

  /** Admit a connection from `addr` (network `net`) under `caps` and count it, or say which cap refused. */
  tryOpen(addr: string, net: string, caps: ConnCaps): OpenVerdict {
    const w = this.w;
    if (Atomics.load(w, G_OPEN) >= caps.maxConnections) return CONN_CAP;
    const sa = this.hashKey(addr, TAG_ADDR);
    const a0 = this.h[0]!, a1 = this.h[1]!;
    const sn = this.hashKey(net, TAG_NET);
    const n0 = this.h[0]!, n1 = this.h[1]!;
    const ba = this.lockStripe(sa < sn ? sa : sn);
    let bn = ba;
    try {
      if (sa !== sn) bn = this.lockStripe(sa < sn ? sn : sa);
    } catch (err) {
      this.unlockStripe(ba);
      throw err;
    }
    const baseA = sa < sn ? ba : bn, baseN = sa < sn ? bn : ba;
    try {
      this.h[0] = a0; this.h[1] = a1;
      let sA = this.find(baseA);
      if (sA >= 0 && w[sA + 2]! >= caps.maxConnectionsPerAddr) return ADDR_CAP;
      this.h[0] = n0; this.h[1] = n1;
      let sN = this.find(baseN);
      if (sN >= 0 && w[sN + 2]! >= caps.maxConnectionsPerNet) return NET_CAP;
      for (let g = Atomics.load(w, G_OPEN); ; ) {
        if (g >= caps.maxConnections) return CONN_CAP;
        const was = Atomics.compareExchange(w, G_OPEN, g, g + 1);
        if (was === g) break;
        g = was;
      }
      // An insert may grow its stripe (shared-table.ts), which moves that stripe's entries: after one that
      // did, both keys' slots are found again (both keys may live in one stripe).
      const newA = sA < 0, newN = sN < 0;
      let moved = false;
      if (newA) {
        this.h[0] = a0; this.h[1] = a1;
        sA = this.insert(baseA, 0);
        moved = this.grew;
      }
      if (sA >= 0 && newN) {
        this.h[0] = n0; this.h[1] = n1;
        sN = this.insert(baseN, 0);
        moved ||= this.grew;
      }
      if (moved) {
        this.h[0] = a0; this.h[1] = a1;
        sA = this.find(baseA);
        this.h[0] = n0; this.h[1] = n1;
        sN = this.find(baseN);
      }
      if (sA < 0 || sN < 0) {
        if (sA >= 0 && newA) this.remove(baseA, sA); // the network's insert failed: the new address entry goes too
        Atomics.sub(w, G_OPEN, 1);
        return TABLE_FULL;
      }
      w[sA + 2] = w[sA + 2]! + 1;
      w[sN + 2] = w[sN + 2]! + 1;
      return OPEN_OK;
    } finally {
      this.unlockStripe(ba);
      if (bn !== ba) this.unlockStripe(bn);
    }
  }

  /** A connection that tryOpen admitted closed. */
  close(addr: string, net: string): void {
    this._dec(addr, TAG_ADDR);
    this._dec(net, TAG_NET);
    Atomics.sub(this.w, G_OPEN, 1);
  }

  /** Open connections counted for `addr` (a snapshot). */
  perAddr(addr: string): number {
    return this._get(addr, TAG_ADDR);
  }

  /** Open connections counted for network `net` (a snapshot). */
  perNet(net: string): number {
    return this._get(net, TAG_NET);
  }

  private _dec(key: string, tag: number): void {
    const base = this.lockStripe(this.hashKey(key, tag));
    try {
      const s = this.find(base);
      if (s < 0) return;
      const c = this.w[s + 2]! - 1;
      if (c <= 0) this.remove(base, s);
      else this.w[s + 2] = c;
    } finally {
      this.unlockStripe(base);
    }
  }

  private _get(key: string, tag: number): number {
    const base = this.lockStripe(this.hashKey(key, tag));
    try {
      const s = this.find(base);
      return s < 0 ? 0 : this.w[s + 2]!;
    } finally {
      this.unlockStripe(base);
    }
  }
}
