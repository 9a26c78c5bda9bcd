/**
 * Kernel-level shedding (`firewall: nft`, Linux): prefixes that keep being refused go into an nftables
 * set, and the kernel drops their new connections to the server's port before they cost a socket, an
 * accept or a byte of JavaScript. Driven through the `nft` command (node:child_process, the same on
 * Bun and Deno); needs CAP_NET_ADMIN. docs/OPERATIONS.md, "Kernel-level shedding", is the operator's view.
 *
 * What it creates (and deletes again on close, or on the next start after a crash):
 *
 *     table inet <table> {
 *       set ban4 { type ipv4_addr; flags timeout; size <maxEntries>; }    # /24 network addresses
 *       set ban6 { type ipv6_addr; flags timeout; size <maxEntries>; }    # /64 network addresses
 *       chain input {
 *         type filter hook input priority -10; policy accept;
 *         tcp dport <port> tcp flags & (syn | ack) == syn ip saddr & 255.255.255.0 @ban4 counter drop
 *         tcp dport <port> tcp flags & (syn | ack) == syn ip6 saddr & ffff:ffff:ffff:ffff:: @ban6 counter drop
 *       }
 *     }
 *
 * Why these choices:
 * - Hash sets of masked addresses, not `flags interval` sets of prefixes: on Linux 6.18 with nft 1.0.6,
 *   expired elements of an interval set with timeouts were still counted against its size 20 s later,
 *   so a bounded interval set fills up for good; a hash set's expired elements are collected within
 *   about 2 s. Hence every ban is exactly a /24 or a /64, the keys the server counts refusals by.
 * - A bare SYN (`tcp flags & (syn | ack) == syn`) instead of `ct state new`: no conntrack needed, and
 *   established connections from the prefix finish normally.
 * - Bans are batched: a burst becomes one `nft -f -` transaction at most every `flushMs`, not one
 *   process per ban. The count of elements is mirrored here (the kernel's is only readable by listing
 *   the whole set) and kept below the set's size, an element counting until a little after its
 *   timeout, while the kernel may not have collected it yet.
 * @module
 */
import { spawn } from "node:child_process";
import { formatIPv6, parseIPv4, parseIPv6 } from "../net/address.ts";
import { Offenders } from "../defence/offenders.ts";

export type FirewallErrorCode = "NFT_MISSING" | "NFT_DENIED" | "NFT_RUN_DENIED" | "NFT_FAILED";

/** The firewall could not be set up or changed; `code` is stable, the message says what to do. Exit code 2 at startup. */
export class FirewallError extends Error {
  constructor(readonly code: FirewallErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FirewallError";
  }
}

export interface NftFirewallOptions {
  /** nftables table name (firewall_table): a letter, then up to 31 of A-Z a-z 0-9 _. */
  readonly table: string;
  /** The TCP port whose new connections are dropped. */
  readonly port: number;
  /** Timeout of each element (firewall_ban_ms). */
  readonly banMs: number;
  /** Size of each set (firewall_max_entries); bans beyond it are skipped. */
  readonly maxEntries: number;
  /** The nft executable; default "nft" from PATH. */
  readonly nftPath?: string;
  /** Least time between two `nft` runs that add elements; default 100 ms. */
  readonly flushMs?: number;
  /** Called when a batch of bans could not be written (the bans are dropped, counted in `failed`). */
  readonly onError?: (err: FirewallError) => void;
  /** Clock for the element mirror; default Date.now. */
  readonly now?: () => number;
}

export interface FirewallStats {
  /** SYNs dropped by the two rules since the table was created. */
  readonly dropped_packets: number;
  /** Elements in the sets now (the mirror: added, not yet timed out). */
  readonly entries: number;
  /** Elements written to the kernel. */
  readonly bans: number;
  /** Bans not written because the sets were full. */
  readonly skipped: number;
  /** `nft` runs that failed (see onError): bans lost, or counters not read (the last figure stays). */
  readonly failed: number;
}

const TABLE_RE = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
/** How long after its timeout an element is still assumed to take a place in the kernel's set. */
const GC_SLACK_MS = 5000;
const NFT_TIMEOUT_MS = 10_000;

