/**
 * Builds the quote sources the configuration describes (schema: spec.ts) behind a ResilientQuoteSource,
 * with the embedded collection as the fallback. The default is the embedded collection alone.
 *
 * ```yaml
 * quotes:
 *   timeout_ms: 1000                 # default deadline per source call
 *   sources:
 *     - { type: embedded, weight: 1 }
 *     - { type: file, path: quotes.yaml, weight: 2 }
 *     - type: http
 *       url: https://zenquotes.io/api/random
 *       text_path: "0.q"
 *       author_path: "0.a"
 *       timeout_ms: 800
 *       cache_ttl_ms: 60000
 *       breaker_failures: 3
 *       breaker_cooldown_ms: 10000
 * ```
 * @module
 */
import { EmbeddedQuoteSource } from "./embedded.ts";
import { QuoteFileError } from "./file-error.ts";
import { HttpQuoteSource } from "./http.ts";
import { type QuoteSourceObserver, RESILIENT_DEFAULTS, type ResilientMember, ResilientQuoteSource } from "./resilient.ts";
import { DEFAULT_QUOTE_SOURCES, parseQuoteSources, type QuoteSourceSpec, type QuoteSourcesSpec } from "./spec.ts";
import type { QuoteSource } from "./types.ts";

export { DEFAULT_QUOTE_SOURCES, parseQuoteSources, QuoteSourcesSchema, type QuoteSourcesSpec } from "./spec.ts";

/** Quote sources that cannot be built; `problems` lists every one with its key path. */
export class QuoteConfigError extends Error {
  readonly code = "QUOTE_SOURCES_INVALID";
  constructor(readonly problems: readonly string[]) {
    super(`Invalid quote sources:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "QuoteConfigError";
  }
}

export interface QuoteSourceDeps {
  readonly observer?: QuoteSourceObserver;
  /** Relative file paths resolve against this (the configuration file's folder); default the working directory. */
  readonly baseDir?: string;
  /** Skipped file entries and failed background HTTP refreshes. */
  readonly warn?: (message: string) => void;
  /** Injected for tests. */
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Builds the sources `spec` describes (reading quote files now) behind a ResilientQuoteSource.
 * Throws QuoteConfigError listing every problem: a bad spec or every unusable file. A reload calls it
 * again and keeps the old source if it throws.
 */
export async function createQuoteSource(spec: QuoteSourcesSpec = DEFAULT_QUOTE_SOURCES, deps: QuoteSourceDeps = {}): Promise<ResilientQuoteSource> {
  const parsed = parseQuoteSources(spec);
  if (!parsed.ok) throw new QuoteConfigError(parsed.problems);
  const s = parsed.spec;
  const random = deps.random ?? Math.random;
  const warn = deps.warn ?? (() => {});
  const built = await Promise.allSettled(s.sources.map((e): Promise<QuoteSource> => _build(e, s, deps, random, warn)));
  const problems: string[] = [];
  built.forEach((b, i) => {
    if (b.status === "fulfilled") return;
    const err = b.reason as Error;
    const where = `quotes.sources.${i}`;
    if (err instanceof QuoteFileError) problems.push(...err.problems.map((p) => `${where} (${err.path}): ${p}`));
    else problems.push(`${where}: ${err.message}`);
  });
  if (problems.length > 0) {
    await Promise.allSettled(built.map((b) => (b.status === "fulfilled" ? b.value.close?.() : undefined)));
    throw new QuoteConfigError(problems);
  }
  const members: ResilientMember[] = s.sources.map((e, i) => ({
    source: (built[i] as PromiseFulfilledResult<QuoteSource>).value,
    weight: e.weight,
    timeoutMs: e.timeout_ms ?? s.timeout_ms,
    breaker: {
      failures: e.breaker_failures ?? RESILIENT_DEFAULTS.breaker.failures,
      cooldownMs: e.breaker_cooldown_ms ?? RESILIENT_DEFAULTS.breaker.cooldownMs,
    },
  }));
  return new ResilientQuoteSource({
    sources: members,
    fallback: new EmbeddedQuoteSource(random),
    timeoutMs: s.timeout_ms,
    observer: deps.observer,
    now: deps.now,
    random,
  });
}

async function _build(e: QuoteSourceSpec, s: QuoteSourcesSpec, deps: QuoteSourceDeps, random: () => number, warn: (m: string) => void): Promise<QuoteSource> {
  switch (e.type) {
    case "embedded":
      return new EmbeddedQuoteSource(random);
    case "file": {
      // Loaded only for a quote file: the YAML parser, and node:fs and node:path, which would bring Deno's
      // Node layer into every gate thread (runtime/process-info.ts).
      const [{ FileQuoteSource }, { resolve }] = await Promise.all([import("./file.ts"), import("node:path")]);
      const src = await FileQuoteSource.load(resolve(deps.baseDir ?? ".", e.path), { name: e.name, format: e.format, strict: e.strict, random });
      for (const p of src.problems) warn(`${src.name}: skipped ${p}`);
      return src;
    }
    case "http":
      return new HttpQuoteSource({
        url: e.url,
        textPath: e.text_path,
        authorPath: e.author_path,
        name: e.name,
        timeoutMs: e.timeout_ms ?? s.timeout_ms ?? RESILIENT_DEFAULTS.timeoutMs,
        cacheTtlMs: e.cache_ttl_ms,
        cacheSize: e.cache_size,
        headers: e.headers,
        fetch: deps.fetch,
        now: deps.now,
        random,
        onBackgroundError: (err) => warn(err.message),
      });
  }
}
