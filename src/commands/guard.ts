/**
 * `wisdom guard`: the composition root of the proof-of-work gate in front of any TCP service. The gate,
 * its defences, metrics, PROXY-in and store are serve's (startServer); this root adds what a valid
 * proof opens instead of a quote: an upstream slot (by effort while the upstream is full), a connection
 * to the upstream, the Open frame and the relay (docs/PROTOCOL.md, "Extension: Open").
 * @module
 */
import { reloadOnSighup } from "../shared/serve/sighup.ts";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../shared/config/load.ts";
import { CONFIG_KEYS, type ServeConfig } from "../shared/config/schema.ts";
import type { KeySpec } from "../shared/pow/keys.ts";
import { EXIT, type Io } from "../shared/cli/io.ts";
import { createLogger, type Logger, silentLogger } from "../shared/observe/logger.ts";
import { GuardMetrics } from "../shared/observe/guard-metrics.ts";
import { GuardPassages, type GuardSettings } from "../shared/guard/passages.ts";
import { UpstreamSlots, type SlotSpec } from "../shared/guard/upstream-slots.ts";
import { formatHostPort, parseHostPort, parseIPv4, parseIPv6 } from "../shared/net/address.ts";
import type { QuoteSource } from "../shared/quotes/types.ts";
import { pickTransport, runtimeName } from "../shared/transport/index.ts";
import type { Transport } from "../shared/transport/types.ts";
import type { Passwords } from "../shared/store/redis-connection.ts";
import { VERSION } from "../shared/version.ts";
import { configFlagRows, parseConfigArgs, readServeConfig, type ReloadReport, type RunningServer, startServer } from "../server.ts";

export interface GuardOptions {
  readonly config: ServeConfig;
  readonly keys: readonly KeySpec[];
  readonly signingId?: string;
  readonly logger?: Logger;
  /** Passwords of the shared store (store_password_file, WISDOM_STORE_PASSWORD, ...), as for serve. */
  readonly storePasswords?: Passwords;
  /** Transport for both sides (the listener and the upstream connections). */
  readonly transport?: Transport;
  readonly configDir?: string;
}

export interface RunningGuard extends RunningServer {
  readonly slots: UpstreamSlots;
  readonly passages: GuardPassages;
}

function slotSpec(c: ServeConfig): SlotSpec {
  return { max: c.upstream_max_connections, queueMax: c.upstream_queue_max, queueTimeoutMs: c.upstream_queue_timeout_ms };
}

function guardSettings(c: ServeConfig, listen: { host: string; port: number }): GuardSettings {
  if (c.upstream === "") throw new ConfigError(["upstream: required by wisdom guard (--upstream HOST:PORT, WISDOM_UPSTREAM or upstream: in the config file)"]);
  const listenHost = parseHostPort(c.listen, "0.0.0.0").host;
  if (c.upstream_proxy_protocol === "v2" && parseIPv4(listenHost) === null && parseIPv6(listenHost) === null) {
    // The header's destination is the listen address: a PROXY v2 header carries IP addresses only.
    throw new ConfigError([`upstream_proxy_protocol v2 needs listen to be an IP address (the header's destination), not ${JSON.stringify(listenHost)}`]);
  }
  return {
    upstream: parseHostPort(c.upstream),
    connectTimeoutMs: c.upstream_connect_timeout_ms,
    idleTimeoutMs: c.idle_timeout_ms,
    proxyHeader: c.upstream_proxy_protocol,
    listen,
  };
}

/** Build the gate and the guard's passages and start listening. */
export async function startGuard(opts: GuardOptions): Promise<RunningGuard> {
  const c = opts.config;
  const transport = opts.transport ?? (await pickTransport());
  const mono = () => performance.now();
  const listenHp = parseHostPort(c.listen, "0.0.0.0");
  const slots = new UpstreamSlots(slotSpec(c));
  const passages = new GuardPassages({ transport, slots, settings: guardSettings(c, listenHp), mono });
  // The gate's quote source slot carries what the controller reads: a full upstream is the service's
  // capacity (sourceSaturation). A guard never asks it for a quote (a proof opens a passage instead).
  const upstream: QuoteSource = {
    name: "upstream",
    next: () => Promise.reject(new Error("wisdom guard serves no quotes")),
    saturation: () => slots.saturation(),
  };
  const server = await startServer({
    config: c,
    keys: opts.keys,
    signingId: opts.signingId,
    storePasswords: opts.storePasswords,
    logger: opts.logger ?? silentLogger,
    transport,
    quotes: upstream,
    configDir: opts.configDir,
    heapGovernor: false,
    passages: (metrics) => {
      passages.deps.observer = new GuardMetrics(metrics.registry, () => ({ active: slots.active, waiting: slots.waiting, max: slots.spec.max }));
      return passages;
    },
  });
  passages.deps.settings = { ...passages.deps.settings, listen: { host: listenHp.host, port: server.port } };
  passages.start();
  const close = async () => {
    await server.close();
    passages.stop();
  };
  const reload = async (n: ServeConfig, keys: readonly KeySpec[], signingId?: string): Promise<ReloadReport> => {
    const settings = guardSettings(n, passages.deps.settings.listen); // throws before anything changes
    const r = await server.reload(n, keys, signingId);
    passages.deps.settings = settings;
    slots.spec = slotSpec(n);
    slots.sweep(mono()); // a raised limit serves waiting clients now
    return r;
  };
  const running: RunningGuard = {
    host: server.host,
    port: server.port,
    gate: server.gate,
    connections: server.connections,
    stats: server.stats,
    get defence() {
      return server.defence;
    },
    get config() {
      return server.config;
    },
    metrics: server.metrics,
    http: server.http,
    profiles: server.profiles,
    readiness: server.readiness,
    reload,
    close,
    [Symbol.asyncDispose]: close,
    slots,
    passages,
  };
  return running;
}

