/**
 * Quote sources: where the text a solved client receives comes from.
 * embedded.ts is the default; file and HTTP sources implement the same interface.
 * @module
 */

export interface Quote {
  readonly text: string;
  readonly author: string;
  /** Name of the source that served it (for metrics and the Quote message). */
  readonly source: string;
}

export interface QuoteSource {
  readonly name: string;
  /** A quote; may be async (network sources). Rejects only when nothing can be served. */
  next(): Quote | Promise<Quote>;
  close?(): Promise<void>;
  /**
   * How close the source is to its own capacity (1 = full), for sources that have one: the difficulty
   * controller raises the price when it is full, since only fewer solved clients can relieve it.
   */
  saturation?(): number;
}

/** Longest quote text a source may hand out, so a Quote frame always fits the frame limit. */
export const MAX_QUOTE_CHARS = 1000;
export const MAX_AUTHOR_CHARS = 120;

/** Why a source could not serve: the resilient source maps these to its observer's reasons. */
export type QuoteErrorCode = "QUOTE_TIMEOUT" | "QUOTE_UNAVAILABLE" | "QUOTE_INVALID";

/** A source failed to produce a quote. `code` says whether it was slow, down, or answered junk. */
export class QuoteSourceError extends Error {
  constructor(readonly code: QuoteErrorCode, readonly source: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "QuoteSourceError";
  }
}
