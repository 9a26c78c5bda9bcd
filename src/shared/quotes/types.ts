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
}

/** Longest quote text a source may hand out, so a Quote frame always fits the frame limit. */
export const MAX_QUOTE_CHARS = 1000;
export const MAX_AUTHOR_CHARS = 120;
