/**
 * `wisdom serve`: the composition root. config -> keys -> store -> quotes -> policy -> gate -> transport,
 * each part from a module in shared/serve/, held by an AsyncDisposableStack so a failed start releases
 * what it built. Nothing below this file reaches for a global; startServer() is also the library's way to run the server.
 * @module
 */
import { reloadOnSighup } from "./shared/serve/sighup.ts";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, envName, flagName, loadServeConfig } from "./shared/config/load.ts";
import { CONFIG_DOCS, CONFIG_KEYS, GUARD_KEYS, NUMERIC_KEYS, SERVE_DEFAULTS, type ServeConfig, ServeConfigSchema } from "./shared/config/schema.ts";
import { loadSecrets, type Secrets } from "./shared/config/secrets.ts";
import { loadStorePasswords } from "./shared/config/store-secrets.ts";
import { createDefence, type Defence, type SharedDefenceState } from "./shared/defence/from-config.ts";
import { GateConnections } from "./shared/gate/connections.ts";
import { Gate } from "./shared/gate/gate.ts";
import type { GateObserver, Passages } from "./shared/gate/types.ts";
import { formatHostPort } from "./shared/net/address.ts";
import type { Readiness } from "./shared/observe/http.ts";
import { createLogger, type Logger, silentLogger } from "./shared/observe/logger.ts";
import { Metrics } from "./shared/observe/metrics.ts";
import { profileDirProblems, writeCpuProfile } from "./shared/observe/profile-file.ts";
import type { Profiles } from "./shared/observe/profiles.ts";
import { fanOut, GateStats } from "./shared/observe/stats.ts";
import { type KeySpec, KeyRing } from "./shared/pow/keys.ts";
import type { QuoteSource } from "./shared/quotes/types.ts";
import { fdUsage } from "./shared/runtime/fd-limits.ts";
import { startHeapGovernor } from "./shared/runtime/heap-governor.ts";
import { debugSnapshot } from "./shared/serve/debug-snapshot.ts";
import { fdCaps } from "./shared/serve/fd-caps.ts";
import { firewallSlot, startServeFirewall } from "./shared/serve/firewall.ts";
import { gateSettings } from "./shared/serve/gate-settings.ts";
import { openGateListener } from "./shared/serve/listener.ts";
import { startAdaptiveLoop } from "./shared/serve/adaptive.ts";
import { quoteBuilder } from "./shared/serve/quotes.ts";
import { readinessOf } from "./shared/serve/readiness.ts";
import { RESTART_KEYS, type ReloadReport } from "./shared/serve/reload-diff.ts";
import { proxyList, reloader } from "./shared/serve/reload.ts";
import { releaseStep } from "./shared/serve/release.ts";
import { openProfiles, openSideListener } from "./shared/serve/side-listener.ts";
import type { ServeState } from "./shared/serve/state.ts";
import { openStoreBackend } from "./shared/serve/store-backend.ts";
import { planThreads, startThreads } from "./shared/serve/threads.ts";
import type { PressureBoard, SpentStore } from "./shared/store/types.ts";
import type { Passwords } from "./shared/store/redis-connection.ts";
import { EXIT, type Io, UsageError } from "./shared/cli/io.ts";
import { pickTransport, runtimeName } from "./shared/transport/index.ts";
import type { HttpServer } from "./shared/transport/http.ts";
import type { Transport } from "./shared/transport/types.ts";
import { COMMIT, VERSION } from "./shared/version.ts";

export { RESTART_KEYS, type ReloadReport };

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
  /**
   * `serve --threads`: this server is one of several gate threads of the process (serve/threads.ts),
   * listening on a shared port. `index` 0 is the main thread, which alone reports the process's own
   * metrics; `board` is where the threads' controllers see their pressure summed (with a Redis store,
   * the store's board, which every thread and instance shares, is used instead).
   */
  readonly thread?: { readonly index: number; readonly board: PressureBoard; readonly admission: SharedDefenceState | null };
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

