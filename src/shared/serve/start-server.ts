/**
 * One gate thread, built and started: store -> policy -> gate -> connections -> listener -> loops, each
 * part from a module beside this one, held by an AsyncDisposableStack so a failed start releases what it
 * built. `wisdom serve` (src/server.ts) runs one of these, or one per thread (threads.ts); a Worker
 * thread (gate-thread.ts) imports this module alone, so it loads no configuration parser (YAML,
 * valibot) and, without a side listener, no HTTP framework or profiler: each Worker pays for the modules
 * it loads, in resident memory, once per thread.
 * @module
 */
import { ConfigError } from "../config/errors.ts";
import type { ServeConfig } from "../config/schema.ts";
import { createDefence, type Defence, type SharedDefenceState } from "../defence/from-config.ts";
import { GateConnections } from "../gate/connections.ts";
import { Gate } from "../gate/gate.ts";
import type { GateObserver, Passages } from "../gate/types.ts";
import type { Readiness } from "../observe/http.ts";
import { type Logger, silentLogger } from "../observe/log.ts";
import { Metrics } from "../observe/metrics.ts";
import type { Profiles } from "../observe/profiles.ts";
import { fanOut, GateStats } from "../observe/stats.ts";
import { type KeySpec, KeyRing } from "../pow/keys.ts";
import type { QuoteSource } from "../quotes/types.ts";
import { fdUsage } from "../runtime/fd-limits.ts";
import { hostName, processId } from "../runtime/process-info.ts";
import { governorBudgetBytes, startHeapGovernor } from "../runtime/heap-governor.ts";
import { GATE_YOUNG_EVERY, youngPacer } from "../runtime/young-pacer.ts";
import { setJitPolicy } from "../runtime/jit-policy.ts";
import type { PressureBoard, SpentStore } from "../store/types.ts";
import type { Passwords } from "../store/redis-connection.ts";
import { pickTransport, runtimeName } from "../transport/index.ts";
import type { HttpServer } from "../transport/http.ts";
import type { Transport } from "../transport/types.ts";
import { COMMIT, VERSION } from "../version.ts";
import { startAdaptiveLoop } from "./adaptive.ts";
import { debugSnapshot } from "./debug-snapshot.ts";
import { fdCaps, type MeasuredFds } from "./fd-caps.ts";
import { firewallSlot, startServeFirewall } from "./firewall.ts";
import { gateSettings } from "./gate-settings.ts";
import { openGateListener } from "./listener.ts";
import { quoteBuilder } from "./quotes.ts";
import { readinessOf } from "./readiness.ts";
import type { ReloadReport } from "./reload-diff.ts";
import { proxyList, reloader } from "./reload.ts";
import { releaseStep } from "./release.ts";
import type { ServeState } from "./state.ts";
import { openStoreBackend } from "./store-backend.ts";

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
   * Force collections while the RSS is over budget (runtime/heap-governor.ts; default on), and on Bun ask for
   * an eden collection every GATE_YOUNG_EVERY connections (runtime/young-pacer.ts). The guard turns both
   * off: a relayed stream's garbage is its read buffers, the governor collected every 250 ms while streaming
   * and cost 20-30 % more CPU per GB relayed, for the same peak RSS (about 90 MB after 1 GB; bench/guard.ts).
   */
  readonly heapGovernor?: boolean;
  /** Accepted connections between two eden collections on Bun (default GATE_YOUNG_EVERY; none with heapGovernor: false). */
  readonly youngEvery?: number;
  /**
   * JavaScriptCore's tier-up thresholds for this thread, times this (runtime/jit-policy.ts; Bun only).
   * It stays in force for the whole thread, so it is left as it is unless given: `wisdom serve` gives
   * GATE_JIT_SCALE to every gate thread (src/server.ts, serve/threads.ts); the library's serve() and the
   * guard give none.
   */
  readonly jitScale?: number;
  /**
   * `serve --threads`: this server is one of several gate threads of the process (serve/threads.ts),
   * listening on a shared port. `index` 0 is the main thread, which alone reports the process's own
   * metrics; `board` is where the threads' controllers see their pressure summed (with a Redis store,
   * the store's board, which every thread and instance shares, is used instead). `fds`: the process's
   * descriptors as measured once for every thread (serve/fd-caps.ts); without them this thread measures.
   * `threads`: how many gate threads the process runs (the heap governor's budget is the process's).
   */
  readonly thread?: { readonly index: number; readonly threads: number; readonly board: PressureBoard; readonly admission: SharedDefenceState | null; readonly fds?: MeasuredFds };
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

