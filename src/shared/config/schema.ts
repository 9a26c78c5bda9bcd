/**
 * The `serve` configuration: one valibot schema, the same for the YAML file, WISDOM_* variables and flags.
 * Keys are snake_case in YAML, WISDOM_UPPER_CASE in the environment and --kebab-case as flags.
 * @module
 */
import * as v from "valibot";
import { parseHostPort } from "../net/address.ts";
import { CidrList } from "../net/cidr.ts";
import { QuoteSourcesSchema } from "../quotes/spec.ts";
import { parseStoreUrl } from "../store/redis-url.ts";
import { int, num, parsedBy, parsedWith } from "./checks.ts";

const onOff = v.picklist(["on", "off"]);
const hostPort = parsedBy(parseHostPort, "expected HOST:PORT, [IPV6]:PORT or :PORT");

export const ServeConfigSchema = v.strictObject({
  /** TCP address to listen on. */
  listen: hostPort,
  /** Puzzle difficulty in leading zero bits (fixed policy). */
  difficulty: int(0, 32),
  /** Challenge lifetime, ms. */
  challenge_ttl_ms: int(1000, 600_000),
  /** Clock skew accepted for issue times, ms. */
  clock_skew_ms: int(0, 60_000),
  /** Deadline from accept to the first byte from the client (also the window to answer on the same connection), ms. */
  first_byte_timeout_ms: int(100, 60_000),
  /** Deadline for a whole frame once its first byte arrived, ms. */
  frame_timeout_ms: int(100, 60_000),
  /** Deadline for the whole connection, ms. */
  handshake_timeout_ms: int(100, 120_000),
  /** How long shutdown waits for in-flight handshakes, ms. */
  shutdown_grace_ms: int(0, 120_000),
  /** Largest frame payload accepted, bytes. */
  max_frame_bytes: int(256, 65_535),
  /** Most spent proofs held in memory. */
  spent_max_entries: int(1000, 100_000_000),
  /** Gate threads, each listening on the same port (0: one per available core). */
  threads: int(0, 64),
  log_format: v.picklist(["pretty", "json"]),
  log_level: v.picklist(["silent", "error", "warn", "info", "debug"]),
  /** File holding the HMAC secret (WISDOM_SECRET takes the secret itself, from the environment only). */
  secret_file: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Keys file for rotation: several keys with ids, one of them signing (config/secrets.ts). */
  keys_file: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Id of the signing key (default: derived from the secret, so instances sharing a secret agree). */
  key_id: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,32}$/, "1 to 32 of A-Z a-z 0-9 . _ -"))),

  /**
   * Spent-proof and rate-limit store: "memory" (this process), "redis://HOST:PORT/DB" (shared by
   * instances), or "redis+sentinel://HOST:PORT,HOST:PORT/MASTER_NAME/DB" (the primary Redis Sentinel names).
   */
  // The same parser the store uses at start, so a URL it would refuse is a configuration error (exit 2).
  store: parsedWith((s) => {
    if (s === "memory") return;
    if (!s.startsWith("redis://") && !s.startsWith("redis+sentinel://")) {
      throw new TypeError("expected memory or redis://HOST:PORT/DB or redis+sentinel://HOST:PORT,.../MASTER_NAME/DB");
    }
    parseStoreUrl(s);
  }),
  /** File holding the Redis password (AUTH); or WISDOM_STORE_PASSWORD. Never in the URL. */
  store_password_file: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** File holding the sentinels' own password, when they have one; or WISDOM_STORE_SENTINEL_PASSWORD. */
  store_sentinel_password_file: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** What to do when the shared store is down: refuse proofs (and /readyz 503), or fall back to memory. */
  store_failure: v.picklist(["fail-closed", "fail-open"]),
  /** Deadline of each store command, ms. */
  store_timeout_ms: int(10, 10_000),
  /** Expect a PROXY protocol v1/v2 header on connections from `proxy_trusted` networks. */
  proxy_protocol: v.picklist(["on", "off"]),
  /** Comma-separated CIDRs allowed to send PROXY headers. */
  proxy_trusted: parsedBy((s) => {
    if (new CidrList(s).size === 0) throw new RangeError("empty");
  }, "expected a comma-separated list of CIDRs, e.g. 127.0.0.0/8,::1/128"),
  /** HTTP side listener for /metrics, /healthz, /readyz ("" turns it off). */
  metrics_listen: v.union([v.literal(""), hostPort]),
  /** Serve /debug/runtime and /debug/pprof/ on the side listener. */
  debug_runtime: onOff,
  /** Directory where SIGUSR2 writes a CPU profile ("" turns the signal off); checked to be a writable directory at start. */
  profile_dir: v.union([
    v.literal(""),
    v.pipe(v.string(), v.maxLength(4096), v.check((s) => !s.includes("\0") && s.trim() === s, "a directory path without NUL or surrounding spaces")),
  ]),
  /** Length of the CPU profile SIGUSR2 takes, s (the bounds of /debug/pprof/profile, observe/profiles.ts). */
  profile_seconds: int(1, 60),

  // Defence (docs/POW.md "Adaptive difficulty", docs/OPERATIONS.md "Defence tuning"). `defence: off` turns every cap, limit and adaptation off.
  defence: onOff,
  /** Most open connections in all. */
  max_connections: int(1, 1_000_000),
  /** Most open connections from one address. */
  max_connections_per_addr: int(1, 1_000_000),
  /** Most open connections from one network (IPv4 /24, IPv6 /64). */
  max_connections_per_net: int(1, 1_000_000),
  /** Challenges per second per address (token bucket rate) and burst. */
  challenge_rate: num(0.001, 1_000_000),
  challenge_burst: int(1, 1_000_000),
  /** Challenges per second per network and burst. */
  net_challenge_rate: num(0.001, 1_000_000),
  net_challenge_burst: int(1, 1_000_000),
  /** Solutions per second per address and burst. */
  solution_rate: num(0.001, 1_000_000),
  solution_burst: int(1, 1_000_000),
  /** Most unsolved challenges per address within their lifetime. */
  max_outstanding: int(1, 1_000_000),
  /** Adaptive difficulty: `difficulty` is the floor, `difficulty_max` the ceiling. */
  adaptive: onOff,
  difficulty_max: int(0, 32),
  /** Controller tick, ms. */
  adaptive_tick_ms: int(100, 60_000),
  /**
   * Thresholds. Connection pressure (open connections, accepts, failed proofs) shrinks the windows and never
   * raises the price; price pressure (valid proofs over capacity, loop delay weighted by the solving share)
   * raises the difficulty (defence/controller.ts).
   */
  pressure_open_connections: num(1, 10_000_000),
  pressure_accepts_per_s: num(1, 10_000_000),
  pressure_failed_proofs_per_s: num(1, 10_000_000),
  pressure_valid_proofs_per_s: num(1, 10_000_000),
  pressure_loop_delay_ms: num(1, 60_000),
  /** Per-client escalation: most extra bits, requests free of it, and the half-life of a client's count. */
  escalation_max_bits: int(0, 16),
  escalation_free_requests: num(1, 1_000_000),
  escalation_half_life_ms: int(100, 3_600_000),
  /** Per-network escalation (IPv4 /24, IPv6 /64): requests from the whole network before it adds bits. */
  escalation_net_free_requests: num(1, 10_000_000),
  /** Shortest first-byte and frame window under connection pressure (floods, slowloris), ms. */
  window_min_ms: int(100, 60_000),
  /** Descriptors kept free for the process itself when the connection caps are clamped to the open-file limit. */
  fd_reserve: int(0, 1_000_000),

  /** Kernel-level shedding (Linux, opt-in): "nft" puts prefixes that keep being refused into an nftables set. */
  firewall: v.picklist(["off", "nft"]),
  /** Refusals from one prefix (IPv4 /24, IPv6 /64) within firewall_window_ms that put it in the drop set. */
  firewall_refusals: int(1, 1_000_000),
  firewall_window_ms: int(100, 3_600_000),
  /** How long a prefix stays in the drop set (the set element's timeout), ms. */
  firewall_ban_ms: int(1000, 86_400_000),
  /** Most prefixes in the drop set at once. */
  firewall_max_entries: int(1, 1_000_000),
  /** Name of the nftables table (family inet) the server creates and removes. */
  firewall_table: v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, "a letter, then up to 31 of A-Z a-z 0-9 _")),

  // `wisdom guard` only (docs/PROTOCOL.md, "Extension: Open"): the TCP service behind the gate.
  upstream: v.union([v.literal(""), hostPort]),
  upstream_connect_timeout_ms: int(100, 60_000),
  upstream_proxy_protocol: v.picklist(["off", "v2"]),
  upstream_max_connections: int(0, 1_000_000),
  upstream_queue_max: int(0, 1_000_000),
  upstream_queue_timeout_ms: int(100, 600_000),
  idle_timeout_ms: int(0, 86_400_000),
  /** Quote sources (YAML only; quotes/spec.ts): embedded, file and HTTP sources with weights and a fallback. */
  quotes: v.optional(QuoteSourcesSchema),
});
export type ServeConfig = v.InferOutput<typeof ServeConfigSchema>;