export function guardHelp(): string {
  return `Usage: wisdom guard --upstream HOST:PORT [--listen HOST:PORT] [options]

Put the proof-of-work gate in front of any TCP service (SSH, Redis, HTTP, ...). Each connection gets a
Challenge; after a valid Solution the guard connects to the upstream, sends an Open frame and relays
bytes both ways until either side closes (docs/PROTOCOL.md, "Extension: Open"). Clients: wisdom connect
(stdin/stdout, for ssh -o ProxyCommand) and wisdom tunnel (a local port for unchanged clients).

Every defence, metric, PROXY-in and store option of wisdom serve applies. Every option is also a YAML
key in --config (snake_case) and a WISDOM_<KEY> environment variable.
Precedence: defaults < config file < environment < flags.

${configFlagRows(CONFIG_KEYS)}

Logs go to stderr. SIGINT or SIGTERM stops accepting and closes relayed streams after shutdown_grace_ms.
SIGHUP reloads the configuration (upstream and queue settings apply to new connections).
Exit codes: 0 stopped by a signal, 1 failure, 2 usage or configuration.
`;
}

/** `wisdom guard`: returns the exit code once stopped. */
export async function runGuard(argv: string[], io: Io): Promise<number> {
  const values = parseConfigArgs(argv, CONFIG_KEYS);
  if (values.help) {
    io.stdout(guardHelp());
    return EXIT.OK;
  }
  const read = () => {
    const r = readServeConfig(values, io);
    guardSettings(r.config, { host: "", port: 0 }); // throws ConfigError without an upstream, before any log line
    return r;
  };
  const { config, secrets, storePasswords } = read();
  const log = createLogger({ format: config.log_format, level: config.log_level, write: io.stderr, color: io.stderrIsTTY });
  if (secrets.origin === "random") {
    log.warn("no WISDOM_SECRET or secret file: using a random per-process key; challenges die with this process and other instances cannot verify them", { hint: "wisdom keygen" });
  } else if (config.store === "memory") {
    log.warn("a fixed secret with store: memory: guards (and quote servers) that share this secret do not share their spent sets, so each accepts a proof once; give each service its own secret, and instances of one service one store", {
      key_source: secrets.origin,
    });
  }
  if (config.threads > 1) log.warn("wisdom guard runs one gate thread: threads applies to wisdom serve", { threads: config.threads });
  const stop = io.waitForStop?.() ?? new Promise<string>(() => {});
  const configPath = (values.config as string | undefined) ?? io.env.WISDOM_CONFIG;
  const guard = await startGuard({ config, keys: secrets.keys, signingId: secrets.signingId, storePasswords, logger: log, configDir: configPath ? dirname(resolve(configPath)) : process.cwd() });
  log.info("guarding", {
    address: formatHostPort(guard.host, guard.port),
    upstream: config.upstream,
    upstream_max_connections: config.upstream_max_connections || "unlimited",
    idle_timeout_ms: config.idle_timeout_ms,
    upstream_proxy_protocol: config.upstream_proxy_protocol,
    metrics: guard.http ? formatHostPort(guard.http.host, guard.http.port) : "off",
    difficulty: config.difficulty,
    defence: config.defence,
    runtime: runtimeName(),
    version: VERSION,
    key_id: secrets.signingId,
  });
  reloadOnSighup(io, log, read, secrets, guard);
  const signal = await stop;
  log.info("shutting down", { signal, open_connections: guard.connections.openCount, grace_ms: guard.config.shutdown_grace_ms });
  await guard.close();
  log.info("stopped", { streams: guard.slots.active });
  return EXIT.OK;
}
