/**
 * RSS per extra gate thread under sustained load (issue 15). Starts the handshake bench's gate
 * (`bench/handshake.ts server gate memory N`: `serve` at difficulty 1, memory store) with one thread
 * (or --base B) and with --threads N side by side, drives each with its own native generator (bench/go/loadgen, Debian
 * package golang-go) at --rate-per-thread R per event loop (R and N x R handshakes/s) for --seconds S,
 * and reads both servers' RSS from /proc every second. A runtime's heap can keep growing for minutes
 * under steady load (V8 doubles a busy isolate's young generation, runtime/deno-v8-flags.ts), so the
 * figure that counts is the one after that: each server's peak (VmHWM) and its mean RSS over the last
 * quarter of the run, and per extra thread (N threads - B) / (N - B). Also the RSS every 30 s and
 * each server's CPU per handshake (utime + stime of every thread, from /proc/PID/stat), and on Bun the heap
 * governor's forced collections over the run by trigger and their loop time (forced_gc_by_trigger).
 *
 *   npx deno run -A bench/thread-rss.ts [--threads 2] [--base 1] [--seconds 180] [--rate-per-thread 1500] [--deno-v8-flags=none | =--max-semi-space-size=2]
 *   npx bun bench/thread-rss.ts [--threads 2] [--base 1] [--seconds 180] [--rate-per-thread 1500]
 *
 * --base B compares N threads with B instead of one: a one-thread server keeps its spent proofs in the
 * memory store (about 100 bytes a proof, in the heap) where more threads share the spent set (about
 * 20), so `--base 2 --threads 3` gives what one more Worker costs with the same store on both sides.
 *
 * On Deno the servers start with the V8 flags `deno task wisdom` ships (runtime/deno-v8-flags.ts);
 * --deno-v8-flags=none: V8's defaults. Linux only (/proc).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ForcedGc, addForcedGc, parseForcedGc } from "./_forced-gc.ts";
import { buildLoadgen } from "./go/loadgen.ts";
import { statCpuS, statusMb } from "./_proc.ts";
import { denoV8FlagsArg, parseDenoV8Flags } from "../src/shared/runtime/deno-v8-flags.ts";
import { runtimeName, runtimeVersion } from "../src/shared/transport/index.ts";

const handshake = fileURLToPath(new URL("./handshake.ts", import.meta.url));
const { values } = parseArgs({
  options: { threads: { type: "string" }, base: { type: "string" }, seconds: { type: "string" }, "rate-per-thread": { type: "string" }, "deno-v8-flags": { type: "string" } },
});
const int = (v: string | undefined, dflt: number, lo: number, hi: number, flag: string): number => {
  const x = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(x) || x < lo || x > hi) throw new RangeError(`${flag} ${v}: expected an integer from ${lo} to ${hi}`);
  return x;
};
const threads = int(values.threads, 2, 2, 64, "--threads");
const base = int(values.base, 1, 1, threads - 1, "--base");
const seconds = int(values.seconds, 180, 10, 3600, "--seconds");
const rate = int(values["rate-per-thread"], 1500, 1, 100_000, "--rate-per-thread");
const deno = runtimeName() === "deno";
const flags = deno ? parseDenoV8Flags(values["deno-v8-flags"], process.env) : [];
/** Longest wait for a server to print its port. */
const START_MS = 60_000;

/** Every process this bench started: all are killed on the way out, whatever way that is. */
const _children: ChildProcess[] = [];
let _finished = false;

/** Stop everything and exit: a server or generator that failed mid-run leaves figures that mean nothing. */
function _fail(message: string): never {
  _killAll(); // first: writing the message could fail (a closed pipe)
  console.error(`thread-rss: ${message}`);
  process.exit(1);
}

function _killAll(): void {
  _finished = true;
  for (const c of _children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

function _spawn(cmd: string, argv: string[], what: string): ChildProcess {
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
  _children.push(child);
  child.on("error", (err) => _fail(`${what}: ${err.message}`));
  return child;
}

interface Server {
  readonly n: number;
  readonly pid: number;
  readonly port: number;
  /** Everything it has printed so far. */
  readonly out: () => string;
}

/** The server's forced collections so far: it prints them on SIGUSR2 (bench/_forced-gc.ts). */
async function forcedGc(s: Server): Promise<ForcedGc> {
  const lines = () => s.out().split("\n").length;
  const before = lines();
  process.kill(s.pid, "SIGUSR2");
  for (let i = 0; i < 100 && lines() === before; i++) await new Promise((r) => setTimeout(r, 50));
  if (lines() === before) return _fail(`server (${s.n} threads) gave no forced-collection count 5 s after SIGUSR2`);
  try {
    return parseForcedGc(s.out().split("\n").at(-2) ?? "");
  } catch (err) {
    return _fail(`server (${s.n} threads): ${(err as Error).message}`);
  }
}

function startServer(n: number): Promise<Server> {
  const argv = deno ? ["run", "-A", ...denoV8FlagsArg(flags), handshake, "server", "gate", "memory", String(n)] : [handshake, "server", "gate", "memory", String(n)];
  const child = _spawn(process.execPath, argv, `server (${n} threads)`);
  child.on("exit", (c, sig) => {
    if (!_finished) _fail(`server (${n} threads) exited ${c ?? sig}`);
  });
  let out = "";
  return new Promise((resolve) => {
    const timer = setTimeout(() => _fail(`server (${n} threads) printed no port in ${START_MS / 1000} s`), START_MS);
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({ n, pid: child.pid!, port: Number(m[1]), out: () => out });
    });
  });
}