export const SERVE_DEFAULTS: ServeConfig = {
  listen: "0.0.0.0:7077",
  difficulty: 20,
  challenge_ttl_ms: 60_000,
  clock_skew_ms: 2_000,
  first_byte_timeout_ms: 5_000,
  frame_timeout_ms: 2_000,
  handshake_timeout_ms: 10_000,
  shutdown_grace_ms: 5_000,
  max_frame_bytes: 4096,
  spent_max_entries: 2_000_000,
  threads: 0,
  log_format: "pretty",
  log_level: "info",
  store: "memory",
  store_failure: "fail-closed",
  store_timeout_ms: 250,
  proxy_protocol: "off",
  proxy_trusted: "127.0.0.0/8,::1/128",
  metrics_listen: "127.0.0.1:9077",
  debug_runtime: "off",
  profile_dir: "",
  profile_seconds: 30,
  defence: "on",
  max_connections: 20_000,
  max_connections_per_addr: 64,
  max_connections_per_net: 512,
  challenge_rate: 10,
  challenge_burst: 40,
  net_challenge_rate: 200,
  net_challenge_burst: 800,
  solution_rate: 10,
  solution_burst: 40,
  max_outstanding: 32,
  adaptive: "on",
  difficulty_max: 24,
  adaptive_tick_ms: 1000,
  pressure_open_connections: 2000,
  pressure_accepts_per_s: 1000,
  pressure_failed_proofs_per_s: 300,
  pressure_valid_proofs_per_s: 3000,
  pressure_loop_delay_ms: 150,
  escalation_max_bits: 2,
  escalation_free_requests: 100,
  escalation_half_life_ms: 30_000,
  escalation_net_free_requests: 800,
  window_min_ms: 1000,
  fd_reserve: 256,
  firewall: "off",
  firewall_refusals: 50,
  firewall_window_ms: 10_000,
  firewall_ban_ms: 60_000,
  firewall_max_entries: 65_536,
  firewall_table: "wisdom",
  upstream: "",
  upstream_connect_timeout_ms: 5_000,
  upstream_proxy_protocol: "off",
  upstream_max_connections: 0,
  upstream_queue_max: 256,
  upstream_queue_timeout_ms: 10_000,
  idle_timeout_ms: 600_000,
};

