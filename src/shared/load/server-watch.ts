/**
 * The server's own view of a `wisdom load` run, from its /metrics (`--metrics URL`): scraped when the run
 * starts and at the end of every phase, and once a second in between for the difficulty in force. Per
 * phase: the handshake-latency p99 from the difference of the `wisdom_handshake_duration_seconds`
 * histograms (every connection, the attackers' too), and the lowest and highest `wisdom_difficulty` sampled.
 * @module
 */
import { type Buckets, bucketsDelta, bucketsOf, parseSamples, quantile, type Samples } from "./prom.ts";

export const HANDSHAKE_HISTOGRAM = "wisdom_handshake_duration_seconds";
export const SERVED_HISTOGRAM = "wisdom_served_handshake_duration_seconds";
export const DIFFICULTY_GAUGE = "wisdom_difficulty";

export interface PhaseView {
  /** Connections closed during the phase, and the p99 of their lifetimes (null when none). */
  handshakes: number;
  handshake_p99_ms: number | null;
  /** The median lifetime: under a slowloris, how long a held connection lives. */
  handshake_p50_ms: number | null;
  /** Connections that got a quote during the phase, and the p99 of their lifetimes (null when none). */
  served: number;
  served_p99_ms: number | null;
  difficulty_min: number | null;
  difficulty_max: number | null;
}

const _SCRAPE_TIMEOUT_MS = 2000;

export class ServerWatch {
  #last: Buckets | null;
  #lastServed: Buckets | null;
  #min = Infinity;
  #max = -Infinity;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Scrapes that failed (the run goes on without them). */
  errors = 0;

  private constructor(readonly url: string, first: Samples) {
    this.#last = bucketsOf(first, HANDSHAKE_HISTOGRAM);
    this.#lastServed = bucketsOf(first, SERVED_HISTOGRAM);
    this.#note(first);
  }

  /** First scrape, then one a second; rejects when the first scrape fails. */
  static async start(url: string, everyMs = 1000): Promise<ServerWatch> {
    const w = new ServerWatch(url, await scrape(url));
    w.#timer = setInterval(() => void w.#sample(), everyMs);
    return w;
  }

  /** Scrapes now and returns what happened since the previous mark (or the start). */
  async mark(): Promise<PhaseView> {
    let s: Samples | null = null;
    try {
      s = await scrape(this.url);
      this.#note(s);
    } catch {
      this.errors++;
    }
    const now = s ? bucketsOf(s, HANDSHAKE_HISTOGRAM) : null;
    const delta = now ? bucketsDelta(this.#last, now) : null;
    if (now) this.#last = now;
    const p99 = delta ? quantile(delta, 0.99) : null;
    const p50 = delta ? quantile(delta, 0.5) : null;
    const nowServed = s ? bucketsOf(s, SERVED_HISTOGRAM) : null;
    const deltaServed = nowServed ? bucketsDelta(this.#lastServed, nowServed) : null;
    if (nowServed) this.#lastServed = nowServed;
    const p99Served = deltaServed ? quantile(deltaServed, 0.99) : null;
    const view: PhaseView = {
      handshakes: delta ? (delta.counts[delta.counts.length - 1] ?? 0) : 0,
      handshake_p99_ms: p99 === null ? null : Math.round(p99 * 10_000) / 10,
      handshake_p50_ms: p50 === null ? null : Math.round(p50 * 10_000) / 10,
      served: deltaServed ? (deltaServed.counts[deltaServed.counts.length - 1] ?? 0) : 0,
      served_p99_ms: p99Served === null ? null : Math.round(p99Served * 10_000) / 10,
      difficulty_min: Number.isFinite(this.#min) ? this.#min : null,
      difficulty_max: Number.isFinite(this.#max) ? this.#max : null,
    };
    // The next phase starts at the difficulty in force now.
    const d = s?.get(DIFFICULTY_GAUGE);
    this.#min = d ?? Infinity;
    this.#max = d ?? -Infinity;
    return view;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #note(s: Samples): void {
    const d = s.get(DIFFICULTY_GAUGE);
    if (d === undefined) return;
    this.#min = Math.min(this.#min, d);
    this.#max = Math.max(this.#max, d);
  }

  async #sample(): Promise<void> {
    try {
      this.#note(await scrape(this.url));
    } catch {
      this.errors++;
    }
  }
}

async function scrape(url: string): Promise<Samples> {
  const r = await fetch(url, { signal: AbortSignal.timeout(_SCRAPE_TIMEOUT_MS) });
  if (!r.ok) {
    await r.body?.cancel();
    throw new Error(`GET ${url}: HTTP ${r.status}`);
  }
  return parseSamples(await r.text());
}
