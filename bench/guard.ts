/**
 * `wisdom guard` benchmarks, side by side in one run (this VM's speed drifts: only same-run ratios count):
 *   1. throughput: GB through `wisdom guard` (difficulty 0) against the same through HAProxy in TCP mode,
 *      alternating rounds, same client and service;
 *   2. connection set-up: open a usable stream through the guard at difficulty 0 against a direct
 *      connection, alternating; the guard's extra time beyond the solve;
 *   3. the priority queue: upstream_max_connections 2, a service holding each connection 100 ms, and
 *      clients of three efforts arriving together: their waits by effort.
 * The client and the service run in this process (one core), the guard or HAProxy in another.
 *
 *   npx bun bench/guard.ts [--gb 1] [--rounds 3] [--setups 200] [--guard-runtime bun|deno] [--only throughput|setup|queue]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { denoV8FlagsArg, parseDenoV8Flags } from "../src/shared/runtime/deno-v8-flags.ts";
import { openGuarded } from "../src/shared/client/fetch.ts";
import { createSolver } from "../src/shared/pow/solver/solver.ts";
import { pickTransport } from "../src/shared/transport/index.ts";
import type { Conn } from "../src/shared/transport/types.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const { values } = parseArgs({
  options: { gb: { type: "string" }, rounds: { type: "string" }, setups: { type: "string" }, "guard-runtime": { type: "string" }, only: { type: "string" } },
});
const GB = Number(values.gb ?? 1);
const ROUNDS = Number(values.rounds ?? 3);
const SETUPS = Number(values.setups ?? 200);
const guardRuntime = values["guard-runtime"] ?? (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno");
const only = values.only;
const transport = await pickTransport();
const solver = await createSolver({ threads: 1 });
const BLOCK = 1 << 20;
const block = new Uint8Array(BLOCK);
for (let o = 0; o < BLOCK; o += 65536) crypto.getRandomValues(block.subarray(o, o + 65536));

const bin = (name: string) => join(root, "node_modules", ".bin", name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), r(true)));
      s.once("error", () => r(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** The service: counts what it receives and answers "done" after the client's FIN; `hold` keeps a connection open that long first. */
async function startService(holdMs = 0): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("data", () => {});
    s.on("end", () => setTimeout(() => s.end("done"), holdMs));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as net.AddressInfo).port, server };
}

function startGuard(upstreamPort: number, port: number, extra: string[] = []): ChildProcess {
  const args = ["guard", "--listen", `127.0.0.1:${port}`, "--upstream", `127.0.0.1:${upstreamPort}`, "--difficulty", "0", "--adaptive", "off", "--metrics-listen", "", "--log-level", "warn", ...extra];
  const cmd = guardRuntime === "deno" ? [bin("deno"), "run", "-A", ...denoV8FlagsArg(parseDenoV8Flags(undefined, process.env)), main, ...args] : [bin("bun"), main, ...args];
  return spawn(cmd[0]!, cmd.slice(1), { cwd: root, env: { ...process.env, WISDOM_SECRET: "guard-bench-secret-0123456789abcdef" }, stdio: ["ignore", "ignore", "inherit"] });
}

function startHaproxy(upstreamPort: number, port: number): ChildProcess {
  if (spawnSync("sh", ["-c", "command -v haproxy"]).status !== 0) throw new Error("haproxy not found: apt-get install haproxy");
  const dir = mkdtempSync(join(tmpdir(), "wisdom-guard-bench-"));
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, `global
    maxconn 1024
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend f
    bind 127.0.0.1:${port}
    default_backend b
backend b
    server s 127.0.0.1:${upstreamPort}
`);
  return spawn("haproxy", ["-db", "-f", file], { stdio: ["ignore", "ignore", "inherit"] });
}

/** A Conn plus a promise for the service's "done". */
function sink() {
  let got = "";
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  return {
    finished,
    data: (c: Uint8Array) => void (got += new TextDecoder().decode(c)),
    end: () => {},
    close: () => (got.endsWith("done") ? done() : done()),
  };
}

/** Send `bytes` in 1 MiB blocks with backpressure, half-close, and wait for the service's answer. Returns MB/s. */
async function pump(conn: Conn, finished: Promise<void>, bytes: number): Promise<number> {
  const t0 = performance.now();
  for (let sent = 0; sent < bytes; sent += BLOCK) {
    conn.write(block);
    if (conn.queuedBytes > 4 * BLOCK) await new Promise<void>((r) => (conn.onDrain = () => r()));
  }
  conn.closeWrite();
  await finished;
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}

async function throughGuard(port: number, bytes: number): Promise<number> {
  const g = await openGuarded("127.0.0.1", port, { transport, solver, timeoutMs: 10_000, mode: "same" });
  const s = sink();
  g.reader.stream(s);
  return pump(g.conn, s.finished, bytes);
}

