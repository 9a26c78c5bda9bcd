/**
 * Several quote sources behind one: weighted random choice, a circuit breaker and a deadline per source,
 * and a local fallback (the embedded collection) whenever the chosen source fails, is slow or is shut off,
 * so `next()` always yields a quote unless the fallback itself fails.
 *
 * - The choice is weighted among the sources whose breaker lets a call through; when none does, the call
 *   goes straight to the fallback and the source that would have been chosen is reported `open`.
 * - Errors and invalid quotes count towards a breaker's K consecutive failures. A timeout opens the breaker
 *   at once: a slow source costs the clients that met it their deadline once, then the fallback answers at
 *   once until the cool-down has passed.
 * - The half-open trial of an asynchronous source runs in the background: the client that triggered it gets
 *   the fallback at once, and the trial's outcome closes or reopens the breaker (an HTTP source keeps the
 *   quote it fetched in its cache for the next client). So no client waits on a source of unknown health.
 * @module
 */
import { type BreakerSpec, type BreakerState, CircuitBreaker } from "./breaker.ts";
import { EmbeddedQuoteSource } from "./embedded.ts";
import { MAX_SOURCE_NAME_CHARS } from "./_check.ts";
import { _withTimeout } from "./_timeout.ts";
import { MAX_AUTHOR_CHARS, MAX_QUOTE_CHARS, type Quote, QuoteSourceError, type QuoteSource } from "./types.ts";

export type FailReason = "timeout" | "error" | "invalid" | "open";

/** What happened, per source name; metrics subscribe. Every method is optional. */
export interface QuoteSourceObserver {
  /** A client got a quote from `source` (a member or the fallback). */
  served?(source: string): void;
  /** A call to `source` failed (`open`: skipped because its breaker is open); the fallback answered. */
  failed?(source: string, reason: FailReason): void;
  /** `source`'s breaker is now in `state` (also reported once per source at construction). */
  breakerState?(source: string, state: BreakerState): void;
}

export interface ResilientMember {
  readonly source: QuoteSource;
  /** Relative share of calls (default 1, must be > 0). */
  readonly weight?: number;
  /** Deadline for one call to this source, ms (default: the resilient source's `timeoutMs`). */
  readonly timeoutMs?: number;
  readonly breaker?: BreakerSpec;
}

export interface ResilientOptions {
  readonly sources: readonly ResilientMember[];
  /** Answers when the chosen source cannot (default: the embedded collection). Should be local and fast. */
  readonly fallback?: QuoteSource;
  /** Default deadline per call, ms. */
  readonly timeoutMs?: number;
  readonly observer?: QuoteSourceObserver;
  /** Monotonic clock for the breakers, ms. */
  readonly now?: () => number;
  /** Returns a float in [0, 1); for the weighted choice. */
  readonly random?: () => number;
}

export const RESILIENT_DEFAULTS = {
  timeoutMs: 1000,
  breaker: { failures: 3, cooldownMs: 10_000 } satisfies BreakerSpec,
} as const;

interface _Member {
  readonly name: string;
  readonly source: QuoteSource;
  readonly weight: number;
  readonly timeoutMs: number;
  readonly breaker: CircuitBreaker;
}

const _isThenable = <T>(x: T | Promise<T>): x is Promise<T> => typeof (x as { then?: unknown })?.then === "function";

export class ResilientQuoteSource implements QuoteSource {
  readonly name = "resilient";
  readonly fallback: QuoteSource;
  private readonly _members: readonly _Member[];
  private readonly _observer: QuoteSourceObserver;
  private readonly _random: () => number;

