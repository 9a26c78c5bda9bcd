/**
 * Quotes from an HTTP JSON API, behind a small cache.
 *
 * Each fetch is one GET with its own deadline (AbortSignal); the answer must be status 200, JSON, at most
 * `maxBodyBytes`, with a string at `textPath` (and at `authorPath`, when given: null or missing there reads
 * as "Unknown") within the length limits. Paths are dotted, numbers index arrays: `"0.q"`, `"data.quote.text"`,
 * `"items[2].text"`.
 *
 * The cache keeps up to `cacheSize` recent good quotes, each fresh for `cacheTtlMs`. While any is fresh,
 * `next()` answers synchronously from it (a fresh cache costs a client nothing) and tops the cache up in the
 * background: when it is not full or its oldest entry is past half its TTL, at most one fetch at a time and
 * one per `refreshIntervalMs`. Only a client that finds the cache empty waits for a fetch, and concurrent
 * ones share it. Background failures go to `onBackgroundError`; the resilient source sees only foreground ones.
 * @module
 */
import { _checkQuote, _sourceName, MAX_SOURCE_NAME_CHARS } from "./_check.ts";
import { _readCapped } from "./_body.ts";
import { parsePath, valueAt } from "./json-path.ts";
import { _withTimeout } from "./_timeout.ts";
import { type Quote, QuoteSourceError, type QuoteSource } from "./types.ts";

export interface HttpQuoteSourceOptions {
  readonly url: string | URL;
  /** Where the quote text sits in the JSON answer, e.g. `"0.q"`. */
  readonly textPath: string;
  /** Where the author sits, e.g. `"0.a"`; without it every quote is by "Unknown". */
  readonly authorPath?: string;
  /** Source name reported with each quote (default `http:<host>`). */
  readonly name?: string;
  /** Deadline for one request, headers and body, ms (default 2000). */
  readonly timeoutMs?: number;
  /** How long a fetched quote may be served, ms (default 60000; 0 turns the cache off). */
  readonly cacheTtlMs?: number;
  /** Most quotes kept (default 32). */
  readonly cacheSize?: number;
  /** Least time between two background fetches, ms (default 1000). */
  readonly refreshIntervalMs?: number;
  /** Largest answer read, bytes (default 65536). */
  readonly maxBodyBytes?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Injected for tests; default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Monotonic clock in ms for the cache; default performance.now. */
  readonly now?: () => number;
  /** Returns a float in [0, 1); default Math.random. */
  readonly random?: () => number;
  readonly onBackgroundError?: (err: QuoteSourceError) => void;
}

export const HTTP_DEFAULTS = {
  timeoutMs: 2000,
  cacheTtlMs: 60_000,
  cacheSize: 32,
  refreshIntervalMs: 1000,
  maxBodyBytes: 65_536,
} as const;

interface _Entry {
  readonly quote: Quote;
  at: number;
}

export class HttpQuoteSource implements QuoteSource {
  readonly name: string;
  readonly url: URL;
  private readonly _text: readonly string[];
  private readonly _author: readonly string[] | null;
  private readonly _o: Required<Pick<HttpQuoteSourceOptions, "timeoutMs" | "cacheTtlMs" | "cacheSize" | "refreshIntervalMs" | "maxBodyBytes">>;
  private readonly _fetch: typeof fetch;
  private readonly _now: () => number;
  private readonly _random: () => number;
  /** Oldest first. */
  private _cache: _Entry[] = [];
  private _inflight: Promise<Quote> | null = null;
  private _lastFetchAt = -Infinity;
  private readonly _aborts = new Set<AbortController>();
  private _closed = false;

