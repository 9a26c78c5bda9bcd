/**
 * The quote sources as configuration: one valibot schema, snake_case, ready to embed in the serve config as
 * `quotes:` (see from-config.ts for an example and the factory). Pure: no I/O.
 * @module
 */
import * as v from "valibot";
import { MAX_SOURCE_NAME_CHARS } from "./_check.ts";
import { osPlatform } from "../runtime/process-info.ts";
import { parsePath } from "./json-path.ts";
import { int, parsedBy } from "../config/checks.ts";

const jsonPath = parsedBy(parsePath, `expected a dotted path such as "0.q" or "data.quote.text"`);

const common = {
  /** Relative share of calls. */
  weight: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(1_000_000))),
  /** Deadline for one call (and for an HTTP source, one request), ms. */
  timeout_ms: v.optional(int(1, 60_000)),
  /** Consecutive failures that open the breaker (a timeout opens it at once). */
  breaker_failures: v.optional(int(1, 1000)),
  /** How long an open breaker waits before one trial call, ms. */
  breaker_cooldown_ms: v.optional(int(0, 3_600_000)),
};
const sourceName = v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_SOURCE_NAME_CHARS)));

export const EmbeddedSourceSchema = v.strictObject({ type: v.literal("embedded"), ...common });
export const FileSourceSchema = v.strictObject({
  type: v.literal("file"),
  /** Relative to the configuration file's folder. */
  path: v.pipe(v.string(), v.minLength(1)),
  /** Default: from the extension. */
  format: v.optional(v.picklist(["yaml", "json", "text"])),
  /** A bad entry fails the load instead of being skipped. */
  strict: v.optional(v.boolean()),
  /** Default `file:<basename>`. */
  name: sourceName,
  ...common,
});
export const HttpSourceSchema = v.strictObject({
  type: v.literal("http"),
  url: v.pipe(v.string(), v.url(), v.regex(/^https?:\/\//i, "expected an http:// or https:// URL")),
  text_path: jsonPath,
  author_path: v.optional(jsonPath),
  /** Default `http:<host>`. */
  name: sourceName,
  /** How long a fetched quote may be served, ms (0: no cache). */
  cache_ttl_ms: v.optional(int(0, 86_400_000)),
  /** Most quotes kept in the cache. */
  cache_size: v.optional(int(1, 10_000)),
  headers: v.optional(v.record(v.string(), v.string())),
  ...common,
});
export const QuoteSourceSchema = v.variant("type", [EmbeddedSourceSchema, FileSourceSchema, HttpSourceSchema]);

export type QuoteSourceSpec = v.InferOutput<typeof QuoteSourceSchema>;

/** The name a spec entry's source will report (must be unique). */
export function specName(s: QuoteSourceSpec): string {
  if (s.type === "embedded") return "embedded";
  if (s.type === "file") return s.name ?? `file:${_fileName(s.path)}`.slice(0, MAX_SOURCE_NAME_CHARS);
  let host = s.url;
  try {
    host = new URL(s.url).host;
  } catch {
    // the url check reports it
  }
  return s.name ?? `http:${host}`.slice(0, MAX_SOURCE_NAME_CHARS);
}

function _duplicate(sources: readonly QuoteSourceSpec[]): string | undefined {
  const seen = new Set<string>();
  for (const s of sources) {
    const n = specName(s);
    if (seen.has(n)) return n;
    seen.add(n);
  }
  return undefined;
}

export const QuoteSourcesSchema = v.pipe(
  v.strictObject({
    sources: v.pipe(v.array(QuoteSourceSchema), v.minLength(1, "list at least one source"), v.maxLength(32)),
    /** Default deadline per source call, ms. */
    timeout_ms: v.optional(int(1, 60_000)),
  }),
  v.forward(
    v.partialCheck(
      [["sources"]],
      (i) => _duplicate(i.sources) === undefined,
      (issue) => `two sources are named "${_duplicate((issue.input as { sources: QuoteSourceSpec[] }).sources)}"; set "name" on one`,
    ),
    ["sources"],
  ),
);

export type QuoteSourcesSpec = v.InferOutput<typeof QuoteSourcesSchema>;

export const DEFAULT_QUOTE_SOURCES: QuoteSourcesSpec = { sources: [{ type: "embedded" }] };

/** Validates `input`; problems are data, each prefixed with its key path under `prefix`. */
export function parseQuoteSources(input: unknown, prefix = "quotes"): { ok: true; spec: QuoteSourcesSpec } | { ok: false; problems: string[] } {
  const r = v.safeParse(QuoteSourcesSchema, input);
  if (r.success) return { ok: true, spec: r.output };
  return {
    ok: false,
    problems: r.issues.map((i) => {
      const path = [prefix, v.getDotPath(i)].filter(Boolean).join(".") || "(root)";
      const unknownKey = i.kind === "schema" && i.type === "strict_object" && i.expected === "never";
      return `${path}: ${unknownKey ? "unknown key" : i.input === undefined ? "missing" : i.message}`;
    }),
  };
}

/**
 * The last part of a path, as node:path's basename (trailing separators ignored; on Windows `\\` is one
 * too), written here because node:path would bring Deno's Node layer into every gate thread
 * (runtime/process-info.ts).
 */
export function _fileName(path: string, windows = osPlatform() === "win32"): string {
  const rest = windows ? path.replace(/^[A-Za-z]:/, "") : path; // a drive letter is no part of the name
  const parts = rest.split(windows ? /[\\/]/ : "/").filter((p) => p !== "");
  return parts.at(-1) ?? "";
}
