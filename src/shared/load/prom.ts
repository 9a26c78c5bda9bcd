/**
 * Just enough of the Prometheus text exposition format (0.0.4) for `wisdom load --metrics`: samples
 * without labels or with only `le`, a histogram's buckets, and histogram_quantile() over the difference
 * of two scrapes, interpolated inside a bucket the way Prometheus does it.
 * @module
 */

/** One scrape: `name` or `name{le="..."}` (labels as written) to value. */
export type Samples = ReadonlyMap<string, number>;

/** Parses every sample line; comments, blank lines and lines that do not parse are skipped. */
export function parseSamples(text: string): Samples {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = m[2] === "+Inf" ? Infinity : m[2] === "-Inf" ? -Infinity : Number(m[2]);
    if (!Number.isNaN(value)) out.set(m[1]!, value);
  }
  return out;
}

/** A histogram's cumulative buckets by upper bound (ascending, +Inf last). */
export interface Buckets {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
}

/** The buckets of histogram `name` (no labels other than `le`), or null when absent. */
export function bucketsOf(s: Samples, name: string): Buckets | null {
  const pairs: [number, number][] = [];
  const prefix = `${name}_bucket{le="`;
  for (const [key, value] of s) {
    if (!key.startsWith(prefix)) continue;
    const le = key.slice(prefix.length, key.indexOf('"', prefix.length));
    pairs.push([le === "+Inf" ? Infinity : Number(le), value]);
  }
  if (pairs.length === 0) return null;
  pairs.sort((a, b) => a[0] - b[0]);
  return { bounds: pairs.map((p) => p[0]), counts: pairs.map((p) => p[1]) };
}

/** `after - before` bucket by bucket (a counter reset or missing `before` counts from zero). */
export function bucketsDelta(before: Buckets | null, after: Buckets): Buckets {
  if (!before || before.bounds.length !== after.bounds.length || before.counts.some((c, i) => c > after.counts[i]!)) return after;
  return { bounds: after.bounds, counts: after.counts.map((c, i) => c - before.counts[i]!) };
}

/**
 * The q-quantile (0..1) of cumulative buckets, as PromQL's histogram_quantile(): linear inside the bucket
 * it falls in, the lower bound of the first bucket taken as 0, and the highest finite bound when it falls
 * in +Inf. null when the buckets hold no observation.
 */
export function quantile(b: Buckets, q: number): number | null {
  const total = b.counts[b.counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < b.counts.length; i++) {
    if (b.counts[i]! < rank) continue;
    const upper = b.bounds[i]!;
    const lower = i === 0 ? 0 : b.bounds[i - 1]!;
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : b.counts[i - 1]!;
    const inBucket = b.counts[i]! - below;
    return inBucket > 0 ? lower + (upper - lower) * ((rank - below) / inBucket) : upper;
  }
  return b.bounds[b.bounds.length - 2] ?? null;
}
