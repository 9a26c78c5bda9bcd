/**
 * Prometheus metrics. Subscribes to the gate's events like any other observer; names and units follow
 * Prometheus conventions (`promtool check metrics` is part of the tests). Alert rules in
 * deploy/prometheus/alerts.yml use these names. The server's own metrics are plain numbers
 * (local-metrics.ts, local-histogram.ts). prom-client writes the text, adds its default process metrics
 * and sums the gate threads' values (serve --threads); it is loaded only where /metrics is rendered,
 * the main thread. A gate thread reports its values (snapshot) without it: see local-metrics.ts.
 * @module
 */
import type { Metric, MetricObjectWithValues, MetricValue as PromValue } from "prom-client";
import type { Registry } from "./prom.ts";
import { LocalHistogram } from "./local-histogram.ts";
import { LocalCounter as Counter, LocalGauge as Gauge, type LocalMetric } from "./local-metrics.ts";
import { GOVERNOR_TRIGGERS, type HeapGovernor } from "../runtime/heap-governor.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import type { CloseReason, GateObserver } from "../gate/types.ts";

const lower = (s: string) => s.toLowerCase();

export interface MetricsInfo {
  readonly version: string;
  readonly commit: string;
  readonly runtime: string;
  /**
   * prom-client's process and runtime metrics (default true; with Metrics.create). A gate thread other
   * than the main one leaves them out: they describe the process, which the main thread reports once
   * (a Worker never loads them: observe/prom.ts).
   */
  readonly defaults?: boolean;
  /** The gate thread these metrics are of (serve --threads): adds its accepts, labelled by thread. */
  readonly thread?: number;
}

/** What a gate thread's registry reports, for the main thread to add up (Metrics.bindPeers). */
export type MetricsSnapshot = MetricObjectWithValues<PromValue<string>>[];

/** Values read at scrape time, so a scrape never shows a stale state. */
export interface LiveValues {
  storeUp(): boolean;
  ready(): boolean;
  spentEntries(): number;
}

/** What the firewall (firewall: nft) reports at scrape time. */
export interface FirewallNumbers {
  readonly dropped_packets: number;
  readonly entries: number;
  readonly bans: number;
  readonly skipped: number;
  readonly failed: number;
  /** Refusals from trusted networks (proxy_trusted), which are never banned. */
  readonly spared?: number;
}

/** What /metrics reads of the heap governor. */
type GovernorFigures = Pick<HeapGovernor, "budgetBytes" | "pausedMs" | "byTrigger">;

export class Metrics implements GateObserver {
  /** The server's own metrics, in the order a scrape lists them. */
  readonly #own: LocalMetric[] = [];
  /** prom-client's registry, with them and its default metrics: made by create() or the first render. */
  #registry: Registry | null = null;
  #registryMade: Promise<Registry> | null = null;
  private _live: LiveValues | null = null;
  readonly accepted: Counter;
  readonly open: Gauge;
  readonly closed: Counter<"reason">;
  readonly refused: Counter<"reason">;
  readonly challenges: Counter;
  readonly proofsVerified: Counter;
  readonly proofsFailed: Counter<"reason">;
  readonly framesRejected: Counter<"reason">;
  readonly quotes: Counter<"source">;
  readonly quoteSourceFailures: Counter<"source" | "reason">;
  readonly quoteSourceBreaker: Gauge<"source">;
  readonly handshake: LocalHistogram;
  readonly served: LocalHistogram;
  readonly verification: LocalHistogram;
  readonly solve: LocalHistogram;
  /**
   * What the per-handshake events count, in plain numbers: prom-client's counters read them when
   * scraped (collect), so a handshake costs a few additions instead of ten prom-client calls.
   */
  readonly #n = { accepted: 0, open: 0, challenges: 0, verified: 0, closed: new Map<string, number>(), quotes: new Map<string, number>() };
  readonly difficulty: Gauge;
  readonly difficultyFloor: Gauge;
  readonly difficultyCeiling: Gauge;
  readonly pressure: Gauge;
  readonly connectionPressure: Gauge;
  readonly windowSeconds: Gauge;
  readonly loopDelay: Gauge;
  readonly spentEntries: Gauge;
  readonly ready: Gauge;
  readonly storeUp: Gauge;
  readonly storeFallbacks: Counter;
  readonly storeOutages: Counter;
  readonly storeOutageSeconds: Counter;
  readonly storeLastOutage: Gauge;
  readonly storeFence: Gauge;
  readonly storeServerChanges: Counter;
  readonly keys: Gauge;
  readonly threads: Gauge;
  readonly threadRestarts: Counter;
  private _running: (() => number) | null = null;
  private _firewall: (() => Promise<FirewallNumbers>) | null = null;
  readonly openFds: Gauge;
  readonly maxFds: Gauge;
  readonly acceptErrors: Counter<"code">;
  private _fds: (() => { open: number; max: number } | null) | null = null;
  private _gc: GovernorFigures | null = null;
  private _young: { readonly collections: number } | null = null;

