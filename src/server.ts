/**
 * `wisdom serve`: the composition root. Flags, environment and file -> configuration and secrets ->
 * one gate thread (serve/start-server.ts's startServer) or several (serve/threads.ts) -> signals.
 * startServer() is re-exported here: it is also the library's way to run the server.
 * @module
 */
import { reloadOnSighup } from "./shared/serve/sighup.ts";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, envName, loadServeConfig } from "./shared/config/load.ts";
import { CONFIG_DOCS, CONFIG_KEYS, GUARD_KEYS, NUMERIC_KEYS, SERVE_DEFAULTS, type ServeConfig, ServeConfigSchema } from "./shared/config/schema.ts";
import { loadSecrets, type Secrets } from "./shared/config/secrets.ts";
import { loadStorePasswords } from "./shared/config/store-secrets.ts";
import { formatHostPort } from "./shared/net/address.ts";
import { createLogger } from "./shared/observe/logger.ts";
import { writeCpuProfile } from "./shared/observe/profile-file.ts";
import { RESTART_KEYS, type ReloadReport } from "./shared/serve/reload-diff.ts";
import { planThreads, startThreads } from "./shared/serve/threads.ts";
import { GATE_JIT_SCALE } from "./shared/runtime/jit-policy.ts";
import type { Passwords } from "./shared/store/redis-connection.ts";
import { EXIT, type Io, UsageError } from "./shared/cli/io.ts";
import { runtimeName } from "./shared/transport/index.ts";
import { VERSION } from "./shared/version.ts";
import { type RunningServer, type ServerOptions, startServer } from "./shared/serve/start-server.ts";

export { type RunningServer, type ServerOptions, startServer };
export { RESTART_KEYS, type ReloadReport };

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
  const serverOptions: ServerOptions = {
    config, keys: secrets.keys, signingId: secrets.signingId, storePasswords, logger: log, configDir: configPath ? dirname(resolve(configPath)) : process.cwd(),
    jitScale: GATE_JIT_SCALE, // this thread serves as gate thread 0 from here on
  };
  const plan = planThreads(config);
  if (plan.reason) log.warn("running one gate thread", { threads_asked: config.threads === 0 ? "0 (one per core)" : config.threads, reason: plan.reason });
  const server = plan.threads > 1 ? await startThreads({ ...serverOptions, threads: plan.threads }, startServer) : await startServer(serverOptions);
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