export class NftFirewall {
  private readonly _mirror = new Map<string, number>(); // element ("4 a.b.c.0" / "6 x::") -> counted until
  private _queue: string[] = [];
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _lastFlush = -Infinity;
  private _flushing: Promise<void> = Promise.resolve();
  private _closed = false;
  private _dropped = 0;
  private _bans = 0;
  private _skipped = 0;
  private _failed = 0;

  private constructor(private readonly _o: Required<Omit<NftFirewallOptions, "onError">> & Pick<NftFirewallOptions, "onError">) {}

  /** Create the table (replacing a stale one of the same name). Throws FirewallError when nft is missing or not permitted. */
  static async open(o: NftFirewallOptions): Promise<NftFirewall> {
    if (!TABLE_RE.test(o.table)) throw new RangeError(`nft table ${JSON.stringify(o.table)}: expected a letter, then up to 31 of A-Z a-z 0-9 _`);
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65_535) throw new RangeError(`nft port ${o.port}: expected 1..65535`);
    if (!Number.isInteger(o.banMs) || o.banMs < 1000) throw new RangeError(`nft banMs ${o.banMs}: expected an integer >= 1000`);
    if (!Number.isInteger(o.maxEntries) || o.maxEntries < 1) throw new RangeError(`nft maxEntries ${o.maxEntries}: expected an integer >= 1`);
    const fw = new NftFirewall({ ...o, nftPath: o.nftPath ?? "nft", flushMs: o.flushMs ?? 100, now: o.now ?? Date.now });
    const t = o.table;
    const rule = (fam: "ip" | "ip6", mask: string, set: string) =>
      `    tcp dport ${o.port} tcp flags & (syn | ack) == syn ${fam} saddr & ${mask} @${set} counter drop`;
    await fw._nft(["-f", "-"], [
      // "add" then "delete" in one transaction: removes a table left by a crashed run, and works when there is none.
      `add table inet ${t}`,
      `delete table inet ${t}`,
      `table inet ${t} {`,
      `  set ban4 { type ipv4_addr; flags timeout; size ${o.maxEntries}; }`,
      `  set ban6 { type ipv6_addr; flags timeout; size ${o.maxEntries}; }`,
      `  set host4 { type ipv4_addr; flags timeout; size ${o.maxEntries}; }`,
      `  set host6 { type ipv6_addr; flags timeout; size ${o.maxEntries}; }`,
      `  chain input {`,
      `    type filter hook input priority -10; policy accept;`,
      rule("ip", "255.255.255.0", "ban4"),
      rule("ip6", "ffff:ffff:ffff:ffff::", "ban6"),
      rule("ip", "255.255.255.255", "host4"),
      rule("ip6", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "host6"),
      `  }`,
      `}`,
      "",
    ].join("\n"));
    return fw;
  }

  get table(): string {
    return this._o.table;
  }

  /**
   * Drop new connections from `prefixCidr` for banMs: a network ("a.b.c.0/24", "x:x:x:x::/64"; host bits
   * are ignored) or one address ("a.b.c.d/32", "x::y/128"). Queued, written within flushMs. Returns false
   * when skipped: the sets are full, it is already banned, or the firewall is closed. Throws RangeError
   * for anything else.
   */
  ban(prefixCidr: string): boolean {
    const elem = _element(prefixCidr);
    if (this._closed) return false;
    const now = this._o.now();
    for (const [k, until] of this._mirror) {
      if (until > now) break; // insertion order is expiry order: every timeout is banMs
      this._mirror.delete(k);
    }
    const held = this._mirror.get(elem);
    if (held !== undefined) {
      // Still banned in the kernel: nothing to do. Its timeout has run out but its place is still
      // counted (GC slack): ban it again now, or a prefix that keeps offending would be let in for a
      // whole ban period every other period (Offenders reports it again exactly when the ban ends).
      if (held - GC_SLACK_MS > now) return false;
      this._mirror.delete(elem);
    } else if (this._mirror.size >= this._o.maxEntries) {
      this._skipped++;
      return false;
    }
    this._mirror.set(elem, now + this._o.banMs + GC_SLACK_MS);
    this._queue.push(elem);
    this._schedule();
    return true;
  }

  /** Write the queued bans now (and wait for any write in progress). */
  flush(): Promise<void> {
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
    const batch = this._queue;
    this._queue = [];
    this._flushing = this._flushing.then(() => this._write(batch));
    return this._flushing;
  }

  async stats(): Promise<FirewallStats> {
    if (!this._closed) {
      try {
        this._dropped = _sumCounters(await this._nft(["-j", "list", "chain", "inet", this._o.table, "input"]));
      } catch (err) {
        // The last figure read stays (a scrape must not see counters drop to zero); the failure is counted.
        this._failed++;
        this._o.onError?.(err instanceof FirewallError ? err : new FirewallError("NFT_FAILED", String(err), { cause: err }));
      }
    }
    const now = this._o.now();
    let entries = 0;
    for (const until of this._mirror.values()) if (until - GC_SLACK_MS > now) entries++;
    return { dropped_packets: this._dropped, entries, bans: this._bans, skipped: this._skipped, failed: this._failed };
  }

  /** Delete the table; queued bans are dropped. Safe to call twice, and when the table is already gone. */
  async close(): Promise<void> {
    if (this._closed) return;
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
    this._queue = [];
    await this._flushing;
    try {
      this._dropped = _sumCounters(await this._nft(["-j", "list", "chain", "inet", this._o.table, "input"]));
    } catch {
      // the last figure read stays
    }
    this._closed = true;
    this._mirror.clear();
    const t = this._o.table;
    await this._nft(["-f", "-"], `add table inet ${t}\ndelete table inet ${t}\n`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private _schedule(): void {
    if (this._timer !== undefined) return;
    const wait = Math.max(0, this._lastFlush + this._o.flushMs - performance.now());
    this._timer = setTimeout(() => {
      this._timer = undefined;
      void this.flush();
    }, wait);
  }

  private async _write(batch: string[]): Promise<void> {
    if (batch.length === 0 || this._closed) return;
    this._lastFlush = performance.now();
    const timeout = `timeout ${this._o.banMs}ms`;
    const lines: string[] = [];
    for (const [kind, set] of [["4", "ban4"], ["6", "ban6"], ["h4", "host4"], ["h6", "host6"]] as const) {
      const elems = batch.filter((e) => e.slice(0, e.indexOf(" ")) === kind).map((e) => `${e.slice(e.indexOf(" ") + 1)} ${timeout}`);
      if (elems.length > 0) lines.push(`add element inet ${this._o.table} ${set} { ${elems.join(", ")} }`);
    }
    try {
      await this._nft(["-f", "-"], lines.join("\n") + "\n");
      this._bans += batch.length;
    } catch (err) {
      this._failed += batch.length;
      for (const e of batch) this._mirror.delete(e);
      const fe = err instanceof FirewallError ? err : new FirewallError("NFT_FAILED", String(err), { cause: err });
      this._o.onError?.(fe);
    }
  }

  /** Run nft with `args`, feeding `input` on stdin; resolves to stdout, rejects with a FirewallError. */
  private _nft(args: string[], input?: string): Promise<string> {
    const path = this._o.nftPath;
    return new Promise((resolve, reject) => {
      let child;
      try {
        child = spawn(path, args, { stdio: ["pipe", "pipe", "pipe"] });
      } catch (err) {
        reject(_spawnError(path, err));
        return;
      }
      let out = "", errText = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), NFT_TIMEOUT_MS);
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (errText += d));
      child.stdin!.on("error", () => {}); // nft that exits early (missing, denied) closes the pipe; the exit code tells
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(_spawnError(path, err));
      });
      child.on("close", (code, sig) => {
        clearTimeout(timer);
        if (code === 0) return resolve(out);
        const what = `${path} ${args.join(" ")}`;
        const detail = errText.trim() || (sig ? `killed by ${sig}` : `exit code ${code}`);
        if (/Operation not permitted|Permission denied/i.test(errText)) {
          return reject(new FirewallError("NFT_DENIED", `${what}: ${detail}. firewall: nft needs CAP_NET_ADMIN: run as root, or give the service AmbientCapabilities=CAP_NET_ADMIN (systemd) or --cap-add NET_ADMIN (containers), or set firewall: off`));
        }
        reject(new FirewallError("NFT_FAILED", `${what}: ${detail}`));
      });
      child.stdin!.end(input ?? "");
    });
  }
}

