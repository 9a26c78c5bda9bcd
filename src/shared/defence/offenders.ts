/**
 * Which prefixes (IPv4 /24, IPv6 /64) keep being refused, and when one of them should go into the
 * kernel's drop set (`firewall: nft`, runtime/nft-firewall.ts). Pure: the clock is handed in.
 *
 * Counting is a sliding window made of two fixed windows: the estimate is the current window's count
 * plus the previous window's, weighted by how much of it still overlaps the last `windowMs`. That holds
 * two numbers per prefix and is within one window's worth of the exact count.
 *
 * What is counted is the refused client's network for the per-network refusals (`net_*`), and the
 * address alone for the per-address ones: a host that keeps hitting its own caps is banned alone, not
 * with the neighbours of its /24 (a cloud subnet, carrier-grade NAT).
 *
 * A prefix is reported ("ban it now") once when its estimate reaches `refusals`; not again while that
 * ban is in force (`banMs`); and again after it expired only if it offends `refusals` more times, since
 * the count starts afresh at each ban.
 *
 * The allow-list: a prefix that overlaps any of the `trusted` networks is never reported. Pass the
 * networks the operator's own traffic comes from (at least `proxy_trusted`): banning the /24 that holds
 * the load balancer, or loopback, cuts off everyone behind it. A CidrList alone only answers "is this
 * address inside?", which misses a trusted /32 lying inside an offending /24, so the list is taken as
 * text and each entry's base address is also tested against the prefix.
 * @module
 */
import { CidrList } from "../net/cidr.ts";
import { canonicalAddress } from "../net/address.ts";
import type { RefusalReason } from "./admission.ts";
import { networkKey } from "./client-key.ts";

/**
 * The refusals that count against a prefix: those that single out the client (RATE_LIMITED). Not
 * `conn_cap` (the instance is full, whoever asks) nor `store_unavailable` (a Redis outage): counting
 * those would ban whichever honest networks happened to connect at the time.
 */
export const OFFENCES: ReadonlySet<string> = new Set<RefusalReason>([
  "addr_conn_cap", "net_conn_cap", "outstanding_cap", "challenge_rate", "net_challenge_rate", "solution_rate",
]);

export interface OffendersSpec {
  /** Refusals within `windowMs` that put a prefix in the drop set (firewall_refusals). */
  readonly refusals: number;
  readonly windowMs: number;
  /** How long a ban lasts (firewall_ban_ms): no second report for the prefix before it ends. */
  readonly banMs: number;
  /** Comma-separated CIDRs whose prefixes are never banned ("127.0.0.0/8,::1/128"; proxy_trusted). */
  readonly trusted?: string;
  /** Most prefixes tracked; the least recently refused goes first. */
  readonly maxKeys?: number;
}

interface _Entry {
  windowStart: number;
  prev: number;
  curr: number;
  bannedUntil: number;
  lastMoved: number;
}

export class Offenders {
  private readonly _entries = new Map<string, _Entry>();
  private _trusted!: CidrList;
  private _trustedBases!: string[];
  private readonly _maxKeys: number;
  /** Prefixes found to overlap the trusted list, so a flood from loopback does not re-test each time. */
  private readonly _sparedKeys = new Set<string>();
  /** Prefixes never reported because they overlap the trusted list (counted once per refusal). */
  spared = 0;

  constructor(readonly spec: OffendersSpec) {
    if (!(spec.refusals >= 1) || !(spec.windowMs > 0) || !(spec.banMs > 0)) {
      throw new RangeError(`Offenders: refusals ${spec.refusals} must be >= 1, windowMs ${spec.windowMs} and banMs ${spec.banMs} > 0`);
    }
    this.setTrusted(spec.trusted ?? "");
    this._maxKeys = spec.maxKeys ?? 65_536;
  }

  /** Replace the trusted list (a reload changed proxy_trusted); prefixes tracked under it start over. */
  setTrusted(trusted: string): void {
    this._trusted = new CidrList(trusted);
    this._trustedBases = trusted
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map((s) => canonicalAddress(s.split("/")[0]!));
    this._sparedKeys.clear();
    for (const key of [...this._entries.keys()]) if (this._overlapsTrusted(key)) this._entries.delete(key);
  }

  /** Tracked prefixes. */
  get size(): number {
    return this._entries.size;
  }

  /**
   * Count one refusal of `addr` (canonical address) at `nowMs`, for `reason` (a RefusalReason; the
   * network's when absent). Returns what to ban now: the network ("a.b.c.0/24", "x:x:x:x::/64") for a
   * per-network refusal, the address ("a.b.c.d/32", "x::y/128") for a per-address one; or null.
   */
  refused(addr: string, nowMs: number, reason?: string): string | null {
    const net = networkKey(addr);
    if (net === addr) return null; // not an IP address (a Unix socket path): nothing to ban
    const key = reason === undefined || reason.startsWith("net_") ? net : `${addr}/${addr.includes(":") ? 128 : 32}`;
    let e = this._entries.get(key);
    if (!e) {
      if (this._sparedKeys.has(key) || this._overlapsTrusted(key)) {
        if (this._sparedKeys.size >= 1024) this._sparedKeys.clear();
        this._sparedKeys.add(key);
        this.spared++;
        return null;
      }
      if (this._entries.size >= this._maxKeys) this._entries.delete(this._entries.keys().next().value!);
      e = { windowStart: nowMs, prev: 0, curr: 0, bannedUntil: -Infinity, lastMoved: nowMs };
      this._entries.set(key, e);
    } else if (nowMs - e.lastMoved >= 1000) {
      // Recency for eviction, kept to within a second: no delete and re-insert on every refusal.
      this._entries.delete(key);
      this._entries.set(key, e);
      e.lastMoved = nowMs;
    }
    this._roll(e, nowMs);
    e.curr++;
    if (nowMs < e.bannedUntil) return null;
    if (this._estimate(e, nowMs) < this.spec.refusals) return null;
    e.bannedUntil = nowMs + this.spec.banMs;
    e.prev = 0;
    e.curr = 0;
    e.windowStart = nowMs;
    return key;
  }

  /** The current sliding-window estimate of a prefix's refusals (for tests and debugging). */
  count(addr: string, nowMs: number): number {
    const e = this._entries.get(networkKey(addr));
    if (!e) return 0;
    this._roll(e, nowMs);
    return this._estimate(e, nowMs);
  }

  private _roll(e: _Entry, nowMs: number): void {
    const w = this.spec.windowMs;
    const elapsed = nowMs - e.windowStart;
    if (elapsed < w) return;
    const windows = Math.floor(elapsed / w);
    e.prev = windows === 1 ? e.curr : 0;
    e.curr = 0;
    e.windowStart += windows * w;
  }

  private _estimate(e: _Entry, nowMs: number): number {
    const overlap = 1 - (nowMs - e.windowStart) / this.spec.windowMs;
    return e.curr + e.prev * overlap;
  }

  /** Aligned networks either nest or are apart: they overlap when one holds the other's base address. */
  private _overlapsTrusted(prefix: string): boolean {
    if (this._trustedBases.length === 0) return false;
    if (this._trusted.has(prefix.split("/")[0]!)) return true;
    const net = new CidrList(prefix);
    return this._trustedBases.some((b) => net.has(b));
  }
}