/** One native generator at `perS` handshakes/s on `port` for `seconds`; resolves with its report. */
function drive(loadgen: string, port: number, perS: number): Promise<{ total: number; failed: number }> {
  const targets = [{ label: "g", kind: "gate", ports: [port], rate: perS }];
  const child = _spawn(loadgen, [JSON.stringify(targets), "1000", String(seconds), "64", "0", "0"], "generator");
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  return new Promise((resolve) => {
    // "close", not "exit": the report is its last output, which can still be in the pipe at exit
    child.on("close", (c, sig) => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        const r = JSON.parse(line) as { total: { g: number }; failed: { g: number } };
        if (!(r.total.g > 0) || r.failed.g > r.total.g / 100) return _fail(`generator on port ${port}: ${r.total.g} handshakes, ${r.failed.g} failed`);
        resolve({ total: r.total.g, failed: r.failed.g });
      } catch {
        _fail(`generator exited ${c ?? sig}: ${out}`);
      }
    });
  });
}

const cpuS = (pid: number) => statCpuS(String(pid)).cpu_s;
const r1 = (x: number) => Math.round(x * 10) / 10;

const loadgen = buildLoadgen(); // before any server starts: a missing `go` fails here, naming golang-go
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => _fail(sig));
try {
  const servers = [await startServer(base), await startServer(threads)];
  const rss: number[][] = servers.map(() => []);
  const cpu0 = servers.map((s) => cpuS(s.pid));
  const forced0 = await Promise.all(servers.map(forcedGc));
  const sampler = setInterval(() => {
    try {
      servers.forEach((s, i) => rss[i]!.push(statusMb(s.pid, "VmRSS")));
    } catch (err) {
      _fail(`reading a server's RSS: ${(err as Error).message}`); // it is gone
    }
  }, 1000);
  const reports = await Promise.all(servers.map((s) => drive(loadgen, s.port, rate * s.n)));
  clearInterval(sampler);
  const cpu = servers.map((s, i) => cpuS(s.pid) - cpu0[i]!);
  const forced = (await Promise.all(servers.map(forcedGc))).map((f, i) => {
    const d = addForcedGc(f, forced0[i]!, -1);
    return { ...d, ms: Math.round(d.ms) };
  });
  const peak = servers.map((s) => statusMb(s.pid, "VmHWM"));
  const lastQuarter = rss.map((xs) => xs.slice(Math.floor((xs.length * 3) / 4)));
  const settled = lastQuarter.map((xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
  const perExtra = (xs: number[]) => r1((xs[1]! - xs[0]!) / (threads - base));
  const every30 = rss.map((xs) => xs.filter((_, k) => (k + 1) % 30 === 0).map(r1));
  servers.forEach((s, i) => {
    console.error(`${s.n} thread(s) at ${rate * s.n}/s: RSS every 30 s ${every30[i]!.join(", ")} MB; peak ${r1(peak[i]!)} MB, last quarter ${r1(settled[i]!)} MB; ` +
      `${Math.round((cpu[i]! * 1e6) / Math.max(1, reports[i]!.total))} µs CPU a handshake, ${reports[i]!.failed} failed; ` +
      `forced collections heap/rss/period ${forced[i]!.heap}/${forced[i]!.rss}/${forced[i]!.period}, ${forced[i]!.ms} ms`);
  });
  console.error(`per extra thread: peak +${perExtra(peak)} MB, last quarter +${perExtra(settled)} MB`);
  console.log(JSON.stringify({
    runtime: runtimeName(), runtime_version: runtimeVersion(), ...(deno ? { server_v8_flags: flags.join(",") || "none" } : {}), base_threads: base, threads, seconds, rate_per_thread: rate,
    handshakes: reports.map((r) => r.total), failed: reports.map((r) => r.failed),
    cpu_us_per_handshake: servers.map((_, i) => Math.round((cpu[i]! * 1e6) / Math.max(1, reports[i]!.total))),
    rss_every_30s_mb: every30, peak_rss_mb: peak.map(r1), last_quarter_rss_mb: settled.map(r1),
    per_extra_thread_peak_mb: perExtra(peak), per_extra_thread_last_quarter_mb: perExtra(settled), forced_gc_by_trigger: forced,
  }));
} catch (err) {
  _fail((err as Error).message);
} finally {
  _killAll();
}
process.exit(0);
