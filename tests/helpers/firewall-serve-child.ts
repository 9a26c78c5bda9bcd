/**
 * Run by tests/integration/firewall-serve.test.ts inside a private network namespace (unshare -n), as root:
 * starts the real `wisdom serve --firewall nft` on that namespace's loopback, storms it from 127.0.9.x
 * until the /24 is banned, then looks at what the kernel, an honest client, /metrics and a SIGTERM do.
 * Prints one JSON line with what it saw; the test judges it. Argument: the nftables table name.
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import * as net from "node:net";
import { fetchQuote } from "../../src/shared/client/fetch.ts";
import { FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage } from "../../src/shared/protocol/messages.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { connects, ROOT, wisdomCommand } from "./netns.ts";
import { referenceSolver } from "./server.ts";

const argv: string[] = typeof (globalThis as any).Deno !== "undefined" ? (globalThis as any).Deno.args : process.argv.slice(2);
const table = argv[0] ?? "wisdom_serve_t";
const STORM_NET = "127.0.9";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const nftHas = () => spawnSync("nft", ["list", "table", "inet", table], { encoding: "utf8" });

/** `wisdom serve` with the firewall on; resolves once its JSON "listening" line names both ports. */
async function startServe() {
  const [cmd, ...args] = wisdomCommand([
    "serve", "--firewall", "nft", "--firewall-table", table, "--firewall-refusals", "20", "--proxy-trusted", "192.0.2.0/24",
    "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--difficulty", "1", "--net-challenge-rate", "5", "--net-challenge-burst", "5",
    "--log-format", "json",
  ]);
  const child = spawn(cmd!, args, { cwd: ROOT, env: { ...process.env, WISDOM_SECRET: "firewall-serve-test-secret-0123456789" }, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const ports = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within 10 s: ${log}`)), 10_000);
    child.stderr!.on("data", (d) => {
      log += d;
      const m = /"msg":"listening","address":"127\.0\.0\.1:(\d+)","metrics":"127\.0\.0\.1:(\d+)"/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), metricsPort: Number(m[2]) });
      }
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${log}`)));
  });
  return { child, exited, ...ports, log: () => log };
}

interface StormCounts {
  connects: number;
  challenges: number;
  errors: Record<string, number>;
  /** Connects that did not complete within the deadline (the SYN was dropped). */
  stalled: number;
}

/**
 * A reconnect storm: `lanes` in parallel, each connecting from the next 127.0.9.x address, reading the
 * first frame and closing at once, until a connect stalls (the ban took effect) or `maxMs` passed.
 */
async function storm(port: number, lanes: number, maxMs: number): Promise<StormCounts & { ms: number }> {
  const c: StormCounts = { connects: 0, challenges: 0, errors: {}, stalled: 0 };
  const t0 = performance.now();
  let n = 0;
  const once = (local: string) =>
    new Promise<void>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port, localAddress: local });
      const dec = new FrameDecoder();
      const done = () => {
        clearTimeout(timer);
        s.destroy();
        resolve();
      };
      const timer = setTimeout(() => {
        if (s.connecting) c.stalled++;
        done();
      }, 1000);
      s.once("connect", () => c.connects++);
      s.on("data", (chunk: Uint8Array) => {
        for (const f of dec.push(chunk)) {
          const m = decodeMessage(f);
          if (m.type === MessageType.Challenge) c.challenges++;
          else if (m.type === MessageType.Error) c.errors[m.body.code] = (c.errors[m.body.code] ?? 0) + 1;
          return done();
        }
      });
      s.once("error", done);
      s.once("close", done);
    });
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (c.stalled === 0 && performance.now() - t0 < maxMs) await once(`${STORM_NET}.${1 + (n++ % 200)}`);
    }),
  );
  return { ...c, ms: Math.round(performance.now() - t0) };
}

async function metric(metricsPort: number, name: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "m").exec(text);
  return m ? Number(m[1]) : null;
}

const r: Record<string, unknown> = {};
const srv = await startServe();
try {
  r.tableWhileRunning = nftHas().status === 0;
  r.stormNetConnectsBefore = await connects("127.0.0.1", srv.port, `${STORM_NET}.250`);
  r.storm = await storm(srv.port, 8, 5000);
  await sleep(300); // bans are written at most every 100 ms
  r.stormNetConnectsAfter = await Promise.all([`${STORM_NET}.7`, `${STORM_NET}.230`].map((a) => connects("127.0.0.1", srv.port, a, 1000)));
  r.tableListsBan = nftHas().stdout.includes(`${STORM_NET}.0`);
  try {
    const q = await fetchQuote("127.0.0.1", srv.port, { transport: await pickTransport("node"), solver: referenceSolver, localAddress: "127.0.3.3", timeoutMs: 5000 });
    r.honest = { ok: true, quote: q.quote, retries: q.retries };
  } catch (err) {
    r.honest = { ok: false, error: String(err) };
  }
  r.bans = await metric(srv.metricsPort, "wisdom_firewall_bans_total");
  r.dropped = await metric(srv.metricsPort, "wisdom_firewall_dropped_packets_total");
  r.entries = await metric(srv.metricsPort, "wisdom_firewall_entries");
  r.failures = await metric(srv.metricsPort, "wisdom_firewall_failures_total");
} catch (err) {
  r.error = String(err);
} finally {
  process.kill(srv.child.pid!, "SIGTERM");
  const t = setTimeout(() => process.kill(srv.child.pid!, "SIGKILL"), 8000);
  r.exitCode = await srv.exited;
  clearTimeout(t);
  r.tableAfterExit = nftHas().status === 0;
  if (r.exitCode !== 0 || r.error) r.log = srv.log();
}
console.log(JSON.stringify(r));
process.exit(0);
