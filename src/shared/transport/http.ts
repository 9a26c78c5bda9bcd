/**
 * Serves a fetch-style handler (a Hono app's `fetch`) with the runtime's own HTTP server:
 * Bun.serve on Bun, Deno.serve on Deno, node:http elsewhere.
 * @module
 */
import { runtimeName } from "./index.ts";

declare const Bun: any;
declare const Deno: any;

export type FetchHandler = (req: Request) => Response | Promise<Response>;

export interface HttpServer {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface ServeHttpOptions {
  /**
   * Seconds a connection may stay silent, response pending included, before the server closes it. Bun's
   * default is 10, shorter than a CPU profile (/debug/pprof/profile) can take; Deno and node:http do
   * not cut a pending response short, so only Bun needs it.
   */
  readonly idleTimeoutS?: number;
}

export async function serveHttp(handler: FetchHandler, host: string, port: number, opts: ServeHttpOptions = {}): Promise<HttpServer> {
  const rt = runtimeName();
  if (rt === "bun") {
    // An HTTP/1.0 request without Host (HAProxy's default health check) reaches Bun's fetch handler with a
    // bare path as its URL; give it an absolute one so routing works.
    const fetch = (req: Request): Response | Promise<Response> =>
      req.url.startsWith("/") ? handler(new Request(`http://${host.includes(":") ? `[${host}]` : host}${req.url}`, req)) : handler(req);
    const s = Bun.serve({ hostname: host, port, fetch, ...(opts.idleTimeoutS === undefined ? {} : { idleTimeout: opts.idleTimeoutS }) });
    return { host, port: s.port, stop: async () => void (await s.stop(true)) };
  }
  if (rt === "deno") {
    let resolvePort!: (p: number) => void;
    const portKnown = new Promise<number>((r) => (resolvePort = r));
    const s = Deno.serve({ hostname: host, port, onListen: (a: { port: number }) => resolvePort(a.port) }, handler);
    const actual = await portKnown;
    return { host, port: actual, stop: async () => void (await s.shutdown()) };
  }
  const http = await import("node:http");
  const server = http.createServer(async (req, res) => {
    const url = `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
    const r = await handler(new Request(url, { method: req.method }));
    res.writeHead(r.status, Object.fromEntries(r.headers));
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as { port: number };
  return { host, port: addr.port, stop: () => new Promise<void>((r) => server.close(() => r())) };
}