/** "4 a.b.c.0" or "6 x:x:x:x::" for a /24 or /64; RangeError otherwise (the text goes into an nft script). */
function _element(prefixCidr: string): string {
  const slash = prefixCidr.indexOf("/");
  const addr = prefixCidr.slice(0, slash);
  const bits = prefixCidr.slice(slash + 1);
  const v4 = slash > 0 && (bits === "24" || bits === "32") ? parseIPv4(addr) : null;
  if (v4) return bits === "24" ? `4 ${v4[0]}.${v4[1]}.${v4[2]}.0` : `h4 ${v4[0]}.${v4[1]}.${v4[2]}.${v4[3]}`;
  const v6 = slash > 0 && (bits === "64" || bits === "128") ? parseIPv6(addr) : null;
  if (v6) return bits === "64" ? `6 ${formatIPv6([v6[0]!, v6[1]!, v6[2]!, v6[3]!, 0, 0, 0, 0])}` : `h6 ${formatIPv6([...v6])}`;
  throw new RangeError(`nft ban ${JSON.stringify(prefixCidr)}: expected an IPv4 /24 or /32, or an IPv6 /64 or /128`);
}

function _spawnError(path: string, err: unknown): FirewallError {
  const e = err as { code?: string; name?: string; message?: string };
  if (e?.code === "ENOENT") {
    return new FirewallError("NFT_MISSING", `${path} not found: firewall: nft needs the nft command (Debian/Ubuntu: apt-get install nftables), or set firewall: off`, { cause: err });
  }
  if (e?.name === "NotCapable" || e?.name === "PermissionDenied") {
    return new FirewallError("NFT_RUN_DENIED", `Deno may not run ${path}: start it with --allow-run=${path}, or set firewall: off`, { cause: err });
  }
  return new FirewallError("NFT_FAILED", `${path}: ${e?.message ?? String(err)}`, { cause: err });
}

