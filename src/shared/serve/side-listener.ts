/**
 * The side listener (metrics_listen): /metrics, /healthz, /readyz, and with debug_runtime: on
 * /debug/runtime and /debug/pprof/ (docs/OPERATIONS.md "Profiles"). The profiles' inspector session
 * exists only when asked for; heap sampling runs from the start where the runtime has it, so the heap
 * profile sees what start-up allocated.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import { parseHostPort } from "../net/address.ts";
import { createHttpApp, type Readiness } from "../observe/http.ts";
import type { Metrics } from "../observe/metrics.ts";
import { HEAP_INTERVAL_BYTES, PROFILE_SECONDS, Profiles } from "../observe/profiles.ts";
import type { RuntimeProfiler } from "../runtime/inspector.ts";
import { runtimeName } from "../transport/index.ts";
import { type HttpServer, serveHttp } from "../transport/http.ts";
import { COMMIT, VERSION } from "../version.ts";

/**
 * CPU and heap profiles when debug_runtime is on or profile_dir is set (null otherwise). `own` receives
 * the profiler before heap sampling starts, so a failure there still releases it.
 */
export async function openProfiles(c: ServeConfig, own: (profiler: RuntimeProfiler) => void): Promise<Profiles | null> {
  if (c.debug_runtime !== "on" && c.profile_dir === "") return null;
  const { RuntimeProfiler } = await import("../runtime/inspector.ts");
  const profiler = new RuntimeProfiler();
  own(profiler);
  if (c.debug_runtime === "on") await profiler.startHeapSampling(HEAP_INTERVAL_BYTES);
  return new Profiles(profiler, `wisdom ${VERSION} (${COMMIT}) on ${runtimeName()}`);
}

export interface SideListenerParts {
  readonly metrics: Metrics;
  readonly readiness: () => Readiness;
  readonly startedAt: number;
  readonly debug: () => Record<string, unknown>;
  readonly profiles: Profiles | null;
}

/** Listen on metrics_listen (null when it is ""); the debug endpoints only with debug_runtime: on. */
export async function openSideListener(c: ServeConfig, p: SideListenerParts): Promise<HttpServer | null> {
  if (c.metrics_listen === "") return null;
  const hp = parseHostPort(c.metrics_listen, "127.0.0.1");
  const debugOn = c.debug_runtime === "on";
  const app = createHttpApp({
    metrics: p.metrics,
    readiness: p.readiness,
    startedAt: p.startedAt,
    debug: debugOn ? p.debug : null,
    profiles: debugOn ? p.profiles : null,
  });
  try {
    // A CPU profile's response is silent for its whole length: the connection must outlast the longest one.
    const idleTimeoutS = p.profiles && debugOn ? PROFILE_SECONDS.max + 15 : undefined;
    return await serveHttp(app.fetch, hp.host, hp.port, { idleTimeoutS });
  } catch (err) {
    throw new Error(`Cannot listen for metrics on ${c.metrics_listen}: ${(err as Error).message}`, { cause: err });
  }
}
