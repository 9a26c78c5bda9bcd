/**
 * The solve progress line of `wisdom fetch`. The search is memoryless: every attempt succeeds with
 * probability 2^-bits whatever came before, so the expected time left is always about 2^bits / rate and
 * never counts down (a countdown read "~0.0 s left" for the last 40 % of a 27-bit solve). What does
 * change is the chance that a solve would have finished by now, and how long 90 % of solves take.
 * Pure: the caller hands in the numbers.
 * @module
 */

export interface SolveProgress {
  readonly bits: number;
  readonly attempts: number;
  readonly elapsedMs: number;
}

export interface ProgressFigures {
  /** Attempts per second so far. */
  readonly rate: number;
  /** Expected seconds until a solution from now: 2^bits / rate, the same at any point of the search. */
  readonly expectedLeftS: number;
  /** The share of solves at this difficulty that would have finished within the attempts made. */
  readonly doneByNow: number;
  /** Seconds from the start within which 90 % of solves finish at this rate. */
  readonly p90TotalS: number;
}

export function progressFigures(p: SolveProgress): ProgressFigures {
  const rate = p.elapsedMs > 0 ? (p.attempts / p.elapsedMs) * 1000 : 0;
  const q = 2 ** -p.bits;
  const expected = 2 ** p.bits;
  return {
    rate,
    expectedLeftS: rate > 0 ? expected / rate : Infinity,
    doneByNow: p.bits === 0 ? 1 : -Math.expm1(p.attempts * Math.log1p(-q)),
    p90TotalS: rate > 0 ? (p.bits === 0 ? 0 : Math.log(0.1) / Math.log1p(-q) / rate) : Infinity,
  };
}

const _rate = (hps: number) => (hps >= 1e6 ? `${(hps / 1e6).toFixed(1)} M/s` : `${(hps / 1e3).toFixed(0)} k/s`);
const _secs = (s: number) => (!Number.isFinite(s) ? "?" : s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`);

/** The line, or null while a short solve is too young to be worth a line (under 1 s, expected under 1 s). */
export function progressLine(p: SolveProgress): string | null {
  const f = progressFigures(p);
  if (p.elapsedMs < 1000 && f.expectedLeftS < 1) return null;
  return `solving ${p.bits}-bit puzzle: ${(p.attempts / 1e6).toFixed(1)}M attempts at ${_rate(f.rate)}; ` +
    `~${_secs(f.expectedLeftS)} expected from here, ${Math.floor(f.doneByNow * 100)}% of solves end by now, 90% within ${_secs(f.p90TotalS)}`;
}
