/**
 * The parts of prom-client the main thread's /metrics uses, loaded by Metrics the first time it needs
 * them (observe/metrics.ts), never by a gate thread's Worker: on Deno, prom-client's CommonJS files bring
 * the Node compatibility layer in (observe/local-metrics.ts). Loaded from their own files rather than
 * through the package's index, which also loads the Pushgateway (Node's http, https and url); the
 * default process metrics and the cluster aggregator come on first use. Types come from the package's
 * own declarations.
 * @module
 */
import type * as P from "prom-client";
// @ts-ignore: prom-client declares its types on the package's index only (typed by the casts below)
import RegistryImpl from "prom-client/lib/registry.js";

export const Registry = RegistryImpl as unknown as typeof P.Registry;
export type Registry = P.Registry;

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