  constructor(opts: ResilientOptions) {
    this._observer = opts.observer ?? {};
    this._random = opts.random ?? Math.random;
    this.fallback = opts.fallback ?? new EmbeddedQuoteSource(this._random);
    const now = opts.now ?? (() => performance.now());
    const seen = new Set<string>();
    this._members = opts.sources.map((m) => {
      const name = m.source.name;
      if (seen.has(name)) throw new RangeError(`ResilientQuoteSource: two sources are named "${name}"; give one another name`);
      seen.add(name);
      const weight = m.weight ?? 1;
      if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`ResilientQuoteSource: weight ${weight} of "${name}" must be > 0`);
      const timeoutMs = m.timeoutMs ?? opts.timeoutMs ?? RESILIENT_DEFAULTS.timeoutMs;
      if (!(timeoutMs > 0)) throw new RangeError(`ResilientQuoteSource: timeout ${timeoutMs} ms of "${name}" must be > 0`);
      const breaker = new CircuitBreaker(m.breaker ?? RESILIENT_DEFAULTS.breaker, now, (state) => this._emit("breakerState", name, state));
      return { name, source: m.source, weight, timeoutMs, breaker };
    });
    for (const m of this._members) this._emit("breakerState", m.name, "closed");
  }

  /** Each member's breaker state now. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries(this._members.map((m) => [m.name, m.breaker.state]));
  }

  next(): Quote | Promise<Quote> {
    const all = this._members;
    // One member (the usual set-up) needs no filtered copy: this runs on every handshake.
    const ready = all.length === 1 ? (all[0]!.breaker.allows() ? all : []) : all.filter((m) => m.breaker.allows());
    if (ready.length === 0) {
      const m = this._pick(this._members);
      if (m) this._emit("failed", m.name, "open");
      return this._fromFallback();
    }
    const m = this._pick(ready)!;
    const trial = m.breaker.state === "half_open";
    if (!m.breaker.acquire()) {
      this._emit("failed", m.name, "open");
      return this._fromFallback();
    }
    let result: Quote | Promise<Quote>;
    try {
      result = m.source.next();
    } catch (err) {
      return this._failed(m, err);
    }
    if (!_isThenable(result)) return this._settled(m, result);
    const timed = _withTimeout(result, m.timeoutMs, () => new QuoteSourceError("QUOTE_TIMEOUT", m.name, `${m.name} gave no quote within ${m.timeoutMs} ms`));
    if (trial) {
      // The client does not wait on the trial; its outcome only moves the breaker.
      timed.then((q) => (_isValid(q) ? m.breaker.success() : this._failure(m, "invalid")), (err) => this._failure(m, _reason(err)));
      return this._fromFallback();
    }
    return timed.then((q) => this._settled(m, q), (err) => this._failed(m, err));
  }

  /** The most saturated member's saturation (members that report none count 0). */
  saturation(): number {
    let x = 0;
    for (const m of this._members) x = Math.max(x, m.source.saturation?.() ?? 0);
    return x;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this._members.map((m) => m.source.close?.()), this.fallback.close?.()]);
  }

  private _settled(m: _Member, q: Quote): Quote | Promise<Quote> {
    if (!_isValid(q)) {
      this._failure(m, "invalid");
      return this._fromFallback();
    }
    m.breaker.success();
    this._emit("served", m.name);
    return q;
  }

  private _failed(m: _Member, err: unknown): Quote | Promise<Quote> {
    this._failure(m, _reason(err));
    return this._fromFallback();
  }

  private _failure(m: _Member, reason: Exclude<FailReason, "open">): void {
    if (reason === "timeout") m.breaker.trip();
    else m.breaker.failure();
    this._emit("failed", m.name, reason);
  }

  private _fromFallback(): Quote | Promise<Quote> {
    const name = this.fallback.name;
    const unavailable = (cause: unknown) => new QuoteSourceError("QUOTE_UNAVAILABLE", name, "No quote source could serve a quote", { cause });
    const accept = (q: Quote): Quote | Promise<Quote> => {
      if (!_isValid(q)) return Promise.reject(unavailable(new TypeError(`fallback ${name} gave an invalid quote`)));
      this._emit("served", name);
      return q;
    };
    let r: Quote | Promise<Quote>;
    try {
      r = this.fallback.next();
    } catch (err) {
      return Promise.reject(unavailable(err));
    }
    return _isThenable(r) ? r.then(accept, (err) => Promise.reject(unavailable(err))) : accept(r);
  }

  private _pick(from: readonly _Member[]): _Member | undefined {
    const total = from.reduce((a, m) => a + m.weight, 0);
    let r = this._random() * total;
    for (const m of from) {
      r -= m.weight;
      if (r < 0) return m;
    }
    return from[from.length - 1];
  }

  /** Tell the observer; every event is (source, detail?). Fixed arity, no rest/spread: "served" runs on every handshake. */
  private _emit(kind: keyof QuoteSourceObserver, source: string, detail?: string): void {
    try {
      (this._observer[kind] as ((source: string, detail?: string) => void) | undefined)?.call(this._observer, source, detail);
    } catch {
      // A broken observer must not cost a client its quote.
    }
  }
}

function _reason(err: unknown): Exclude<FailReason, "open"> {
  if (err instanceof QuoteSourceError) return err.code === "QUOTE_TIMEOUT" ? "timeout" : err.code === "QUOTE_INVALID" ? "invalid" : "error";
  return "error";
}

const _NOT_BLANK = /\S/;

function _isValid(q: unknown): q is Quote {
  if (q === null || typeof q !== "object") return false;
  const { text, author, source } = q as Record<string, unknown>;
  return typeof text === "string" && text.length <= MAX_QUOTE_CHARS && _NOT_BLANK.test(text) &&
    typeof author === "string" && author.length <= MAX_AUTHOR_CHARS &&
    typeof source === "string" && source.length > 0 && source.length <= MAX_SOURCE_NAME_CHARS;
}