/** Build every part from `opts` and start listening; a start that fails part-way releases what it built. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.logger ?? silentLogger;
  const c = opts.config; // the configuration at start (state.config is the one in force)
  if (c.profile_dir !== "") {
    // Loaded only for it: node:fs would bring Deno's Node layer into every gate thread (runtime/process-info.ts).
    const problems = (await import("../observe/profile-file.ts")).profileDirProblems(c.profile_dir);
    if (problems.length > 0) throw new ConfigError(problems);
  }
  // Released by close() or by a failed start: `serving` first (the loops, then the listener drained),
  // then `parts` in the reverse of the order they were built, each step even when one before it failed.
  await using stack = new AsyncDisposableStack();
  const parts = stack.use(new AsyncDisposableStack());
  const serving = stack.use(new AsyncDisposableStack());
  const release = (step: () => unknown) => parts.defer(releaseStep(log, step));
  const stats = new GateStats();
  const ring = new KeyRing(opts.keys, opts.signingId);
  const instanceId = `${await hostName()}:${processId()}:${Math.random().toString(36).slice(2, 8)}`;
  let eventMetrics: Metrics | null = null; // store events during the connect are logged, not counted
  const { store, redis } = await openStoreBackend(c, { store: opts.store, storePasswords: opts.storePasswords, now: opts.now, instanceId, log, metrics: () => eventMetrics });
  release(() => redis?.close());
  release(() => store.close());
  const caps = fdCaps(c, log, opts.thread?.fds);
  if ((opts.thread?.index ?? 0) === 0) caps.logFit(c); // once per process
  const state: ServeState = { config: c, defence: createDefence(caps.fitted(c), redis?.limiter, opts.thread?.admission) };
  const metrics = (eventMetrics = await Metrics.create({ version: VERSION, commit: COMMIT, runtime: runtimeName(), defaults: (opts.thread?.index ?? 0) === 0, thread: opts.thread?.index }));
  if ((opts.thread?.index ?? 0) === 0) metrics.bindFds(() => fdUsage(caps.fdLimit)); // the process's: the main thread reports them
  const buildQuotes = quoteBuilder({ baseDir: opts.configDir, log, metrics });
  const quotes = opts.quotes ?? (await buildQuotes(c));
  const fw = firewallSlot();
  // Bun: an eden collection every GATE_YOUNG_EVERY accepted connections (runtime/young-pacer.ts), with the governor.
  const young = opts.heapGovernor === false ? null : youngPacer(opts.youngEvery ?? GATE_YOUNG_EVERY);
  metrics.bindYoungPacer(young);
  const pace = young ? [{ connOpened: () => young.tick() }] : [];
  const observer = fanOut(stats, metrics, ...pace, ...(c.firewall === "nft" ? [fw.offences] : []), ...(opts.observer ? [opts.observer] : []));
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
  const heap = opts.heapGovernor === false ? null : startHeapGovernor({ budgetBytes: governorBudgetBytes(opts.thread?.threads ?? 1), churn: () => stats.accepted });
  if (opts.jitScale !== undefined) setJitPolicy(opts.jitScale);
  metrics.bindGovernor(heap);
  serving.defer(() => heap?.stop());
  const reload = reloader({ state, gate, connections, caps, limiter: redis?.limiter, shared: opts.thread?.admission ?? null, firewall: fw, metrics, buildQuotes: opts.quotes ? null : buildQuotes });
  const startedAt = Date.now();
  const readiness = readinessOf(connections, gate);
  metrics.bindLive({ storeUp: () => gate.store.healthy(), ready: () => readiness().ready, spentEntries: () => gate.store.size() });
  // The side listener's modules (Hono, the profilers, pprof) are loaded only by a thread that opens it.
  const side = c.metrics_listen !== "" || c.debug_runtime === "on" || c.profile_dir !== "" ? await import("./side-listener.ts") : null;
  const profiles = side ? await side.openProfiles(c, (profiler) => release(() => profiler.close())) : null;
  const debug = debugSnapshot({ startedAt, loop: adaptive.loop, connections, gate, state });
  const http = side ? await side.openSideListener(c, { metrics, readiness, startedAt, debug, profiles }) : null;
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