/** The main listener, or an error naming the address it could not listen on. */
/** Build every part from `opts` and start listening; a start that fails part-way releases what it built. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.logger ?? silentLogger;
  const c = opts.config; // the configuration at start (state.config is the one in force)
  if (c.profile_dir !== "" && profileDirProblems(c.profile_dir).length > 0) throw new ConfigError(profileDirProblems(c.profile_dir));
  // Released by close() or by a failed start: `serving` first (the loops, then the listener drained),
  // then `parts` in the reverse of the order they were built, each step even when one before it failed.
  await using stack = new AsyncDisposableStack();
  const parts = stack.use(new AsyncDisposableStack());
  const serving = stack.use(new AsyncDisposableStack());
  const release = (step: () => unknown) => parts.defer(releaseStep(log, step));
  const stats = new GateStats();
  const ring = new KeyRing(opts.keys, opts.signingId);
  const instanceId = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  let eventMetrics: Metrics | null = null; // store events during the connect are logged, not counted
  const { store, redis } = await openStoreBackend(c, { store: opts.store, storePasswords: opts.storePasswords, now: opts.now, instanceId, log, metrics: () => eventMetrics });
  release(() => redis?.close());
  release(() => store.close());
  const caps = fdCaps(c, log);
  if ((opts.thread?.index ?? 0) === 0) caps.logFit(c); // once per process
  const state: ServeState = { config: c, defence: createDefence(caps.fitted(c), redis?.limiter, opts.thread?.admission) };
  const metrics = (eventMetrics = new Metrics({ version: VERSION, commit: COMMIT, runtime: runtimeName(), defaults: (opts.thread?.index ?? 0) === 0, thread: opts.thread?.index }));
  metrics.bindFds(() => fdUsage(caps.fdLimit));
  const buildQuotes = quoteBuilder({ baseDir: opts.configDir, log, metrics });
  const quotes = opts.quotes ?? (await buildQuotes(c));
  const fw = firewallSlot();
  const observer = fanOut(stats, metrics, ...(c.firewall === "nft" ? [fw.offences] : []), ...(opts.observer ? [opts.observer] : []));
  const gate = new Gate({ ring, store, quotes, policy: state.defence.policy, settings: gateSettings(c), observer, now: opts.now, mono: opts.mono });
  release(() => gate.quotes.close?.()); // the source in force, after reloads
  const connections = new GateConnections(gate, state.defence.admission, proxyList(c), undefined, state.defence.windows, opts.passages?.(metrics) ?? null);
  const { listener, setGraceMs } = await openGateListener({
    listen: c.listen, transport: opts.transport ?? (await pickTransport()), connections, metrics, log, serving, mono: () => gate.mono(),
    maxConnections: () => state.defence.admission?.spec.maxConnections ?? null, openFileLimit: caps.limit, reusePort: opts.thread !== undefined,
  });
  if (c.firewall === "nft") {
    fw.firewall = await startServeFirewall(c, listener.port, log, metrics);
    release(() => fw.firewall?.close());
  }
  connections.start();
  metrics.keys.set(ring.ids.length);
  const board = redis?.pressure ?? opts.thread?.board ?? null;
  const shared = board ? { board, instanceId } : null;
  const adaptive = serving.use(startAdaptiveLoop({ state, gate, stats, openConnections: () => connections.openCount, metrics, observer, log, shared }));
  const heap = opts.heapGovernor === false ? null : startHeapGovernor();
  serving.defer(() => heap?.stop());
  const reload = reloader({ state, gate, connections, caps, limiter: redis?.limiter, shared: opts.thread?.admission ?? null, firewall: fw, metrics, buildQuotes: opts.quotes ? null : buildQuotes });
  const startedAt = Date.now();
  const readiness = readinessOf(connections, gate);
  metrics.bindLive({ storeUp: () => gate.store.healthy(), ready: () => readiness().ready, spentEntries: () => gate.store.size() });
  const profiles = await openProfiles(c, (profiler) => release(() => profiler.close()));
  const debug = debugSnapshot({ startedAt, loop: adaptive.loop, connections, gate, state });
  const http = await openSideListener(c, { metrics, readiness, startedAt, debug, profiles });
  release(() => http?.stop());
  const owned = stack.move();
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      setGraceMs(state.config.shutdown_grace_ms);
      await owned.disposeAsync();
    })());
  return {
    host: listener.host, port: listener.port, gate, connections, stats, metrics, http, profiles, readiness, reload, close,
    get defence() {
      return state.defence;
    },
    get config() {
      return state.config;
    },
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
  const serverOptions: ServerOptions = { config, keys: secrets.keys, signingId: secrets.signingId, storePasswords, logger: log, configDir: configPath ? dirname(resolve(configPath)) : process.cwd() };
  const plan = planThreads(config);
  if (plan.reason) log.warn("running one gate thread", { threads_asked: config.threads === 0 ? "0 (one per core)" : config.threads, reason: plan.reason });
  const server = plan.threads > 1 ? await startThreads({ ...serverOptions, threads: plan.threads, writeLog: io.stderr }, startServer) : await startServer(serverOptions);
  log.info("listening", {
    address: formatHostPort(server.host, server.port),
    metrics: server.http ? formatHostPort(server.http.host, server.http.port) : "off",
    difficulty: config.difficulty,
    defence: config.defence,
    adaptive: config.defence === "on" ? config.adaptive : "off",
    proxy_protocol: config.proxy_protocol === "on" ? config.proxy_trusted : "off",
    store: config.store === "memory" ? "memory" : `${config.store} (${config.store_failure})`,
    runtime: runtimeName(),
    threads: plan.threads,
    version: VERSION,
    key_id: secrets.signingId,
    key_source: secrets.origin,
  });
  reloadOnSighup(io, log, read, secrets, server);
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
