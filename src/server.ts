/**
 * `wisdom serve`: the composition root. config -> keys -> store -> quotes -> policy -> gate -> transport.
 * Nothing below this file reaches for a global; startServer() is also the library's way to run the server.
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, envName, flagName, loadServeConfig } from "./shared/config/load.ts";
import { CONFIG_DOCS, CONFIG_KEYS, GUARD_KEYS, NUMERIC_KEYS, SERVE_DEFAULTS, type ServeConfig, ServeConfigSchema } from "./shared/config/schema.ts";
import { loadSecrets, type Secrets } from "./shared/config/secrets.ts";
import { GateConnections } from "./shared/gate/connections.ts";
import { Gate } from "./shared/gate/gate.ts";
import type { GateObserver, GateSettings, Passages } from "./shared/gate/types.ts";
import { createDefence, type Defence, reconfigureDefence } from "./shared/defence/from-config.ts";
import { PressureSampler } from "./shared/defence/sampler.ts";
import { LoopDelayMonitor } from "./shared/observe/loop-delay.ts";
import { formatHostPort, parseHostPort } from "./shared/net/address.ts";
import { CidrList } from "./shared/net/cidr.ts";
import { type KeySpec, KeyRing } from "./shared/pow/keys.ts";
import { createQuoteSource, QuoteConfigError } from "./shared/quotes/from-config.ts";
import type { QuoteSource } from "./shared/quotes/types.ts";
import { MemorySpentStore } from "./shared/store/memory.ts";
import { createRedisBackend } from "./shared/store/redis.ts";
import { redisClients } from "./shared/runtime/redis-clients.ts";
import { MemoryRateLimiter } from "./shared/defence/rate-limiter.ts";
import { hostname } from "node:os";
import type { SpentStore } from "./shared/store/types.ts";
import { EXIT, type Io, UsageError } from "./shared/cli/io.ts";
import { createLogger, type Logger, silentLogger } from "./shared/observe/logger.ts";
import { fanOut, GateStats } from "./shared/observe/stats.ts";
import { pickTransport, runtimeName } from "./shared/transport/index.ts";
import type { Listener, Transport } from "./shared/transport/types.ts";
import { COMMIT, VERSION } from "./shared/version.ts";
import { Metrics } from "./shared/observe/metrics.ts";
import { createHttpApp, type Readiness } from "./shared/observe/http.ts";
import { HEAP_INTERVAL_BYTES, PROFILE_SECONDS, Profiles } from "./shared/observe/profiles.ts";
import { profileDirProblems, writeCpuProfile } from "./shared/observe/profile-file.ts";
import type { RuntimeProfiler } from "./shared/runtime/inspector.ts";
import { type HttpServer, serveHttp } from "./shared/transport/http.ts";
import type { Firewall } from "./shared/runtime/nft-firewall.ts";
import { fitCaps } from "./shared/defence/fd-budget.ts";
import { fdUsage, readFdLimit, startDescriptors } from "./shared/runtime/fd-limits.ts";
import type { AcceptError } from "./shared/transport/types.ts";
import { startHeapGovernor } from "./shared/runtime/heap-governor.ts";
import { OFFENCES } from "./shared/defence/offenders.ts";
import { loadStorePasswords } from "./shared/config/store-secrets.ts";
import type { Passwords } from "./shared/store/redis-connection.ts";

export interface ServerOptions {
  readonly config: ServeConfig;
  readonly keys: readonly KeySpec[];
  readonly signingId?: string;
  readonly logger?: Logger;
  readonly transport?: Transport;
  readonly store?: SpentStore;
  readonly quotes?: QuoteSource;
  readonly observer?: GateObserver;
  /** Directory that relative paths in the configuration (quote files) are resolved against. */
  readonly configDir?: string;
  /** Passwords of the shared store (config/store-secrets.ts). */
  readonly storePasswords?: Passwords;
  /** Clocks, for tests. */
  readonly now?: () => number;
  readonly mono?: () => number;
  /**
   * `wisdom guard`: what a valid proof opens instead of a quote (built once the metrics exist). The guard
   * hands in `quotes` too: a source that serves none and reports the upstream's saturation.
   */
  readonly passages?: (metrics: Metrics) => Passages;
  /**
   * Force collections while the RSS is over budget (runtime/heap-governor.ts; default on). The guard turns it
   * off: a relayed stream's garbage is its read buffers, the governor collected every 250 ms while streaming
   * and cost 20-30 % more CPU per GB relayed, for the same peak RSS (about 90 MB after 1 GB; bench/guard.ts).
   */
  readonly heapGovernor?: boolean;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly gate: Gate;
  readonly connections: GateConnections;
  readonly stats: GateStats;
  defence: Defence;
  readonly metrics: Metrics;
  /** The configuration in force (after reloads). */
  readonly config: ServeConfig;
  /** Apply a new configuration and key ring without dropping connections (SIGHUP). */
  reload(config: ServeConfig, keys: readonly KeySpec[], signingId?: string): Promise<ReloadReport>;
  /** The HTTP side listener, when metrics_listen is set. */
  readonly http: HttpServer | null;
  /** CPU and heap profiles, when debug_runtime is on or profile_dir is set. */
  readonly profiles: Profiles | null;
  readiness(): Readiness;
  /** Stop accepting, let in-flight handshakes finish within shutdown_grace_ms, release everything. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A store URL for logs: no credentials (the schema allows none, but logs must never carry a secret). */
