/**
 * The `serve` configuration: one valibot schema, the same for the YAML file, WISDOM_* variables and flags.
 * Keys are snake_case in YAML, WISDOM_UPPER_CASE in the environment and --kebab-case as flags.
 * @module
 */
import * as v from "valibot";
import { parseHostPort } from "../net/address.ts";

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const hostPort = v.pipe(
  v.string(),
  v.check((s) => {
    try {
      parseHostPort(s);
      return true;
    } catch {
      return false;
    }
  }, "expected HOST:PORT, [IPV6]:PORT or :PORT"),
);

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
  log_format: v.picklist(["pretty", "json"]),
  log_level: v.picklist(["silent", "error", "warn", "info", "debug"]),
  /** File holding the HMAC secret (WISDOM_SECRET takes the secret itself, from the environment only). */
  secret_file: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Id of the signing key (default: derived from the secret, so instances sharing a secret agree). */
  key_id: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,32}$/, "1 to 32 of A-Z a-z 0-9 . _ -"))),
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
  log_format: "pretty",
  log_level: "info",
};

/** Which keys hold numbers (env and flag values are strings until converted). */
export const NUMERIC_KEYS: ReadonlySet<string> = new Set([
  "difficulty", "challenge_ttl_ms", "clock_skew_ms", "first_byte_timeout_ms", "frame_timeout_ms",
  "handshake_timeout_ms", "shutdown_grace_ms", "max_frame_bytes", "spent_max_entries",
]);

/** Every key of the schema, in a stable order (for help texts and the env mapping). */
export const CONFIG_KEYS: readonly string[] = Object.keys(ServeConfigSchema.entries);
