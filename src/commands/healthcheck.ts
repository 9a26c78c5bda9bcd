/**
 * `wisdom healthcheck [URL]`: exit 0 when the side listener's /healthz answers 200 within 3 s (container
 * HEALTHCHECKs, where no curl is available). Bundled into main: small, no dependencies.
 * @module
 */
import { EXIT, type Io, UsageError } from "../shared/cli/io.ts";

export async function runHealthcheck(rest: string[], io: Io): Promise<number> {
  if (rest.includes("-h") || rest.includes("--help")) {
    io.stdout("Usage: wisdom healthcheck [URL]\n\nExit 0 when URL (default http://127.0.0.1:9077/healthz) answers 200 within 3 s, else 1.\nFor container HEALTHCHECKs, where no curl is available.\n");
    return EXIT.OK;
  }
  if (rest.length > 1) throw new UsageError("healthcheck takes at most one URL");
  const url = rest[0] ?? "http://127.0.0.1:9077/healthz";
  if (!/^https?:\/\//.test(url)) throw new UsageError(`healthcheck: ${JSON.stringify(url)} is not an http(s) URL`);
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await r.body?.cancel();
    if (r.status === 200) return EXIT.OK;
    io.stderr(`wisdom healthcheck: ${url} answered ${r.status}\n`);
  } catch (err) {
    io.stderr(`wisdom healthcheck: ${url}: ${(err as Error).message}\n`);
  }
  return EXIT.FAILURE;
}
