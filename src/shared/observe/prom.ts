/**
 * The parts of prom-client a gate thread uses (Registry, Counter, Gauge), loaded from their own files
 * rather than through the package's index, which also loads the Pushgateway (Node's http, https and url),
 * the cluster aggregator and the default process metrics. Every Worker thread of `serve --threads` loads
 * its own copy of what it imports: through the index, prom-client cost a Deno worker about 9.5 MB of
 * resident memory, these three files about 4.5 MB (measured in an otherwise idle Worker). The default
 * metrics are loaded only where they are reported (Metrics.create; the main thread: they describe the
 * process), and the aggregator by the first render that needs it. Types come from the package's own
 * declarations.
 * @module
 */
import type * as P from "prom-client";
// @ts-ignore: prom-client declares its types on the package's index only (typed by the casts below)
import RegistryImpl from "prom-client/lib/registry.js";
// @ts-ignore: as above
import CounterImpl from "prom-client/lib/counter.js";
// @ts-ignore: as above
import GaugeImpl from "prom-client/lib/gauge.js";

export const Registry = RegistryImpl as unknown as typeof P.Registry;
export type Registry = P.Registry;
export const Counter = CounterImpl as unknown as typeof P.Counter;
export type Counter<T extends string = string> = P.Counter<T>;
export const Gauge = GaugeImpl as unknown as typeof P.Gauge;
export type Gauge<T extends string = string> = P.Gauge<T>;

/** prom-client's default process and runtime metrics, loaded on first use (the main thread's alone). */
export async function defaultMetrics(): Promise<typeof P.collectDefaultMetrics> {
  // @ts-ignore: as above
  return (await import("prom-client/lib/defaultMetrics.js")).default as unknown as typeof P.collectDefaultMetrics;
}

/** prom-client's aggregator of several registries' values (the cluster module's), loaded on first use. */
export async function aggregatorRegistry(): Promise<typeof P.AggregatorRegistry> {
  // @ts-ignore: as above
  return (await import("prom-client/lib/cluster.js")).default as unknown as typeof P.AggregatorRegistry;
}