async function direct(port: number, bytes: number): Promise<number> {
  const s = sink();
  const conn = await transport.connect("127.0.0.1", port, { open: () => null, data: (_x, c) => s.data(c), end: () => s.end(), close: () => s.close() });
  return pump(conn, s.finished, bytes);
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

function minorFaults(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[7]);
  } catch {
    return NaN;
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { min: s[0]!, median: q(0.5), p90: q(0.9), max: s[s.length - 1]! };
};
const f1 = (x: number) => x.toFixed(1);
const f3 = (x: number) => x.toFixed(3);
const out: Record<string, unknown> = { guard_runtime: guardRuntime, client_runtime: transport.name };

if (!only || only === "throughput") {
  const svc = await startService();
  const gPort = await freePort();
  const hPort = await freePort();
  const guard = startGuard(svc.port, gPort);
  const haproxy = startHaproxy(svc.port, hPort);
  await waitListening(gPort);
  await waitListening(hPort);
  const bytes = Math.round(GB * 1024) * BLOCK;
  await throughGuard(gPort, 64 * BLOCK); // warm-up
  await direct(hPort, 64 * BLOCK);
  const rows: { round: number; guard: number; haproxy: number; ratio: number; guardCpu: number; haproxyCpu: number }[] = [];
  /** MB/s, and the relaying process's CPU seconds per GB (less sensitive to a loaded machine than MB/s). */
  const timed = async (pid: number | undefined, run: () => Promise<number>) => {
    const c0 = cpuSeconds(pid);
    const f0 = minorFaults(pid);
    const mbs = await run();
    if (process.env.GUARD_BENCH_FAULTS) console.error(`pid ${pid}: ${minorFaults(pid) - f0} minor faults`);
    return { mbs, cpu: (cpuSeconds(pid) - c0) / (bytes / 2 ** 30) };
  };
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so drift within a round does not favour one.
    let gv, hv;
    if (r % 2 === 0) {
      gv = await timed(guard.pid, () => throughGuard(gPort, bytes));
      hv = await timed(haproxy.pid, () => direct(hPort, bytes));
    } else {
      hv = await timed(haproxy.pid, () => direct(hPort, bytes));
      gv = await timed(guard.pid, () => throughGuard(gPort, bytes));
    }
    rows.push({ round: r + 1, guard: gv.mbs, haproxy: hv.mbs, ratio: gv.mbs / hv.mbs, guardCpu: gv.cpu, haproxyCpu: hv.cpu });
    console.error(`round ${r + 1}: guard ${f1(gv.mbs)} MB/s, haproxy ${f1(hv.mbs)} MB/s, ratio ${f3(gv.mbs / hv.mbs)}`);
  }
  guard.kill("SIGTERM");
  haproxy.kill("SIGTERM");
  svc.server.close();
  const ratios = stats(rows.map((r) => r.ratio));
  console.log(`\n### Throughput: ${GB} GB client -> service, guard (${guardRuntime}) vs HAProxy TCP mode\n`);
  console.log("| round | guard MB/s | HAProxy MB/s | guard / HAProxy | guard CPU s/GB | HAProxy CPU s/GB |\n|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.round} | ${f1(r.guard)} | ${f1(r.haproxy)} | ${f3(r.ratio)} | ${f3(r.guardCpu)} | ${f3(r.haproxyCpu)} |`);
  console.log(`\nratio: median ${f3(ratios.median)}, range ${f3(ratios.min)}..${f3(ratios.max)}`);
  out.throughput = { gb: GB, rounds: rows, ratio: ratios };
}