function redactUrl(url: string): string {
  return url.replace(/^([^:/]*:\/\/).*@/s, "$1***@"); // as store/redis-url.ts redactUrl: up to the last "@"
}

function gateSettings(c: ServeConfig, prev?: GateSettings): GateSettings {
  return {
    timeouts: { firstByteMs: c.first_byte_timeout_ms, frameMs: c.frame_timeout_ms, handshakeMs: c.handshake_timeout_ms },
    ttlMs: c.challenge_ttl_ms,
    skewMs: c.clock_skew_ms,
    // Never lowered by a reload: challenges already issued with the longer lifetime must still verify.
    maxTtlMs: Math.max(c.challenge_ttl_ms, prev?.maxTtlMs ?? 0),
    maxPayload: c.max_frame_bytes,
  };
}

/** Keys whose change takes a restart; a reload reports them and keeps the running value. */
export const RESTART_KEYS: readonly (keyof ServeConfig)[] = [
  "listen", "metrics_listen", "log_format", "log_level", "spent_max_entries", "debug_runtime", "store", "store_failure", "store_timeout_ms", "store_password_file", "store_sentinel_password_file",
  "adaptive_tick_ms", "firewall", "firewall_refusals", "firewall_window_ms", "firewall_ban_ms", "firewall_max_entries", "firewall_table",
  "profile_dir",
];

export interface ReloadReport {
  readonly changed: string[];
  readonly needRestart: string[];
}