  private _peers: (() => Promise<MetricsSnapshot[]>) | null = null;

  /**
   * Metrics with prom-client's registry and its default process metrics, unless `info.defaults` is
   * false: then prom-client is not loaded (a gate thread; see snapshot()).
   */
  static async create(info: MetricsInfo): Promise<Metrics> {
    const m = new Metrics(info);
    if (info.defaults !== false) await m.#promRegistry(true);
    return m;
  }

  /** Metrics without prom-client's default metrics; prom-client is loaded by the first render(). */
  constructor(info: MetricsInfo) {
    const r = [this.#own];
    new Gauge({ name: "wisdom_build_info", help: "Version, commit and runtime of this process (always 1).", labelNames: ["version", "commit", "runtime"], registers: r, aggregator: "first" }).set(
      { version: info.version, commit: info.commit, runtime: info.runtime },
      1,
    );
    const n = this.#n;
    const total = (get: () => number) =>
      function (this: Counter) {
        this.reset();
        const v = get();
        if (v > 0) this.inc(v);
      };
    const totals = <L extends string>(label: L, map: Map<string, number>) =>
      function (this: Counter<L>) {
        this.reset();
        for (const [k, v] of map) this.inc({ [label]: k } as Record<L, string>, v);
      };
    this.accepted = new Counter({ name: "wisdom_connections_accepted_total", help: "TCP connections accepted.", registers: r, collect: total(() => n.accepted) });
    this.open = new Gauge({
      name: "wisdom_connections_open", help: "TCP connections open now.", registers: r,
      collect() {
        this.set(n.open);
      },
    });
    this.closed = new Counter({ name: "wisdom_connections_closed_total", help: "TCP connections closed, by reason (served, rejected, timeout, peer, shutdown, refused; guard: forwarded, upstream).", labelNames: ["reason"], registers: r, collect: totals("reason", n.closed) });
    this.refused = new Counter({ name: "wisdom_connections_refused_total", help: "Connections or requests refused by caps and rate limits, by reason.", labelNames: ["reason"], registers: r });
    this.challenges = new Counter({ name: "wisdom_challenges_issued_total", help: "Challenges issued.", registers: r, collect: total(() => n.challenges) });
    this.proofsVerified = new Counter({ name: "wisdom_proofs_verified_total", help: "Proofs that verified and were redeemed for a quote.", registers: r, collect: total(() => n.verified) });
    this.proofsFailed = new Counter({ name: "wisdom_proofs_failed_total", help: "Proofs refused, by reason (expired, bad_signature, replay, insufficient_work, ...).", labelNames: ["reason"], registers: r });
    this.framesRejected = new Counter({ name: "wisdom_frames_rejected_total", help: "Malformed or unexpected frames, by reason.", labelNames: ["reason"], registers: r });
    this.quotes = new Counter({ name: "wisdom_quotes_served_total", help: "Quotes served, by source.", labelNames: ["source"], registers: r, collect: totals("source", n.quotes) });
    this.quoteSourceFailures = new Counter({ name: "wisdom_quote_source_failures_total", help: "Quote source failures, by source and reason (timeout, error, invalid, open).", labelNames: ["source", "reason"], registers: r });
    this.quoteSourceBreaker = new Gauge({ name: "wisdom_quote_source_breaker_open", help: "1 while a quote source's circuit breaker is open (or half open), else 0.", labelNames: ["source"], registers: r, aggregator: "max" });
    const histogram = (name: string, help: string, buckets: number[]) => {
      const h = new LocalHistogram(name, help, buckets);
      this.#own.push(h);
      return h;
    };
    this.handshake = histogram("wisdom_handshake_duration_seconds", "Connection lifetime from accept to close.", [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.served = histogram("wisdom_served_handshake_duration_seconds", "Lifetime of the connections that got a quote (accept to close), the client's solve included in same-connection mode.", [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.verification = histogram("wisdom_verification_duration_seconds", "Time to verify a proof and check it against the spent set.", [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1]);
    this.solve = histogram("wisdom_solve_duration_seconds", "Time from a challenge's issue to its valid proof (client solve time plus network).", [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]);
    this.difficulty = new Gauge({ name: "wisdom_difficulty", help: "Difficulty in force (before per-client escalation): leading zero bits a proof needs.", registers: r, aggregator: "max" });
    this.difficultyFloor = new Gauge({ name: "wisdom_difficulty_floor", help: "Configured lowest difficulty (leading zero bits).", registers: r, aggregator: "first" });
    this.difficultyCeiling = new Gauge({ name: "wisdom_difficulty_ceiling", help: "Configured highest difficulty (leading zero bits).", registers: r, aggregator: "first" });
    this.pressure = new Gauge({ name: "wisdom_pressure_ratio", help: "Price pressure seen by the difficulty controller: valid proofs, solver-driven loop delay or quote source saturation (1 = at capacity).", registers: r, aggregator: "max" });
    this.connectionPressure = new Gauge({ name: "wisdom_connection_pressure_ratio", help: "Connection pressure (open connections, accepts, failed proofs over their thresholds); it shrinks the windows, never raises the price.", registers: r, aggregator: "max" });
    this.windowSeconds = new Gauge({ name: "wisdom_first_byte_window_seconds", help: "First-byte window given to new connections (shrinks under connection pressure).", registers: r, aggregator: "min" });
    this.loopDelay = new Gauge({ name: "wisdom_event_loop_delay_seconds", help: "Worst event-loop delay in the last controller tick.", registers: r, aggregator: "max" });
    const live = (f: (l: LiveValues) => number) =>
      function (this: Gauge) {
        if (self._live) this.set(f(self._live));
      };
    const self = this;
    this.spentEntries = new Gauge({ name: "wisdom_spent_entries", help: "Spent proofs remembered by the replay store.", registers: r, aggregator: "max", collect: live((l) => l.spentEntries()) });
    this.ready = new Gauge({ name: "wisdom_ready", help: "1 when ready to serve (not draining, dependencies up), else 0.", registers: r, aggregator: "min", collect: live((l) => (l.ready() ? 1 : 0)) });
    this.storeUp = new Gauge({ name: "wisdom_store_up", help: "1 when the spent store's backend answers, else 0.", registers: r, aggregator: "min", collect: live((l) => (l.storeUp() ? 1 : 0)) });
    this.storeFallbacks = new Counter({ name: "wisdom_store_fallbacks_total", help: "Proofs checked against the local memory store only, because the shared store was down (fail-open).", registers: r });
    this.storeOutages = new Counter({ name: "wisdom_store_outages_total", help: "Times the shared store answered again after an outage (a failover, a restart, a lost network).", registers: r });
    this.storeOutageSeconds = new Counter({ name: "wisdom_store_outage_seconds_total", help: "Seconds without the shared store (without a primary, under Sentinel), added when it answers again.", registers: r });
    this.storeLastOutage = new Gauge({ name: "wisdom_store_last_outage_seconds", help: "Length of the latest store outage that ended.", registers: r, aggregator: "max" });
    this.storeFence = new Gauge({ name: "wisdom_store_fence_timestamp_seconds", help: "Proofs of challenges issued before this time are refused: the store's server changed then (failover, restart, flush).", registers: r, aggregator: "max" });
    this.storeServerChanges = new Counter({ name: "wisdom_store_server_changes_total", help: "New store servers (failovers, restarts without data, flushes) this instance found first and fenced.", registers: r });
    this.keys = new Gauge({ name: "wisdom_keys", help: "HMAC keys in the key ring (the signing key and those that still verify).", registers: r, aggregator: "first" });
    this.threads = new Gauge({
      name: "wisdom_threads", help: "Gate threads running (serve --threads; 1 for a single event loop).", registers: r, aggregator: "first",
      collect() {
        if (self._running) this.set(self._running());
      },
    });
    this.threads.set(1);
    if (info.thread !== undefined) {
      const thread = String(info.thread);
      new Counter({
        name: "wisdom_thread_connections_accepted_total", help: "TCP connections accepted, by gate thread (serve --threads): how evenly the kernel spreads them.", labelNames: ["thread"], registers: r,
        collect() {
          this.reset();
          this.inc({ thread }, n.accepted);
        },
      });
    }
    this.threadRestarts = new Counter({ name: "wisdom_thread_restarts_total", help: "Gate threads that failed and were started again.", registers: r });
    // The firewall's numbers, read once per scrape (one `nft` call) and shared by its metrics.
    let fw: Promise<FirewallNumbers | null> | null = null;
    const fwRead = () => (fw ??= (self._firewall?.() ?? Promise.resolve(null)).catch(() => null).finally(() => setTimeout(() => (fw = null), 0)));
    const fwCounter = (name: string, help: string, key: keyof FirewallNumbers) =>
      new Counter({
        name, help, registers: r,
        async collect() {
          const v = await fwRead();
          this.reset();
          const x = v?.[key] ?? 0;
          if (x > 0) this.inc(x);
        },
      });
    fwCounter("wisdom_firewall_dropped_packets_total", "SYN packets the nftables drop set discarded (firewall: nft); a client retrying its connect counts once per SYN.", "dropped_packets");
    fwCounter("wisdom_firewall_bans_total", "Prefixes put into the nftables drop set (firewall: nft).", "bans");
    fwCounter("wisdom_firewall_skipped_total", "Bans not made because the drop set was full (firewall_max_entries).", "skipped");
    fwCounter("wisdom_firewall_failures_total", "nft commands that failed.", "failed");
    fwCounter("wisdom_firewall_spared_total", "Refusals from trusted networks (proxy_trusted) that counted towards no ban.", "spared");
    new Gauge({
      name: "wisdom_firewall_entries", help: "Prefixes in the nftables drop set now (firewall: nft).", registers: r, aggregator: "first",
      async collect() {
        const v = await fwRead();
        this.set(v ? v.entries : 0);
      },
    });
    // In place of prom-client's process_open_fds and process_max_fds (left out: #promRegistry).
    this.openFds = new Gauge({
      name: "wisdom_open_fds", help: "File descriptors open in this process (0 where unknown).", registers: r, aggregator: "first",
      collect() {
        const u = self._fds?.() ?? null;
        this.set(u?.open ?? 0);
        self.maxFds.set(u?.max ?? 0);
      },
    });
    // Registered after wisdom_open_fds, whose collect sets it: a scrape reads gauges in registration order.
    this.maxFds = new Gauge({ name: "wisdom_max_fds", help: "Open-file limit of this process, the one connection caps are fitted to (0 where unknown).", registers: r, aggregator: "first" });
    this.acceptErrors = new Counter({ name: "wisdom_accept_errors_total", help: "Failed accepts, by errno (EMFILE: no descriptor free; on Bun and node:net, found by a probe once a second).", labelNames: ["code"], registers: r });
    this.acceptErrors.inc({ code: "EMFILE" }, 0);
    new Counter({
      name: "wisdom_forced_gc_total", help: "Collections the heap governor forced while the RSS was over its budget, by trigger (heap growth, RSS step, period; Bun; 0 elsewhere).", labelNames: ["trigger"], registers: r,
      collect() {
        this.reset();
        for (const t of GOVERNOR_TRIGGERS) this.inc({ trigger: t }, self._gc?.byTrigger[t] ?? 0);
      },
    });
    new Counter({ name: "wisdom_forced_gc_seconds_total", help: "Event-loop time those collections took.", registers: r, collect: total(() => (self._gc?.pausedMs ?? 0) / 1000) });
    new Gauge({
      name: "wisdom_heap_budget_bytes", help: "The process RSS over which the heap governor forces collections; it grows with the gate threads (Bun; 0 elsewhere and in wisdom guard).", registers: r, aggregator: "first",
      collect() {
        this.set(self._gc?.budgetBytes ?? 0);
      },
    });
    new Counter({ name: "wisdom_young_gc_requested_total", help: "Eden collections the gate threads asked for, one per so many accepted connections (Bun; 0 elsewhere).", registers: r, collect: total(() => self._young?.collections ?? 0) });
  }

  /** Read the firewall's numbers at scrape time (firewall: nft). */
  bindFirewall(read: () => Promise<FirewallNumbers>): void {
    this._firewall = read;
  }

  connOpened(): void {
    this.#n.accepted++;
    this.#n.open++;
  }
  connClosed(reason: CloseReason, lifetimeMs: number): void {
    const n = this.#n;
    n.open--;
    n.closed.set(reason, (n.closed.get(reason) ?? 0) + 1);
    // A guard's relayed stream lives on after its handshake: its lifetime is no handshake's.
    if (reason !== "forwarded") this.handshake.observe(lifetimeMs / 1000);
    if (reason === "served") this.served.observe(lifetimeMs / 1000);
  }
  connRefused(reason: string): void {
    this.refused.inc({ reason });
  }
  challengeIssued(): void {
    this.#n.challenges++;
  }
  proofAccepted(_bits: number, verifyMs: number, solveMs: number): void {
    this.#n.verified++;
    this.verification.observe(verifyMs / 1000);
    this.solve.observe(solveMs / 1000);
  }
  proofRejected(code: ErrorCode): void {
    this.proofsFailed.inc({ reason: lower(code) });
  }
  frameRejected(code: ErrorCode): void {
    this.framesRejected.inc({ reason: lower(code) });
  }
  quoteServed(source: string): void {
    const q = this.#n.quotes;
    q.set(source, (q.get(source) ?? 0) + 1);
  }
  difficultyChanged(bits: number): void {
    this.difficulty.set(bits);
  }

  /** Quote-source observer (see quotes/). */
  quoteSourceFailed(source: string, reason: string): void {
    this.quoteSourceFailures.inc({ source, reason });
  }
  quoteSourceBreakerState(source: string, state: string): void {
    this.quoteSourceBreaker.set({ source }, state === "closed" ? 0 : 1);
  }

  /** Where scrape-time gauges read their values. */
  bindLive(l: LiveValues): void {
    this._live = l;
  }

  /** Transport observer: an accept failed (ListenOptions.onAcceptError). */
  acceptFailed(code: string): void {
    this.acceptErrors.inc({ code });
  }
  /** Where wisdom_open_fds and wisdom_max_fds read at scrape time (runtime/fd-limits.ts fdUsage). */
  bindFds(read: () => { open: number; max: number } | null): void {
    this._fds = read;
  }

  /** Where wisdom_young_gc_requested_total reads (runtime/young-pacer.ts). */
  bindYoungPacer(p: { readonly collections: number } | null): void {
    this._young = p;
  }

  /** Where wisdom_forced_gc_total, wisdom_forced_gc_seconds_total and wisdom_heap_budget_bytes read (runtime/heap-governor.ts). */
  bindGovernor(g: GovernorFigures | null): void {
    this._gc = g;
  }

  /**
   * Gate threads (serve --threads): this registry, the main thread's, also reports what `peers` return,
   * each counter and histogram summed over the threads, each gauge by its aggregator (the highest
   * difficulty, the lowest readiness, process-wide values from the main thread).
   */
  bindPeers(peers: () => Promise<MetricsSnapshot[]>): void {
    this._peers = peers;
  }

  /** Where wisdom_threads reads the running gate threads at scrape time. */
  bindThreads(running: () => number): void {
    this._running = running;
  }

  /**
   * These metrics' values, in the form of prom-client's Registry.getMetricsAsJSON, for the main thread to
   * add up (a gate thread's side of bindPeers). With prom-client's registry, its default metrics too.
   */
  async snapshot(): Promise<MetricsSnapshot> {
    if (this.#registry) return (await this.#registry.getMetricsAsJSON()) as MetricsSnapshot;
    return (await Promise.all(this.#own.map((m) => m.get()))) as unknown as MetricsSnapshot;
  }

  /** The Prometheus text of these metrics (with bindPeers, of every gate thread's, added up). */
  async render(): Promise<string> {
    const registry = await this.#promRegistry(false);
    if (!this._peers) return registry.metrics();
    const [own, peers] = await Promise.all([this.snapshot(), this._peers()]);
    const { aggregatorRegistry } = await import("./prom.ts");
    return (await aggregatorRegistry()).aggregate([own, ...peers]).metrics();
  }

  /** The text format's content type (prom-client's; the same for every version 0.0.4 registry). */
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";

  /** prom-client's registry holding these metrics, for commands that add their own (wisdom guard); after create(). */
  get registry(): Registry {
    if (!this.#registry) throw new Error("Metrics.registry: made by Metrics.create() or the first render()");
    return this.#registry;
  }

  /** Loads prom-client and makes its registry of these metrics, the first time; `defaults`: with its process metrics. */
  #promRegistry(defaults: boolean): Promise<Registry> {
    return (this.#registryMade ??= this.#makeRegistry(defaults)); // once, however many ask while it loads
  }

  async #makeRegistry(defaults: boolean): Promise<Registry> {
    const prom = await import("./prom.ts");
    const registry = new prom.Registry();
    if (defaults) {
      (await prom.defaultMetrics())({ register: registry });
      // A few of prom-client's defaults (nodejs_active_*_total) are gauges named like counters, which
      // promtool rightly reports; they duplicate the un-suffixed gauges, so they are left out.
      // The per-heap-space sizes cost about 5 ms per scrape on Bun (emulated V8 statistics) and repeat
      // what nodejs_heap_size_* say; they are left out too (bench/scrape.ts measures the scrape cost).
      // process_open_fds and process_max_fds list /proc/self/fd on their own (tens of ms at 20,000
      // descriptors, per list) and keep their last value once no descriptor is left to list with, just
      // when it matters: wisdom_open_fds and wisdom_max_fds stand in, one read per scrape for both.
      for (const m of registry.getMetricsAsArray()) {
        if (m.name.endsWith("_total") && (m as { type?: unknown }).type !== "counter") registry.removeSingleMetric(m.name);
        else if (m.name.startsWith("nodejs_heap_space_size_") || m.name === "process_open_fds" || m.name === "process_max_fds") registry.removeSingleMetric(m.name);
      }
    }
    for (const m of this.#own) registry.registerMetric(m as unknown as Metric);
    return (this.#registry = registry);
  }
}