if (!only || only === "setup") {
  // The service answers nothing here: a stream is "set up" when it can be written to.
  const svc = net.createServer((s) => s.on("error", () => {}).resume());
  await new Promise<void>((r) => svc.listen(0, "127.0.0.1", () => r()));
  const svcPort = (svc.address() as net.AddressInfo).port;
  const nothing = { open: () => null, data() {}, close() {} };
  const limits = ["--challenge-rate", "100000", "--challenge-burst", "100000", "--solution-rate", "100000", "--solution-burst", "100000", "--max-outstanding", "100000"];
  /** SETUPS alternating pairs (direct connect, stream through the guard at `port`), after 20 for warm-up. */
  const measure = async (port: number) => {
    const guardMs: number[] = [], solveMs: number[] = [], directMs: number[] = [], extra: number[] = [];
    for (let i = 0; i < SETUPS + 20; i++) {
      const t0 = performance.now();
      const d = await transport.connect("127.0.0.1", svcPort, nothing);
      const t1 = performance.now();
      d.destroy();
      const t2 = performance.now();
      const g = await openGuarded("127.0.0.1", port, { transport, solver, timeoutMs: 10_000, mode: "same" });
      const t3 = performance.now();
      g.conn.destroy();
      if (i < 20) continue;
      directMs.push(t1 - t0);
      guardMs.push(t3 - t2);
      solveMs.push(g.solveMs);
      extra.push(t3 - t2 - g.solveMs - (t1 - t0));
      await sleep(2);
    }
    return { direct: stats(directMs), guard: stats(guardMs), solve: stats(solveMs), extra: stats(extra) };
  };
  const gPort = await freePort();
  const guard = startGuard(svcPort, gPort, limits);
  await waitListening(gPort);
  const sub = await measure(gPort);
  guard.kill("SIGTERM");
  // The same with the guard in this process: its own cost, without a second process's scheduling delays.
  const { startGuard: startInProcess } = await import("../src/commands/guard.ts");
  const { SERVE_DEFAULTS } = await import("../src/shared/config/schema.ts");
  const local = await startInProcess({
    config: { ...SERVE_DEFAULTS, listen: "127.0.0.1:0", metrics_listen: "", upstream: `127.0.0.1:${svcPort}`, difficulty: 0, adaptive: "off", log_level: "silent",
      challenge_rate: 1e5, challenge_burst: 1e5, solution_rate: 1e5, solution_burst: 1e5, max_outstanding: 1e5 },
    keys: [{ id: "b", secret: new TextEncoder().encode("guard-bench-secret-0123456789abcdef") }],
  });
  const inproc = await measure(local.port);
  await local.close();
  svc.close();
  console.log(`\n### Connection set-up at difficulty 0 (${SETUPS} each, alternating; guard on ${guardRuntime})\n`);
  console.log("| ms | median | p90 | max |\n|---|---|---|---|");
  for (const [name, r] of [[`guard (${guardRuntime}) in its own process`, sub], [`guard in the client's (${transport.name}) process`, inproc]] as const) {
    console.log(`| ${name}: direct connect | ${f3(r.direct.median)} | ${f3(r.direct.p90)} | ${f3(r.direct.max)} |`);
    console.log(`| ${name}: through the guard, until Open | ${f3(r.guard.median)} | ${f3(r.guard.p90)} | ${f3(r.guard.max)} |`);
    console.log(`| ${name}: of which solving | ${f3(r.solve.median)} | ${f3(r.solve.p90)} | ${f3(r.solve.max)} |`);
    console.log(`| ${name}: guard - solve - direct | ${f3(r.extra.median)} | ${f3(r.extra.p90)} | ${f3(r.extra.max)} |`);
  }
  out.setup = { n: SETUPS, subprocess: sub, in_process: inproc };
}

if (!only || only === "queue") {
  const HOLD = 100;
  const svc = await startService(HOLD);
  const gPort = await freePort();
  const guard = startGuard(svc.port, gPort, [
    "--difficulty", "8", "--upstream-max-connections", "2", "--upstream-queue-max", "64", "--upstream-queue-timeout-ms", "30000",
    "--challenge-rate", "100000", "--challenge-burst", "100000", "--solution-rate", "100000", "--solution-burst", "100000", "--max-outstanding", "100000",
  ]);
  await waitListening(gPort);
  const efforts = [0, 4, 8];
  const per = 8;
  let position = 0;
  const results: { effort: number; work: number; queuedMs: number; position: number }[] = [];
  // Every client solves first, then they all send their Solutions within a few ms of each other.
  const clients = efforts.flatMap((effort) =>
    Array.from({ length: per }, async () => {
      const g = await openGuarded("127.0.0.1", gPort, { transport, solver, timeoutMs: 60_000, mode: "same", effort });
      const s = sink();
      g.reader.stream(s);
      const pos = ++position;
      g.conn.closeWrite();
      await s.finished;
      results.push({ effort, work: g.open.effort, queuedMs: g.open.queued_ms, position: pos });
    }),
  );
  await Promise.all(clients);
  guard.kill("SIGTERM");
  svc.server.close();
  console.log(`\n### Priority queue: upstream_max_connections 2, each connection held ${HOLD} ms, ${per} clients per effort, difficulty 8\n`);
  console.log("| effort asked | bits solved (median) | served at position (median) | queued ms: median | max |\n|---|---|---|---|---|");
  for (const e of efforts) {
    const rs = results.filter((r) => r.effort === e);
    const q = stats(rs.map((r) => r.queuedMs));
    console.log(`| +${e} | ${stats(rs.map((r) => r.work)).median} | ${stats(rs.map((r) => r.position)).median} | ${q.median} | ${q.max} |`);
  }
  out.queue = results;
}

await solver.close();
console.log(`\n${JSON.stringify(out)}`);
process.exit(0);
