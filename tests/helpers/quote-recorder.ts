/** A quote-source observer that records its events as strings, for assertions. */
import type { QuoteSourceObserver } from "../../src/shared/quotes/resilient.ts";

export function recorder() {
  const events: string[] = [];
  const observer: QuoteSourceObserver = {
    served: (s) => events.push(`served ${s}`),
    failed: (s, r) => events.push(`failed ${s} ${r}`),
    breakerState: (s, st) => events.push(`state ${s} ${st}`),
  };
  return { events, observer, take: () => events.splice(0) };
}
