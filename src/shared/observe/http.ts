/**
 * The operator's HTTP side listener, as a Hono app (runtime-neutral; transport/http.ts serves it):
 * /metrics (Prometheus text), /healthz (alive), /readyz (ready to serve), /debug/runtime (when enabled).
 * @module
 */
import { Hono } from "hono";
import type { Metrics } from "./metrics.ts";

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (empty when ready). */
  readonly reasons: readonly string[];
}

export interface HttpAppDeps {
  readonly metrics: Metrics;
  readonly readiness: () => Readiness;
  /** Runtime snapshot for /debug/runtime, or null when that endpoint is disabled. */
  readonly debug: (() => Record<string, unknown>) | null;
  readonly startedAt: number;
}

export function createHttpApp(d: HttpAppDeps): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => {
    const body = await d.metrics.render();
    return c.body(body, 200, { "content-type": d.metrics.contentType });
  });
  app.get("/healthz", (c) => c.json({ status: "ok", uptime_s: Math.round((Date.now() - d.startedAt) / 100) / 10 }));
  app.get("/readyz", (c) => {
    const r = d.readiness();
    return c.json({ ready: r.ready, reasons: r.reasons }, r.ready ? 200 : 503);
  });
  app.get("/debug/runtime", (c) => {
    if (!d.debug) return c.json({ error: "debug endpoints are disabled (debug_runtime: on)" }, 404);
    return c.json(d.debug());
  });
  app.notFound((c) => c.json({ error: "not found", paths: ["/metrics", "/healthz", "/readyz", "/debug/runtime"] }, 404));
  app.onError((err, c) => c.json({ error: "internal error", message: err.message.slice(0, 200) }, 500));
  return app;
}