  constructor(private readonly _opts: HttpQuoteSourceOptions) {
    this.url = new URL(_opts.url);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new RangeError(`HttpQuoteSource: url ${this.url.href} must be http: or https:`);
    }
    this.name = _sourceName(_opts.name ?? `http:${this.url.host}`.slice(0, MAX_SOURCE_NAME_CHARS));
    this._text = parsePath(_opts.textPath);
    this._author = _opts.authorPath === undefined ? null : parsePath(_opts.authorPath);
    this._o = {
      timeoutMs: _opts.timeoutMs ?? HTTP_DEFAULTS.timeoutMs,
      cacheTtlMs: _opts.cacheTtlMs ?? HTTP_DEFAULTS.cacheTtlMs,
      cacheSize: _opts.cacheSize ?? HTTP_DEFAULTS.cacheSize,
      refreshIntervalMs: _opts.refreshIntervalMs ?? HTTP_DEFAULTS.refreshIntervalMs,
      maxBodyBytes: _opts.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes,
    };
    const o = this._o;
    if (!(o.timeoutMs > 0 && o.cacheSize >= 1 && o.maxBodyBytes >= 1 && o.cacheTtlMs >= 0 && o.refreshIntervalMs >= 0)) {
      throw new RangeError(`HttpQuoteSource: limits out of range: ${JSON.stringify(o)}`);
    }
    this._fetch = _opts.fetch ?? ((input, init) => fetch(input, init));
    this._now = _opts.now ?? (() => performance.now());
    this._random = _opts.random ?? Math.random;
  }

  /** Fresh quotes in the cache now. */
  get cached(): number {
    this._evict(this._now());
    return this._cache.length;
  }

  next(): Quote | Promise<Quote> {
    if (this._closed) return Promise.reject(new QuoteSourceError("QUOTE_UNAVAILABLE", this.name, `${this.name} is closed`));
    const now = this._now();
    this._evict(now);
    if (this._cache.length === 0) return this._fetchShared();
    const oldest = this._cache[0]!;
    const wantMore = this._cache.length < this._o.cacheSize || now - oldest.at >= this._o.cacheTtlMs / 2;
    if (wantMore && !this._inflight && now - this._lastFetchAt >= this._o.refreshIntervalMs) {
      this._fetchShared().catch((err: QuoteSourceError) => this._opts.onBackgroundError?.(err));
    }
    return this._cache[Math.min(this._cache.length - 1, Math.floor(this._random() * this._cache.length))]!.quote;
  }

  async close(): Promise<void> {
    this._closed = true;
    this._cache = [];
    for (const a of this._aborts) a.abort();
  }

  private _fetchShared(): Promise<Quote> {
    if (!this._inflight) {
      this._lastFetchAt = this._now();
      this._inflight = this._fetchOne().finally(() => (this._inflight = null));
    }
    return this._inflight;
  }

  private _fetchOne(): Promise<Quote> {
    const abort = new AbortController();
    this._aborts.add(abort);
    const ms = this._o.timeoutMs;
    const work = this._request(abort.signal);
    return _withTimeout(work, ms, () => {
      abort.abort();
      return new QuoteSourceError("QUOTE_TIMEOUT", this.name, `No answer from ${this.url.href} within ${ms} ms`);
    }).finally(() => this._aborts.delete(abort));
  }

  private async _request(signal: AbortSignal): Promise<Quote> {
    const fail = (code: "QUOTE_UNAVAILABLE" | "QUOTE_INVALID", why: string, cause?: unknown) =>
      new QuoteSourceError(code, this.name, `Bad answer from ${this.url.href}: ${why}`, { cause });
    let res: Response;
    try {
      res = await this._fetch(this.url, { signal, headers: { accept: "application/json", ...this._opts.headers } });
    } catch (err) {
      throw new QuoteSourceError("QUOTE_UNAVAILABLE", this.name, `Cannot fetch ${this.url.href}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw fail("QUOTE_UNAVAILABLE", `status ${res.status}`);
    }
    const body = await _readCapped(res, this._o.maxBodyBytes).catch((err) => {
      throw err instanceof RangeError ? fail("QUOTE_INVALID", err.message) : fail("QUOTE_UNAVAILABLE", `cannot read the body: ${(err as Error).message}`, err);
    });
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch (err) {
      throw fail("QUOTE_INVALID", "not JSON", err);
    }
    const text = valueAt(data, this._text);
    if (text === undefined) throw fail("QUOTE_INVALID", `nothing at text path "${this._text.join(".")}"`);
    const author = this._author ? valueAt(data, this._author) ?? undefined : undefined;
    const r = _checkQuote(text, author, this.name);
    if (!r.ok) throw fail("QUOTE_INVALID", r.problems.join("; "));
    this._remember(r.quote);
    return r.quote;
  }

  private _remember(q: Quote): void {
    if (this._closed || this._o.cacheTtlMs === 0) return;
    const at = this._now();
    // An API that repeats itself refreshes an entry instead of filling the cache with copies.
    this._cache = this._cache.filter((e) => e.quote.text !== q.text || e.quote.author !== q.author);
    this._cache.push({ quote: q, at });
    while (this._cache.length > this._o.cacheSize) this._cache.shift();
  }

  private _evict(now: number): void {
    const ttl = this._o.cacheTtlMs;
    let i = 0;
    while (i < this._cache.length && now - this._cache[i]!.at >= ttl) i++;
    if (i > 0) this._cache = this._cache.slice(i);
  }
}
