/**
 * Configuration loading: defaults < YAML file < WISDOM_* environment < flags, validated once with the
 * schema, every problem reported at once with its key path and where the value came from.
 * @module
 */
import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "./errors.ts";
import { CONFIG_KEYS, NUMERIC_KEYS, SERVE_DEFAULTS, type ServeConfig, ServeConfigSchema } from "./schema.ts";

export { ConfigError };

export type Origin = "default" | "file" | "env" | "flag";

export interface LoadInput {
  /** Contents and name of the YAML file, if any. */
  readonly file?: { readonly path: string; readonly text: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Flag values by config key (snake_case), as strings or numbers. */
  readonly flags: Readonly<Record<string, string | number | undefined>>;
}

export interface Loaded {
  readonly config: ServeConfig;
  readonly origins: Readonly<Record<string, Origin>>;
}

export const envName = (key: string): string => `WISDOM_${key.toUpperCase()}`;
export const flagName = (key: string): string => `--${key.replaceAll("_", "-")}`;

function describe(origin: Origin, key: string, file?: string): string {
  if (origin === "env") return envName(key);
  if (origin === "flag") return flagName(key);
  if (origin === "file") return file ?? "config file";
  return "default";
}

/** Layer the sources and validate. Throws ConfigError listing every problem. */
export function loadServeConfig(input: LoadInput): Loaded {
  const problems: string[] = [];
  const raw: Record<string, unknown> = { ...SERVE_DEFAULTS };
  const origins: Record<string, Origin> = Object.fromEntries(Object.keys(SERVE_DEFAULTS).map((k) => [k, "default" as Origin]));

  if (input.file) {
    let doc: unknown;
    try {
      doc = parseYaml(input.file.text);
    } catch (err) {
      problems.push(`${input.file.path}: not valid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    if (doc !== undefined && doc !== null) {
      if (typeof doc !== "object" || Array.isArray(doc)) {
        problems.push(`${input.file.path}: expected a mapping of keys to values at the top level`);
      } else {
        for (const [k, val] of Object.entries(doc as Record<string, unknown>)) {
          raw[k] = val; // unknown keys are reported by the strict schema
          origins[k] = "file";
        }
      }
    }
  }

  const layer = (origin: Origin, key: string, value: string | number) => {
    if (NUMERIC_KEYS.has(key) && typeof value === "string") {
      const n = value.trim() === "" ? NaN : Number(value);
      if (!Number.isFinite(n)) {
        problems.push(`${key} (from ${describe(origin, key)}): ${JSON.stringify(value)} is not a number`);
        return;
      }
      value = n;
    }
    raw[key] = value;
    origins[key] = origin;
  };
  for (const key of CONFIG_KEYS) {
    const e = input.env[envName(key)];
    if (e !== undefined) layer("env", key, e);
  }
  for (const [key, val] of Object.entries(input.flags)) {
    if (val !== undefined) layer("flag", key, val);
  }

  const config = _validate(raw, (top) => (origins[top] ? describe(origins[top]!, top, input.file?.path) : input.file?.path ?? "config"), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return { config: config!, origins };
}

/**
 * Validate a whole configuration given in code (the library's `serve()`): the same schema and cross-key
 * rules as `wisdom serve`. Throws ConfigError listing every problem, each naming `origin`.
 */
export function validateServeConfig(raw: Record<string, unknown>, origin = "options"): ServeConfig {
  const problems: string[] = [];
  const config = _validate(raw, () => origin, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config!;
}

function _validate(raw: Record<string, unknown>, from: (topKey: string) => string, problems: string[]): ServeConfig | null {
  const result = v.safeParse(ServeConfigSchema, raw);
  if (!result.success) {
    for (const issue of result.issues) {
      const path = v.getDotPath(issue) ?? "(root)";
      const top = path.split(".")[0]!;
      const message = issue.kind === "schema" && issue.type === "strict_object" ? `unknown key` : issue.message;
      problems.push(`${path} (from ${from(top)}): ${message}`);
    }
    return null;
  }
  {
    const c = result.output;
    if (c.first_byte_timeout_ms > c.handshake_timeout_ms) {
      problems.push(`first_byte_timeout_ms (${c.first_byte_timeout_ms}) must not exceed handshake_timeout_ms (${c.handshake_timeout_ms})`);
    }
    if (c.difficulty > c.difficulty_max) {
      problems.push(`difficulty (${c.difficulty}) must not exceed difficulty_max (${c.difficulty_max})`);
    }
    if (c.handshake_timeout_ms > c.challenge_ttl_ms) {
      problems.push(`handshake_timeout_ms (${c.handshake_timeout_ms}) must not exceed challenge_ttl_ms (${c.challenge_ttl_ms})`);
    }
    return c;
  }
}