/** Sum of the packet counters in `nft -j list chain` output. */
function _sumCounters(json: string): number {
  let sum = 0;
  const doc = JSON.parse(json) as { nftables?: { rule?: { expr?: { counter?: { packets?: number } }[] } }[] };
  for (const item of doc.nftables ?? []) for (const x of item.rule?.expr ?? []) sum += x.counter?.packets ?? 0;
  return sum;
}

export interface FirewallSpec extends Omit<NftFirewallOptions, "now"> {
  /** Refusals within windowMs that ban a prefix (firewall_refusals, firewall_window_ms). */
  readonly refusals: number;
  readonly windowMs: number;
  /** Comma-separated CIDRs never banned, whatever they do (at least proxy_trusted). */
  readonly trusted?: string;
}

export interface Firewall {
  /** Report one refused connection from `addr` (canonical address) at `nowMs`. */
  onRefused(addr: string, nowMs: number, reason?: string): void;
  /** A reload changed the trusted networks (proxy_trusted): never ban those from now on. */
  setTrusted(trusted: string): void;
  stats(): Promise<FirewallStats & { tracked: number; spared: number }>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Offenders (which prefixes keep being refused) feeding an NftFirewall: what the composition root needs. */
export async function startFirewall(spec: FirewallSpec): Promise<Firewall> {
  const offenders = new Offenders({ refusals: spec.refusals, windowMs: spec.windowMs, banMs: spec.banMs, trusted: spec.trusted, maxKeys: 100_000 });
  const fw = await NftFirewall.open(spec);
  return {
    onRefused(addr, nowMs, reason) {
      const prefix = offenders.refused(addr, nowMs, reason);
      if (prefix !== null) fw.ban(prefix);
    },
    setTrusted: (trusted) => offenders.setTrusted(trusted),
    async stats() {
      return { ...(await fw.stats()), tracked: offenders.size, spared: offenders.spared };
    },
    close: () => fw.close(),
    [Symbol.asyncDispose]: () => fw.close(),
  };
}