/** Which keys hold numbers (env and flag values are strings until converted): read off the schema. */
export const NUMERIC_KEYS: ReadonlySet<string> = new Set(
  Object.entries(ServeConfigSchema.entries)
    .filter(([, schema]) => {
      const base = schema.type === "optional" ? (schema as { wrapped: { type: string } }).wrapped : schema;
      return base.type === "number";
    })
    .map(([k]) => k),
);

/** Keys that are YAML-only (nested values): no flag, no environment variable. */
export const YAML_ONLY_KEYS: ReadonlySet<string> = new Set(["quotes"]);

/** Keys only `wisdom guard` reads (`serve` takes no flag for them and ignores them elsewhere). */
export const GUARD_KEYS: ReadonlySet<string> = new Set([
  "upstream", "upstream_connect_timeout_ms", "upstream_proxy_protocol", "upstream_max_connections", "upstream_queue_max", "upstream_queue_timeout_ms", "idle_timeout_ms",
]);

/** Every flat key of the schema, in a stable order: flags, environment variables and help texts. */
export const CONFIG_KEYS: readonly string[] = Object.keys(ServeConfigSchema.entries).filter((k) => !YAML_ONLY_KEYS.has(k));

/** One line per key for `wisdom serve --help` and the README. */
export const CONFIG_DOCS: Readonly<Record<Exclude<keyof ServeConfig, "quotes">, string>> = {
  listen: "address to listen on; [::]:7077 for IPv6",
  difficulty: "leading zero bits a proof needs, 0..32 (the floor when adaptive)",
  challenge_ttl_ms: "challenge lifetime",
  clock_skew_ms: "accepted skew of issue times between instances",
  first_byte_timeout_ms: "deadline for the first byte; also the same-connection answer window",
  frame_timeout_ms: "deadline for a whole frame once its first byte arrived",
  handshake_timeout_ms: "deadline for a whole connection",
  shutdown_grace_ms: "how long shutdown waits for in-flight handshakes",
  max_frame_bytes: "largest frame payload accepted",
  spent_max_entries: "most spent proofs remembered (full: new proofs get BUSY)",
  threads: "gate threads sharing the port and one spent set; 0 = one per core, 1 = a single event loop",
  log_format: "pretty or json (default: pretty on a TTY, json otherwise)",
  log_level: "silent, error, warn, info or debug",
  secret_file: "file holding the HMAC secret (or WISDOM_SECRET / WISDOM_SECRET_FILE)",
  key_id: "id of the signing key (default: derived from the secret)",
  keys_file: "YAML keys file for rotation: keys with ids, one signing (or WISDOM_KEYS_FILE)",
  store: "memory, redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,.../MASTER_NAME/DB to share spent proofs, rate limits and pressure between instances",
  store_password_file: "file holding the Redis password (or WISDOM_STORE_PASSWORD)",
  store_sentinel_password_file: "file holding the sentinels' password (or WISDOM_STORE_SENTINEL_PASSWORD)",
  store_failure: "fail-closed (refuse proofs, not ready) or fail-open (fall back to memory) while the store is down",
  store_timeout_ms: "deadline of each store command",
  proxy_protocol: "on or off: expect a PROXY v1/v2 header from trusted proxies (HAProxy send-proxy-v2)",
  proxy_trusted: "CIDRs allowed to send PROXY headers; others are served as direct clients",
  metrics_listen: "HTTP address for /metrics, /healthz, /readyz (empty: off)",
  debug_runtime: "on or off: serve /debug/runtime and /debug/pprof/ (CPU and heap profiles) on the metrics listener",
  profile_dir: "directory where SIGUSR2 writes a CPU profile, wisdom-cpu-PID-TIME.pb.gz (empty: off)",
  profile_seconds: "length of the CPU profile SIGUSR2 takes, 1..60",
  defence: "on or off: every cap, rate limit and adaptation below",
  max_connections: "most open connections in all (over it: BUSY)",
  max_connections_per_addr: "most open connections from one address",
  max_connections_per_net: "most open connections from one IPv4 /24 or IPv6 /64",
  challenge_rate: "challenges per second per address (token bucket)",
  challenge_burst: "burst of challenges per address",
  net_challenge_rate: "challenges per second per network",
  net_challenge_burst: "burst of challenges per network",
  solution_rate: "solutions per second per address",
  solution_burst: "burst of solutions per address",
  max_outstanding: "most unsolved challenges per address within their lifetime",
  adaptive: "on or off: raise the difficulty from measured pressure",
  difficulty_max: "ceiling of the adaptive difficulty",
  adaptive_tick_ms: "how often the controller samples pressure",
  pressure_open_connections: "open connections at which windows are at window_min_ms (connection pressure 1; never raises the price)",
  pressure_accepts_per_s: "accepts per second at which windows are at window_min_ms (connection pressure 1; never raises the price)",
  pressure_failed_proofs_per_s: "failed proofs per second at which windows are at window_min_ms (connection pressure 1; never raises the price)",
  pressure_valid_proofs_per_s: "capacity: valid proofs per second the service can serve; above it the price rises",
  pressure_loop_delay_ms: "event-loop delay that raises the price when every connection brings a valid proof (weighted by the solving share)",
  escalation_max_bits: "most extra bits for a client that asks often",
  escalation_free_requests: "requests (decaying count) before escalation starts",
  escalation_half_life_ms: "half-life of a client's request count",
  escalation_net_free_requests: "requests from one /24 or /64 (decaying count) before the whole network pays extra bits",
  window_min_ms: "shortest first-byte and frame window while connections flood in (slowloris turnover)",
  fd_reserve: "descriptors kept for the process when connection caps are clamped to the open-file limit",
  firewall: "off or nft: drop new connections from prefixes that keep hitting caps (Linux, needs CAP_NET_ADMIN and nft)",
  firewall_refusals: "refusals from one /24 or /64 within firewall_window_ms that put it in the drop set",
  firewall_window_ms: "window over which a prefix's refusals are counted",
  firewall_ban_ms: "how long a prefix stays in the drop set",
  firewall_max_entries: "most prefixes in the drop set",
  firewall_table: "name of the nftables table (inet family) the server creates and removes",
  upstream: "guard: HOST:PORT of the TCP service behind the gate (required by wisdom guard)",
  upstream_connect_timeout_ms: "guard: deadline to connect to the upstream (then UPSTREAM_UNAVAILABLE)",
  upstream_proxy_protocol: "guard: off or v2: send a PROXY v2 header to the upstream with the client's address",
  upstream_max_connections: "guard: most connections to the upstream at once, 0 for no limit; when full, clients wait by effort",
  upstream_queue_max: "guard: most clients waiting for an upstream connection (a fuller queue refuses the least effort with BUSY)",
  upstream_queue_timeout_ms: "guard: longest wait for an upstream connection (then BUSY)",
  idle_timeout_ms: "guard: close a relayed stream after this long without a byte either way; 0: never",
};
