/**
 * The embedded quote collection (compiled into the binary), chosen uniformly at random.
 * @module
 */
import { EMBEDDED_QUOTES } from "./embedded-data.ts";
import type { Quote, QuoteSource } from "./types.ts";

export class EmbeddedQuoteSource implements QuoteSource {
  readonly name = "embedded";
  private readonly _quotes: readonly Quote[];

  /** `random` returns a float in [0, 1); injected for tests. */
  constructor(private readonly _random: () => number = Math.random) {
    this._quotes = EMBEDDED_QUOTES.map((q) => ({ text: q.text, author: q.author, source: "embedded" }));
  }

  get size(): number {
    return this._quotes.length;
  }

  next(): Quote {
    return this._quotes[Math.floor(this._random() * this._quotes.length)]!;
  }
}