/** Build every part from `opts` and start listening. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  let c = opts.config;
  const log = opts.logger ?? silentLogger;
  if (c.profile_dir !== "") {
    const problems = profileDirProblems(c.profile_dir);
    if (problems.length > 0) throw new ConfigError(problems);
  }
  const stats = new GateStats();
  const ring = new KeyRing(opts.keys, opts.signingId);
  const instanceId = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const metricsRef: { m: Metrics | null } = { m: null };
  const redis =
    !opts.store && c.store !== "memory"
      ? await createRedisBackend(c.store, {
          connect: redisClients,
          failMode: c.store_failure,
          commandTimeoutMs: c.store_timeout_ms,
          instanceId,
          // Restart key: a reload that raises clock_skew_ms takes effect for the fence at the next start.
          clockSkewMs: c.clock_skew_ms,
          now: opts.now,
          password: opts.storePasswords,
          memoryFallback: { store: new MemorySpentStore({ maxEntries: c.spent_max_entries }), limiter: new MemoryRateLimiter() },
          onEvent: (e) => {
            const m = metricsRef.m;
            if (e.type === "down") log.warn("store down", { store: redactUrl(c.store), detail: e.detail, failure_mode: c.store_failure });
            else if (e.type === "up") {
              log.info("store up", { store: redactUrl(c.store), ...(e.downMs === undefined ? {} : { down_ms: e.downMs }) });
              if (e.downMs !== undefined && m) {
                m.storeOutages.inc();
                m.storeOutageSeconds.inc(e.downMs / 1000);
                m.storeLastOutage.set(e.downMs / 1000);
              }
            } else if (e.type === "fence") {
              const fields = { store: redactUrl(c.store), detail: e.detail, fence: new Date(e.fenceMs).toISOString() };
              if (e.raised) log.warn("store server changed", fields);
              else log.info("store fence", fields);
              m?.storeFence.set(e.fenceMs / 1000);
              if (e.raised) m?.storeServerChanges.inc();
            } else if (e.source === "spent") m?.storeFallbacks.inc(); // proofs checked in memory only
          },
        })
      : null;
  // Restart-safe: proofs of challenges issued before this start may have been redeemed by the previous
  // process, whose spent set is gone; they are refused (EXPIRED, ask again). See store/memory.ts.
  const store = opts.store ?? redis?.store ?? new MemorySpentStore({ maxEntries: c.spent_max_entries, fenceMs: (opts.now ?? Date.now)() });
  // Connection caps that fit the open-file limit: read once, after the runtime raised the soft limit to
  // the hard one (without /proc, as on Deno, it probes); a reload fits its new caps to the same numbers.
  // `c` keeps the configured values; only what admission gets is clamped.
  const fdLimit = readFdLimit();
  const fds = startDescriptors(c.max_connections + c.fd_reserve);
  const fitFds = (cfg: ServeConfig) => fitCaps(cfg, { limit: fds.limit, inUse: fds.inUse, reserve: cfg.fd_reserve });
  const withFittedCaps = (cfg: ServeConfig): ServeConfig => ({ ...cfg, ...fitFds(cfg).caps });
  const logFit = (cfg: ServeConfig) => {
    const fit = fitFds(cfg);
    if (cfg.defence === "off" && fit.room !== null && cfg.max_connections > fit.room) log.warn(`defence off: no connection cap applies; ${fit.message}`);
    else if (fit.clamped) log.warn(fit.message, { open_file_limit: fds.limit, max_connections: fit.caps.max_connections, read_from: fds.source });
    else log.debug(fit.message, { read_from: fds.source });
  };
  logFit(c);
  let defence = createDefence(withFittedCaps(c), redis?.limiter);
  const metrics = new Metrics({ version: VERSION, commit: COMMIT, runtime: runtimeName() });
  metricsRef.m = metrics;
  metrics.bindFds(() => fdUsage(fdLimit));
  const buildQuotes = async (cfg: ServeConfig): Promise<QuoteSource> => {
    try {
      return await createQuoteSource(cfg.quotes, {
        baseDir: opts.configDir,
        warn: (m) => log.warn(m),
        observer: {
          failed: (source, reason) => metrics.quoteSourceFailed(source, reason),
          breakerState: (source, state) => metrics.quoteSourceBreakerState(source, state),
        },
      });
    } catch (err) {
      if (err instanceof QuoteConfigError) throw new ConfigError([...err.problems]);
      throw err;
    }
  };
  const quotes: QuoteSource = opts.quotes ?? (await buildQuotes(c));
  // Kernel-level shedding (firewall: nft): prefixes that keep being refused go into an nftables drop set.
  let firewall: Firewall | null = null;
  const offences: GateObserver = {
    connRefused: (reason, addr) => {
      if (firewall && addr && OFFENCES.has(reason)) firewall.onRefused(addr, Date.now(), reason);
    },
  };
  const observer = fanOut(stats, metrics, ...(c.firewall === "nft" ? [offences] : []), ...(opts.observer ? [opts.observer] : []));
  const gate = new Gate({
    ring,
    store,
    quotes,
    policy: defence.policy,
    settings: gateSettings(c),
    observer,
    now: opts.now,
    mono: opts.mono,
  });
  const proxyList = (cfg: ServeConfig) => (cfg.proxy_protocol === "on" ? new CidrList(cfg.proxy_trusted) : null);
  const connections = new GateConnections(gate, defence.admission, proxyList(c), undefined, defence.windows, opts.passages?.(metrics) ?? null);
  const transport = opts.transport ?? (await pickTransport());
  const { host, port } = parseHostPort(c.listen, "0.0.0.0");
  // Every failed accept is counted; the log says so at most every 5 s, with how many since the last line.
  let acceptFailures = 0;
  let acceptFailuresLogged = 0;
  let acceptLoggedAt = -Infinity;
  const onAcceptError = (e: AcceptError) => {
    metrics.acceptFailed(e.code);
    acceptFailures++;
    const now = gate.mono();
    if (now - acceptLoggedAt < 5000) return;
    acceptLoggedAt = now;
    log.error("accept failed: new connections wait in the kernel's queue", {
      code: e.code, detail: e.message, failures: acceptFailures - acceptFailuresLogged, open_connections: connections.openCount,
      max_connections: defence.admission?.spec.maxConnections ?? null, open_file_limit: fds.limit,
    });
    acceptFailuresLogged = acceptFailures;
  };
  let http: HttpServer | null = null;
  let profiler: RuntimeProfiler | null = null;
  /** Releases what start-up built besides the listener, each step even when one before it failed (the firewall's table included). */
  const releaseRest = async () => {
    const steps = [() => http?.stop(), () => profiler?.close(), () => store.close(), () => redis?.close(), () => gate.quotes.close?.(), () => firewall?.close()];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        log.warn("a shutdown step failed", { error: (err as Error).message });
      }
    }
  };
  let listener: Listener;
  try {
    listener = await transport.listen({ host, port, onAcceptError }, connections);
  } catch (err) {
    await releaseRest();
    throw new Error(`Cannot listen on ${formatHostPort(host, port)}: ${(err as Error).message}`, { cause: err });
  }
  if (c.firewall === "nft") {
    if (c.proxy_protocol === "on") log.warn("firewall: nft behind a proxy drops little: the kernel sees the proxy's address, not the client's");
    try {
      // proxy_trusted is never banned, even with the PROXY protocol off: by default it keeps loopback safe.
      const { startFirewall } = await import("./shared/runtime/nft-firewall.ts");
      firewall = await startFirewall({
        table: c.firewall_table, port: listener.port, refusals: c.firewall_refusals, windowMs: c.firewall_window_ms, banMs: c.firewall_ban_ms,
        maxEntries: c.firewall_max_entries, trusted: c.proxy_trusted, onError: (e) => log.warn("firewall: nft failed", { error: e.message }),
      });
    } catch (err) {
      await listener.stop();
      await releaseRest();
      throw err;
    }
    metrics.bindFirewall(() => firewall!.stats());
    log.info("firewall on", { table: `inet ${c.firewall_table}`, port: listener.port, refusals: c.firewall_refusals, window_ms: c.firewall_window_ms, ban_ms: c.firewall_ban_ms });
  }
  connections.start();
  observer.difficultyChanged?.(defence.controller?.bits ?? c.difficulty, 0, 0, "start");
  metrics.difficultyFloor.set(c.difficulty);
  metrics.difficultyCeiling.set(defence.adaptive ? c.difficulty_max : c.difficulty);
  metrics.windowSeconds.set(c.first_byte_timeout_ms / 1000);
  metrics.keys.set(ring.ids.length);
  const loop = new LoopDelayMonitor().start();
  const sampler = new PressureSampler({
    accepted: () => stats.accepted,
    challenges: () => stats.challenges,
    failedProofs: () => Object.values(stats.proofsFailed).reduce((a, b) => a + b, 0),
    validProofs: () => stats.proofsOk,
    openConnections: () => connections.openCount,
    loopDelayMs: () => loop.takeMax(),
    sourceSaturation: () => gate.quotes.saturation?.() ?? 0,
  });
  sampler.sample(gate.mono());
  // One tick drives the controller and refreshes the sampled gauges. With a shared store, the controller
  // sees the pressure summed over every live instance, so all of them agree on the difficulty.
  let ticking = false;
  const ticker = setInterval(async () => {
    if (ticking) return; // a slow store must not pile ticks up
    ticking = true;
    try {
      await tick();
    } catch (err) {
      // An observer or a quote source's saturation() that throws must not become an unhandled rejection
      // (which ends the process on some runtimes), nor stop the next tick.
      log.error("controller tick failed", { error: (err as Error)?.message ?? String(err) });
    } finally {
      ticking = false;
    }
  }, c.adaptive_tick_ms);
  (ticker as { unref?: () => void }).unref?.();
  const heap = opts.heapGovernor === false ? null : startHeapGovernor();
  const tick = async () => {
    let sample = sampler.sample(gate.mono());
    metrics.loopDelay.set(sample.loopDelayMs / 1000);
    // Windows follow this instance's own connections: a flood elsewhere does not shorten them here.
    const windows = defence.windows;
    if (windows) {
      const before = windows.tightness;
      windows.update(sample);
      metrics.connectionPressure.set(windows.pressure);
      metrics.windowSeconds.set(windows.apply(gate.settings.timeouts.firstByteMs) / 1000);
      if ((before === 0) !== (windows.tightness === 0)) {
        log.info(windows.tightness > 0 ? "windows tightened" : "windows restored", {
          first_byte_ms: windows.apply(gate.settings.timeouts.firstByteMs),
          frame_ms: windows.apply(gate.settings.timeouts.frameMs),
          connection_pressure: Math.round(windows.pressure * 100) / 100,
        });
      }
    }
    const controller = defence.controller;
    if (!controller || !defence.adaptive) return;
    const from = controller.bits;
    let sharedBits = 0;
    if (redis) {
      const rep = await redis.pressure.exchange(instanceId, { ...sample, bits: controller.bits }, c.adaptive_tick_ms * 3);
      sample = rep.aggregate;
      sharedBits = rep.maxBits;
    }
    const step = controller.update(sample);
    // Rising pressure anywhere raises everyone: adopt the highest level another instance already reached.
    if (sharedBits > controller.bits && step.pressure >= 0.5) controller.bits = Math.min(controller.spec.ceiling, sharedBits);
    metrics.pressure.set(step.pressure);
    if (controller.bits !== from) {
      observer.difficultyChanged?.(controller.bits, from, step.pressure, step.driver);
      log.info("difficulty changed", { from, to: controller.bits, pressure: Math.round(step.pressure * 100) / 100, driver: step.driver });
    }
  };

  const reload = async (n: ServeConfig, keys: readonly KeySpec[], signingId?: string): Promise<ReloadReport> => {
    const nextRing = new KeyRing(keys, signingId); // throws before anything changes
    // Rebuilt on every reload, so edited quote files are read again; throws before anything changes.
    const nextQuotes = opts.quotes ? null : await buildQuotes(n);
    const changed = [...CONFIG_KEYS, "quotes"].filter((k) => JSON.stringify((c as Record<string, unknown>)[k]) !== JSON.stringify((n as Record<string, unknown>)[k]));
    const needRestart = changed.filter((k) => (RESTART_KEYS as readonly string[]).includes(k));
    const applied: ServeConfig = { ...n };
    for (const k of needRestart) (applied as Record<string, unknown>)[k] = (c as Record<string, unknown>)[k];
    gate.ring = nextRing;
    gate.settings = gateSettings(applied, gate.settings);
    if (nextQuotes) {
      const old = gate.quotes;
      gate.quotes = nextQuotes;
      void old.close?.();
    }
    if (changed.some((k) => k === "max_connections" || k === "max_connections_per_net" || k === "max_connections_per_addr" || k === "fd_reserve")) logFit(applied);
    defence = reconfigureDefence(defence, withFittedCaps(c), withFittedCaps(applied), redis?.limiter);
    gate.policy = defence.policy;
    connections.admission = defence.admission;
    connections.windows = defence.windows;
    connections.proxyTrusted = proxyList(applied);
    firewall?.setTrusted(applied.proxy_trusted);
    c = applied;
    metrics.difficultyFloor.set(c.difficulty);
    metrics.difficultyCeiling.set(defence.adaptive ? c.difficulty_max : c.difficulty);
    metrics.difficulty.set(defence.controller?.bits ?? c.difficulty);
    metrics.keys.set(nextRing.ids.length);
    return { changed, needRestart };
  };
  const startedAt = Date.now();
  const readiness = (): Readiness => {
    const reasons: string[] = [];
    if (connections.draining) reasons.push("draining");
    if (!(gate.store.ready?.() ?? gate.store.healthy())) reasons.push(`store ${gate.store.name} is down`);
    return { ready: reasons.length === 0, reasons };
  };
  metrics.bindLive({ storeUp: () => gate.store.healthy(), ready: () => readiness().ready, spentEntries: () => gate.store.size() });
  // Profiles (docs/OPERATIONS.md "Profiles"): the inspector session exists only when asked for. Heap
  // sampling runs from the start where the runtime has it, so the heap profile sees what start-up allocated.
  let profiles: Profiles | null = null;
  if (c.debug_runtime === "on" || c.profile_dir !== "") {
    const { RuntimeProfiler } = await import("./shared/runtime/inspector.ts");
    profiler = new RuntimeProfiler();
    if (c.debug_runtime === "on") await profiler.startHeapSampling(HEAP_INTERVAL_BYTES);
    profiles = new Profiles(profiler, `wisdom ${VERSION} (${COMMIT}) on ${runtimeName()}`);
  }
  if (c.metrics_listen !== "") {
    const hp = parseHostPort(c.metrics_listen, "127.0.0.1");
    const app = createHttpApp({
      metrics,
      readiness,
      startedAt,
      debug:
        c.debug_runtime === "on"
          ? () => {
              const m = process.memoryUsage();
              return {
                uptime_s: Math.round((Date.now() - startedAt) / 100) / 10,
                rss_bytes: m.rss,
                heap_used_bytes: m.heapUsed,
                heap_total_bytes: m.heapTotal,
                event_loop_delay_ms: Math.round(loop.last * 100) / 100,
                open_connections: connections.openCount,
                spent_entries: gate.store.size(),
                difficulty_bits: defence.controller?.bits ?? c.difficulty,
                runtime: runtimeName(),
                version: VERSION,
              };
            }
          : null,
      profiles: c.debug_runtime === "on" ? profiles : null,
    });
    try {
      // A CPU profile's response is silent for its whole length: the connection must outlast the longest one.
      const idleTimeoutS = profiles && c.debug_runtime === "on" ? PROFILE_SECONDS.max + 15 : undefined;
      http = await serveHttp(app.fetch, hp.host, hp.port, { idleTimeoutS });
    } catch (err) {
      await listener.stop();
      clearInterval(ticker);
      heap?.stop();
      loop.stop();
      await connections.drain(0);
      await releaseRest();
      throw new Error(`Cannot listen for metrics on ${c.metrics_listen}: ${(err as Error).message}`, { cause: err });
    }
  }
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(ticker);
      heap?.stop();
      loop.stop();
      await listener.stop();
      const forced = await connections.drain(c.shutdown_grace_ms);
      if (forced > 0) log.warn("closed connections still open after the shutdown grace period", { forced });
      await releaseRest();
    })());
  return {
    host: listener.host,
    port: listener.port,
    gate,
    connections,
    stats,
    get defence() {
      return defence;
    },
    get config() {
      return c;
    },
    metrics,
    http,
    profiles,
    readiness,
    reload,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** What a flag's value looks like in `serve --help`: from the key's name and schema. */
export function flagPlaceholder(key: string): string {
  const schema = (ServeConfigSchema.entries as Record<string, { type: string; wrapped?: { type: string }; options?: unknown[] }>)[key];
  const base = schema?.type === "optional" ? schema.wrapped : schema;
  if (base?.type === "picklist") return (base as unknown as { options: string[] }).options.join("|");
  if (key === "listen" || key === "metrics_listen" || key === "upstream") return "HOST:PORT";
  if (key.endsWith("_file")) return "FILE";
  if (key.endsWith("_dir")) return "DIR";
  if (key === "store") return "URL";
  if (key === "proxy_trusted") return "CIDRS";
  if (key.endsWith("_ms")) return "MS";
  if (NUMERIC_KEYS.has(key)) return "N";
  return "NAME";
}

/** The flat keys `serve` takes as flags (the guard's own keys are left to `wisdom guard`). */
export const SERVE_KEYS: readonly string[] = CONFIG_KEYS.filter((k) => !GUARD_KEYS.has(k));

/** The option rows of a command's help: --config, one per key, --help. */
export function configFlagRows(keys: readonly string[]): string {
  const flags = [["--config FILE", "YAML config file (also WISDOM_CONFIG)"]];
  for (const k of keys) {
    const d = (SERVE_DEFAULTS as Record<string, unknown>)[k];
    flags.push([`--${k.replaceAll("_", "-")} ${flagPlaceholder(k)}`, `${CONFIG_DOCS[k as keyof typeof CONFIG_DOCS]}${d === undefined ? "" : ` (default ${d === "" ? '""' : d})`}`]);
  }
  flags.push(["-h, --help", "show this help"]);
  const width = Math.max(...flags.map(([f]) => f!.length)) + 2;
  return flags.map(([f, doc]) => `  ${f!.padEnd(width)}${doc}`).join("\n");
}

export function serveHelp(): string {
  return `Usage: wisdom serve [options]

Run the proof-of-work guarded quote server.

Every option is also a YAML key in --config (snake_case) and a WISDOM_<KEY> environment variable.
Precedence: defaults < config file < environment < flags.

${configFlagRows(SERVE_KEYS)}

Logs go to stderr. SIGINT or SIGTERM stops accepting, finishes in-flight handshakes, exits 0.
`;
}

/** Flags for `keys` (as --kebab-case), --config and --help. */
export function parseConfigArgs(argv: string[], keys: readonly string[] = SERVE_KEYS) {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { config: { type: "string" }, help: { type: "boolean", short: "h" } };
  for (const k of keys) options[k.replaceAll("_", "-")] = { type: "string" };
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Read the whole configuration (file, env, flags) and the keys. Throws ConfigError listing every problem. */
export function readServeConfig(values: Record<string, string | boolean | undefined>, io: Io): { config: ServeConfig; secrets: Secrets; storePasswords: Passwords } {
  const flags: Record<string, string | undefined> = {};
  for (const k of CONFIG_KEYS) flags[k] = values[k.replaceAll("_", "-")] as string | undefined;
  if (flags.log_format === undefined && io.env[envName("log_format")] === undefined && io.stderrIsTTY === false) flags.log_format = "json";
  const configPath = (values.config as string | undefined) ?? io.env.WISDOM_CONFIG;
  let file: { path: string; text: string } | undefined;
  if (configPath !== undefined) {
    try {
      file = { path: configPath, text: readFileSync(configPath, "utf8") };
    } catch (err) {
      throw new ConfigError([`--config: cannot read ${configPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
  }
  const { config } = loadServeConfig({ file, env: io.env, flags });
  const secrets = loadSecrets({
    env: io.env,
    secretFile: config.secret_file,
    keyId: config.key_id,
    keysFile: config.keys_file,
    readFile: (p) => readFileSync(p, "utf8"),
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
  });
  const storePasswords = loadStorePasswords({
    env: io.env,
    passwordFile: config.store_password_file,
    sentinelPasswordFile: config.store_sentinel_password_file,
    readFile: (p) => readFileSync(p, "utf8"),
  });
  return { config, secrets, storePasswords };
}

/** `wisdom serve`: returns the exit code once stopped. */
export async function runServe(argv: string[], io: Io): Promise<number> {
  const values = parseConfigArgs(argv);
  if (values.help) {
    io.stdout(serveHelp());
    return EXIT.OK;
  }
  const read = () => readServeConfig(values, io);
  const { config, secrets, storePasswords } = read();
  const log = createLogger({ format: config.log_format, level: config.log_level, write: io.stderr, color: io.stderrIsTTY });
  if (secrets.origin === "random") {
    log.warn("no WISDOM_SECRET or secret file: using a random per-process key; challenges die with this process and other instances cannot verify them", {
      hint: "wisdom keygen",
    });
  }
  if (secrets.origin !== "random" && config.store === "memory") {
    // One instance gains nothing from a fixed secret with the memory store (challenges issued before a
    // restart are refused anyway); several instances sharing it each accept a proof once.
    log.warn("a fixed secret with store: memory: instances that share this secret do not share their spent sets, so each accepts a proof once; give them one store (store: redis://... or redis+sentinel://...)", {
      key_source: secrets.origin,
    });
  }
  const stop = io.waitForStop?.() ?? new Promise<string>(() => {}); // handlers in place before "listening" is logged
  const configPath = (values.config as string | undefined) ?? io.env.WISDOM_CONFIG;
  const server = await startServer({ config, keys: secrets.keys, signingId: secrets.signingId, storePasswords, logger: log, configDir: configPath ? dirname(resolve(configPath)) : process.cwd() });
  log.info("listening", {
    address: formatHostPort(server.host, server.port),
    metrics: server.http ? formatHostPort(server.http.host, server.http.port) : "off",
    difficulty: config.difficulty,
    defence: config.defence,
    adaptive: config.defence === "on" ? config.adaptive : "off",
    proxy_protocol: config.proxy_protocol === "on" ? config.proxy_trusted : "off",
    store: config.store === "memory" ? "memory" : `${config.store} (${config.store_failure})`,
    runtime: runtimeName(),
    version: VERSION,
    key_id: secrets.signingId,
    key_source: secrets.origin,
  });
  io.onReload?.(async () => {
    let next;
    try {
      next = read();
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      log.error("reload refused: the new configuration is invalid; keeping the running one", { problems: problems.length });
      for (const p of problems) log.error(`reload problem: ${p}`);
      return;
    }
    if (secrets.origin === "random" && next.secrets.origin === "random") next.secrets = secrets; // keep the process key
    try {
      const r = await server.reload(next.config, next.secrets.keys, next.secrets.signingId);
      log.info("configuration reloaded", { changed: r.changed.join(",") || "nothing", key_id: next.secrets.signingId, keys: next.secrets.keys.length });
      if (r.needRestart.length > 0) log.warn("some changes take effect only after a restart", { keys: r.needRestart.join(",") });
    } catch (err) {
      log.error("reload refused; keeping the running configuration", { error: (err as Error).message });
    }
  });
  if (config.profile_dir !== "" && server.profiles) {
    const profiles = server.profiles;
    const dir = config.profile_dir;
    io.onProfileSignal?.(async () => {
      const seconds = server.config.profile_seconds;
      log.info("SIGUSR2: taking a CPU profile", { seconds, profile_dir: dir });
      try {
        log.info("CPU profile written", { path: await writeCpuProfile(profiles, dir, seconds), seconds });
      } catch (err) {
        if ((err as Error).name === "ProfileBusyError") log.warn("SIGUSR2 ignored: a CPU profile is already being taken");
        else log.error("CPU profile failed", { error: (err as Error).message });
      }
    });
  }
  const signal = await stop;
  log.info("shutting down", { signal, open_connections: server.connections.openCount, grace_ms: server.config.shutdown_grace_ms });
  await server.close();
  log.info("stopped", { quotes_served: Object.values(server.stats.quotes).reduce((a, b) => a + b, 0) });
  return EXIT.OK;
}
