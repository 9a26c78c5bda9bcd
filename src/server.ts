/**
 * `wisdom serve`: the composition root. config -> keys -> store -> quotes -> policy -> gate -> transport.
 * Nothing below this file reaches for a global; startServer() is also the library's way to run the server.
 * @module
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, envName, flagName, loadServeConfig } from "./shared/config/load.ts";
import { CONFIG_KEYS, type ServeConfig } from "./shared/config/schema.ts";
import { loadSecrets } from "./shared/config/secrets.ts";
import { GateConnections } from "./shared/gate/connections.ts";
import { Gate } from "./shared/gate/gate.ts";
import { FixedDifficulty, type GateObserver } from "./shared/gate/types.ts";
import { formatHostPort, parseHostPort } from "./shared/net/address.ts";
import { type KeySpec, KeyRing } from "./shared/pow/keys.ts";
import { EmbeddedQuoteSource } from "./shared/quotes/embedded.ts";
import type { QuoteSource } from "./shared/quotes/types.ts";
import { MemorySpentStore } from "./shared/store/memory.ts";
import type { SpentStore } from "./shared/store/types.ts";
import { EXIT, type Io, UsageError } from "./shared/cli/io.ts";
import { createLogger, type Logger, silentLogger } from "./shared/observe/logger.ts";
import { fanOut, GateStats } from "./shared/observe/stats.ts";
import { pickTransport, runtimeName } from "./shared/transport/index.ts";
import type { Listener, Transport } from "./shared/transport/types.ts";
import { VERSION } from "./shared/version.ts";

export interface ServerOptions {
  readonly config: ServeConfig;
  readonly keys: readonly KeySpec[];
  readonly signingId?: string;
  readonly logger?: Logger;
  readonly transport?: Transport;
  readonly store?: SpentStore;
  readonly quotes?: QuoteSource;
  readonly observer?: GateObserver;
  /** Clocks, for tests. */
  readonly now?: () => number;
  readonly mono?: () => number;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly gate: Gate;
  readonly connections: GateConnections;
  readonly stats: GateStats;
  /** Stop accepting, let in-flight handshakes finish within shutdown_grace_ms, release everything. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Build every part from `opts` and start listening. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const c = opts.config;
  const log = opts.logger ?? silentLogger;
  const stats = new GateStats();
  const ring = new KeyRing(opts.keys, opts.signingId);
  const store = opts.store ?? new MemorySpentStore({ maxEntries: c.spent_max_entries });
  const quotes: QuoteSource = opts.quotes ?? new EmbeddedQuoteSource();
  const gate = new Gate({
    ring,
    store,
    quotes,
    policy: new FixedDifficulty(c.difficulty),
    settings: {
      timeouts: { firstByteMs: c.first_byte_timeout_ms, frameMs: c.frame_timeout_ms, handshakeMs: c.handshake_timeout_ms },
      ttlMs: c.challenge_ttl_ms,
      skewMs: c.clock_skew_ms,
      maxTtlMs: c.challenge_ttl_ms,
      maxPayload: c.max_frame_bytes,
    },
    observer: opts.observer ? fanOut(stats, opts.observer) : stats,
    now: opts.now,
    mono: opts.mono,
  });
  const connections = new GateConnections(gate);
  const transport = opts.transport ?? (await pickTransport());
  const { host, port } = parseHostPort(c.listen, "0.0.0.0");
  let listener: Listener;
  try {
    listener = await transport.listen({ host, port }, connections);
  } catch (err) {
    await store.close();
    throw new Error(`Cannot listen on ${formatHostPort(host, port)}: ${(err as Error).message}`, { cause: err });
  }
  connections.start();
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await listener.stop();
      const forced = await connections.drain(c.shutdown_grace_ms);
      if (forced > 0) log.warn("closed connections still open after the shutdown grace period", { forced });
      await store.close();
      await quotes.close?.();
    })());
  return { host: listener.host, port: listener.port, gate, connections, stats, close, [Symbol.asyncDispose]: close };
}

export const SERVE_HELP = `Usage: wisdom serve [options]

Run the proof-of-work guarded quote server.

Options (each also settable as a YAML key in --config, and as WISDOM_<KEY> in the environment):
  --listen HOST:PORT            address to listen on (default 0.0.0.0:7077; [::]:7077 for IPv6)
  --difficulty BITS             leading zero bits a proof needs, 0..32 (default 20)
  --config FILE                 YAML config file (also WISDOM_CONFIG)
  --log-format pretty|json      log format (default: pretty on a TTY, json otherwise)
  --log-level LEVEL             silent, error, warn, info or debug (default info)
  --challenge-ttl-ms MS         challenge lifetime (default 60000)
  --clock-skew-ms MS            accepted skew for issue times (default 2000)
  --first-byte-timeout-ms MS    deadline for the first byte, and the same-connection answer window (default 5000)
  --frame-timeout-ms MS         deadline for a whole frame once started (default 2000)
  --handshake-timeout-ms MS     deadline for a whole connection (default 10000)
  --shutdown-grace-ms MS        how long shutdown waits for in-flight handshakes (default 5000)
  --max-frame-bytes N           largest payload accepted (default 4096)
  --spent-max-entries N         most spent proofs remembered (default 2000000)
  --secret-file FILE            file holding the HMAC secret (or WISDOM_SECRET / WISDOM_SECRET_FILE)
  --key-id ID                   id of the signing key (default: derived from the secret)
  -h, --help                    show this help

Logs go to stderr. SIGINT or SIGTERM stops accepting, finishes in-flight handshakes, exits 0.
`;

function parseServeArgs(argv: string[]) {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { config: { type: "string" }, help: { type: "boolean", short: "h" } };
  for (const k of CONFIG_KEYS) options[k.replaceAll("_", "-")] = { type: "string" };
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `wisdom serve`: returns the exit code once stopped. */
export async function runServe(argv: string[], io: Io): Promise<number> {
  const values = parseServeArgs(argv);
  if (values.help) {
    io.stdout(SERVE_HELP);
    return EXIT.OK;
  }
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
  const log = createLogger({ format: config.log_format, level: config.log_level, write: io.stderr, color: io.stderrIsTTY });
  const secrets = loadSecrets({
    env: io.env,
    secretFile: config.secret_file,
    keyId: config.key_id,
    readFile: (p) => readFileSync(p, "utf8"),
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
  });
  if (secrets.origin === "random") {
    log.warn("no WISDOM_SECRET or secret file: using a random per-process key; challenges die with this process and other instances cannot verify them", {
      hint: "wisdom keygen",
    });
  }
  const stop = io.waitForStop?.() ?? new Promise<string>(() => {}); // handlers in place before "listening" is logged
  const server = await startServer({ config, keys: secrets.keys, signingId: secrets.signingId, logger: log });
  log.info("listening", {
    address: formatHostPort(server.host, server.port),
    difficulty: config.difficulty,
    runtime: runtimeName(),
    version: VERSION,
    key_id: secrets.signingId,
    key_source: secrets.origin,
  });
  const signal = await stop;
  log.info("shutting down", { signal, open_connections: server.connections.openCount, grace_ms: config.shutdown_grace_ms });
  await server.close();
  log.info("stopped", { quotes_served: Object.values(server.stats.quotes).reduce((a, b) => a + b, 0) });
  return EXIT.OK;
}
