/**
 * The operator's HTTP side listener, as a Hono app (runtime-neutral; transport/http.ts serves it):
 * /metrics (Prometheus text), /healthz (alive), /readyz (ready to serve), and when enabled
 * /debug/runtime (JSON) and /debug/pprof/ (profiles in Go's pprof format, docs/OPERATIONS.md "Profiles").
 * @module
 */
import { Hono } from "hono";
import * as v from "valibot";
import type { Metrics } from "./metrics.ts";
import { PROFILE_SECONDS, ProfileBusyError, type Profiles } from "./profiles.ts";

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
  /** Profiles for /debug/pprof/, or null when those endpoints are disabled. */
  readonly profiles?: Profiles | null;
  readonly startedAt: number;
}

/** ?seconds= of /debug/pprof/profile: digits only, within PROFILE_SECONDS (absent: the default). */
const SecondsSchema = v.pipe(
  v.optional(v.string(), String(PROFILE_SECONDS.default)),
  v.regex(/^[0-9]{1,4}$/, "an integer number of seconds"),
  v.transform(Number),
  v.minValue(PROFILE_SECONDS.min),
  v.maxValue(PROFILE_SECONDS.max),
);

const PPROF_INDEX = `<html><head><title>/debug/pprof/</title></head><body>
<p>wisdom profiles, in Go's pprof format (gzipped protobuf): <code>go tool pprof -top URL</code></p>
<table>
<tr><td><a href="profile?seconds=${PROFILE_SECONDS.default}">profile</a></td><td>CPU profile; ?seconds=${PROFILE_SECONDS.min}..${PROFILE_SECONDS.max} (default ${PROFILE_SECONDS.default}), one at a time (409 while one runs)</td></tr>
<tr><td><a href="heap">heap</a></td><td>live heap: sampled allocations by stack (Deno), or every object by kind and constructor from a heap snapshot (Bun); the X-Heap-Profile header says which</td></tr>
</table>
</body></html>
`;

const pprofHeaders = (file: string) => ({
  "content-type": "application/octet-stream",
  "content-disposition": `attachment; filename="${file}"`,
  "x-content-type-options": "nosniff",
});

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
  const pprofOff = { error: "debug endpoints are disabled (debug_runtime: on)" };
  app.get("/debug/pprof", (c) => (d.profiles ? c.redirect("/debug/pprof/", 301) : c.json(pprofOff, 404)));
  app.get("/debug/pprof/", (c) => (d.profiles ? c.html(PPROF_INDEX) : c.json(pprofOff, 404)));
  app.get("/debug/pprof/profile", async (c) => {
    const profiles = d.profiles;
    if (!profiles) return c.json(pprofOff, 404);
    const seconds = v.safeParse(SecondsSchema, c.req.query("seconds"));
    if (!seconds.success) {
      const got = JSON.stringify(c.req.query("seconds")?.slice(0, 20));
      return c.json({ error: `seconds must be an integer from ${PROFILE_SECONDS.min} to ${PROFILE_SECONDS.max}, got ${got}` }, 400);
    }
    try {
      const body = await profiles.cpu(seconds.output);
      return c.body(body as Uint8Array<ArrayBuffer>, 200, pprofHeaders("profile.pb.gz"));
    } catch (err) {
      if (err instanceof ProfileBusyError) return c.json({ error: err.message }, 409);
      throw err;
    }
  });
  app.get("/debug/pprof/heap", async (c) => {
    if (!d.profiles) return c.json(pprofOff, 404);
    const heap = await d.profiles.heap();
    return c.body(heap.body as Uint8Array<ArrayBuffer>, 200, { ...pprofHeaders("heap.pb.gz"), "x-heap-profile": heap.kind });
  });
  app.notFound((c) => c.json({ error: "not found", paths: ["/metrics", "/healthz", "/readyz", "/debug/runtime", "/debug/pprof/"] }, 404));
  app.onError((err, c) => c.json({ error: "internal error", message: err.message.slice(0, 200) }, 500));
  return app;
}
