/**
 * Counters and gauges kept in plain numbers, with the part of prom-client's interface the server uses
 * (inc, set, reset, a `collect` hook run at scrape time, an aggregator for serve --threads), and a
 * `get()` that returns what prom-client's own metrics return. So they register with prom-client's
 * Registry like LocalHistogram, which writes the same text for them, and a gate thread can report its
 * values (Metrics.snapshot) without loading prom-client at all. That is what they are for: on Deno,
 * prom-client's CommonJS files, like any `node:` module, bring Deno's Node compatibility layer into the
 * Worker that loads them, about 4.5 MB of resident memory per gate thread (docs/OPERATIONS.md, threads).
 * @module
 */

/** How the main thread combines the threads' values (prom-client's AggregatorRegistry): sum, first, min, max... */
export type Aggregator = "sum" | "first" | "min" | "max" | "average" | "omit";

/** One value of a metric, as prom-client's metrics report it (a histogram's name its series: `metricName`). */
export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric it did not build (Registry.registerMetric). */
export interface LocalMetric {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator: Aggregator;
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }>;
  reset(): void;
}

export interface LocalMetricOptions<L extends string, M> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
  readonly aggregator?: Aggregator;
  /** Run (with `this` the metric) before each read, as prom-client's `collect`. */
  readonly collect?: (this: M) => void | Promise<void>;
  /** Lists the metric is added to (as prom-client's `registers`). */
  readonly registers?: LocalMetric[][];
}

type Labels<L extends string> = Record<L, string | number>;

abstract class LocalValues<L extends string> implements LocalMetric {
  abstract readonly type: string;
  readonly name: string;
  readonly help: string;
  readonly aggregator: Aggregator;
  readonly #labelNames: readonly L[];
  readonly #collect: (() => void | Promise<void>) | undefined;
  /** One entry per label set, keyed by the label values in `labelNames` order. */
  #values = new Map<string, { value: number; labels: Labels<L> | Record<string, never> }>();

  constructor(o: LocalMetricOptions<L, unknown>, defaultAggregator: Aggregator) {
    this.name = o.name;
    this.help = o.help;
    this.aggregator = o.aggregator ?? defaultAggregator;
    this.#labelNames = o.labelNames ?? [];
    this.#collect = o.collect?.bind(this);
    this.reset();
    for (const r of o.registers ?? []) r.push(this);
  }

  /** A metric without labels has one value, 0 until changed; one with labels has a value per label set seen. */
  reset(): void {
    this.#values = new Map();
    if (this.#labelNames.length === 0) this.#values.set("", { value: 0, labels: {} });
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const c = this.#collect?.();
    if (c) await c;
    const values: MetricValue[] = [];
    for (const v of this.#values.values()) values.push({ value: v.value, labels: v.labels });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  protected _entry(labels: Labels<L> | undefined): { value: number } {
    const names = this.#labelNames;
    if (names.length === 0) {
      if (labels !== undefined && Object.keys(labels).length > 0) throw new Error(`${this.name} has no labels`);
      return this.#values.get("")!;
    }
    if (labels === undefined) throw new Error(`${this.name} needs its labels: ${names.join(", ")}`);
    let key = "";
    for (const n of names) {
      const v = labels[n];
      if (v === undefined) throw new Error(`${this.name}: label ${n} is missing`);
      key += `${v}\u0000`;
    }
    let e = this.#values.get(key);
    if (e) return e; // a label set seen before: no allocation (refusals under an attack count here)
    if (Object.keys(labels).length !== names.length) throw new Error(`${this.name}: labels must be ${names.join(", ")}`);
    this.#values.set(key, (e = { value: 0, labels: { ...labels } }));
    return e;
  }
}


export class LocalCounter<L extends string = string> extends LocalValues<L> {
  readonly type = "counter";
  constructor(o: LocalMetricOptions<L, LocalCounter<L>>) {
    super(o as LocalMetricOptions<L, unknown>, "sum");
  }
  /**
   * Adds `value` (default 1) to the counter, or to the label set's. Refuses what prom-client refuses, and
   * only that (it lets NaN through): a value that is not a finite number, a negative one.
   */
  inc(labels?: Labels<L> | number, value?: number): void {
    const [l, v] = typeof labels === "object" ? [labels, value ?? 1] : [undefined, labels ?? 1];
    if (v && !Number.isFinite(v)) throw new TypeError(`${this.name}: value is not a valid number: ${String(v)}`);
    if (v < 0) throw new RangeError(`${this.name}: a counter cannot go down (${v})`);
    this._entry(l).value += v;
  }
}

export class LocalGauge<L extends string = string> extends LocalValues<L> {
  readonly type = "gauge";
  constructor(o: LocalMetricOptions<L, LocalGauge<L>>) {
    super(o as LocalMetricOptions<L, unknown>, "sum");
  }
  /** Sets the gauge, or the label set's, to `value`: any number (NaN too, as prom-client). */
  set(labels: Labels<L> | number, value?: number): void {
    const [l, v] = typeof labels === "object" ? [labels, value] : [undefined, labels];
    if (typeof v !== "number") throw new TypeError(`${this.name}: value is not a valid number: ${String(v)}`);
    this._entry(l).value = v;
  }
}
