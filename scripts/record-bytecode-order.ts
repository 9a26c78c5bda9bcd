/**
 * Records which functions a built binary runs, for `bun build --bytecode-order` (profile-guided bytecode
 * layout): the bytecode a run used is placed together at the front of the executable, so the process
 * maps and decodes less of itself. Run by scripts/build-binaries.ts between its two builds, with the
 * first build's binary: `serve` on loopback (its gate threads too) through a few honest fetches, a
 * short mixed attack (`wisdom load`) and a /metrics scrape, then stopped with SIGTERM; and `fetch` on
 * its own, the second most common start. Measured with the binary: idle `serve` 59.1-59.5 MB against
 * 62.8-63.2 MB without the layout (bench/idle-rss.ts); the attack peak in docs/OPERATIONS.md.
 *
 *   bun scripts/record-bytecode-order.ts dist/wisdom [outdir]    # prints the files it wrote
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The order files, most common start first (serve, then fetch), or why there are none. */
export type Recorded = { readonly files: string[] } | { readonly error: string };

const SECRET = "bytecode-order-recording-secret-0123456789";

/**
 * The builder's environment without what would change the recorded runs: every WISDOM_* setting (a
 * config file, a store, a firewall, a log level) and an order file of its own.
 */
export function _recordingEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("WISDOM_") && k !== "BUN_BYTECODE_ORDER_OUT") env[k] = v;
  return { ...env, WISDOM_SECRET: SECRET };
}

/** Records into `dir` (made if missing; old profiles there are replaced). */
export async function recordBytecodeOrder(bin: string, dir: string = mkdtempSync(join(tmpdir(), "wisdom-order-"))): Promise<Recorded> {
  mkdirSync(dir, { recursive: true });
  const serveOrder = join(dir, "serve.order"), fetchOrder = join(dir, "fetch.order");
  for (const f of [serveOrder, fetchOrder]) rmSync(f, { force: true });
  const env = _recordingEnv();
  const server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "info"], {
    env: { ...env, BUN_BYTECODE_ORDER_OUT: serveOrder },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<number | string | null>((r) => {
    server.on("exit", (code, signal) => r(code ?? signal));
    server.on("error", (err) => r(`not started: ${err.message}`)); // not executable here: EACCES, ENOEXEC, a foreign binary
  });
  try {
    let log = "";
    const ports = await new Promise<{ port: number; metrics: number }>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`serve did not start in 20 s: ${log.slice(-500)}`)), 20_000);
      server.stderr!.on("data", (d) => {
        log += d;
        const line = log.split("\n").slice(0, -1).find((l) => l.includes('"msg":"listening"')); // whole lines only
        if (!line) return;
        clearTimeout(timer);
        const { address, metrics } = JSON.parse(line) as { address: string; metrics: string };
        const port = (hp: string) => Number(hp.slice(hp.lastIndexOf(":") + 1));
        ok({ port: port(address), metrics: port(metrics) });
      });
      void exited.then((code) => fail(new Error(`serve exited (${code}) before it listened: ${log.slice(-500)}`)));
    });
    const target = `127.0.0.1:${ports.port}`;
    const run = (args: string[], extraEnv: Record<string, string> = {}) => {
      const r = spawnSync(bin, args, { env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 60_000 });
      if (r.status !== 0) throw new Error(`wisdom ${args[0]} failed (${r.status ?? r.error}): ${(r.stderr ?? "").slice(-500)}`);
    };
    run(["fetch", target, "--json"], { BUN_BYTECODE_ORDER_OUT: fetchOrder });
    for (let i = 0; i < 3; i++) run(["fetch", target, "--json"]);
    run(["load", target, "--profile", "legit,flood,slowloris,junk,replay,forge,wrong", "--duration", "3", "--json"]);
    const scrape = await fetch(`http://127.0.0.1:${ports.metrics}/metrics`);
    if (!scrape.ok) throw new Error(`/metrics answered ${scrape.status}`);
    await scrape.text();
    server.kill("SIGTERM");
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running 15 s after SIGTERM"), 15_000).unref())]);
    if (code !== 0) throw new Error(`serve exited ${code} on SIGTERM`);
    const files = [serveOrder, fetchOrder];
    const missing = files.filter((f) => !existsSync(f) || statSync(f).size === 0);
    if (missing.length > 0) throw new Error(`no profile written: ${missing.join(", ")} (BUN_BYTECODE_ORDER_OUT needs Bun 1.4 and --bytecode)`);
    return { files };
  } catch (err) {
    server.kill("SIGKILL");
    return { error: (err as Error).message };
  }
}

if (import.meta.main) {
  const [bin, dir] = process.argv.slice(2);
  if (!bin) {
    console.error("usage: bun scripts/record-bytecode-order.ts <binary> [outdir]");
    process.exit(2);
  }
  const r = await recordBytecodeOrder(resolve(bin), dir ? resolve(dir) : undefined);
  if ("error" in r) {
    console.error(`record-bytecode-order: ${r.error}`);
    process.exit(1);
  }
  console.log(r.files.join("\n"));
}
