/**
 * Handshake throughput: full PoW handshakes/s (connect, challenge, solve at difficulty 1, solution, quote)
 * against `wisdom serve`, compared with a bare TCP server on the same runtime and transport that writes
 * one line and closes. Server and load generator run in separate processes (one core each here).
 *
 *   npx bun bench/handshake.ts [--seconds 1] [--rounds 15] [--warmup 8] [--width 64] [--redis] [--shape]
 *   npx deno run -A bench/handshake.ts [--seconds 1] [--rounds 15] [--warmup 8] [--width 64] [--redis] [--shape] [--deno-v8-flags=none]
 *   npx bun bench/handshake.ts --threads 2 [--rate 1500 | --rate-per-thread 1500] [--client-runtime bun|deno|go] [--processes] [...]   # also `serve --threads 2` vs one thread (issue 15)
 *
 * All servers start at once; one generator process takes them in turns (see client()): --seconds is
 * the length of one turn, --rounds how many turns each gets after --warmup seconds of uncounted load
 * each. Ratios are taken turn by turn (gate vs the bare turn of the same round), then the median.
 *
 * With --redis it also measures two gate instances sharing a Redis store (redis-server on a free port),
 * the load generator alternating between them, against the one-instance memory-store figure.
 * With --shape it also measures "shape": a server that makes the gate's exchange (a signed challenge
 * out, a frame in, a quote out, close) with no work at all (the challenge is minted once, the answer
 * is not read): the most any gate could reach with this runtime, transport and load generator.
 *
 * With --threads N it also measures a gate of N threads (serve/threads.ts) against the one-thread gate:
 * handshakes/s turn by turn, the server process's CPU time per handshake (utime + stime of every
 * thread, from /proc/PID/stat, over the measured rounds after the warm-up), its peak RSS (VmHWM), and
 * each thread name's share of that CPU (cpu_share_by_thread: the gate threads, and the runtime's helpers
 * such as JavaScriptCore's JSCWarmUp and HeapHelper).
 * Every run also gives each gate's forced collections (Bun's heap governor) over the measured rounds, by
 * trigger, with the loop time they took (forced_gc_by_trigger; each gate server prints its count on SIGUSR2).
 * --rate R starts R connections per second (open loop) instead of as many as the server answers: at a
 * rate both servers sustain with time to spare, CPU per handshake compares the work each does per
 * handshake without the cost of more runnable threads than cores (this VM has two, and the generator
 * takes one of them). --rate-per-thread R gives the one-thread gate R/s and the N-thread gate N x R/s: each
 * event loop then runs at the same rate in both (an event loop's CPU per handshake falls as its rate
 * rises: fewer wake-ups per handshake), so the two CPU figures differ only by what threads cost each
 * other (the shared tables, the cache lines they share): the case of a host with a core per thread.
 *
 * On Deno the servers start with the V8 flags `deno task wisdom` ships (runtime/deno-v8-flags.ts: each
 * isolate's young generation capped); --deno-v8-flags=none starts them with V8's defaults, and
 * --deno-v8-flags=A,B with others.
 *
 * --processes also measures N one-thread gate processes as one target (gate_pN; the generator takes their
 * ports in turn, at N x R/s with --rate-per-thread), CPU and switches summed over them and peak RSS the sum
 * of their peaks: N event loops that share nothing, the control for `--threads N`. What N threads cost
 * per handshake beyond N such processes is what the threads themselves cost (the shared tables, the
 * supervision); what both cost beyond one thread is what N busy event loops cost each other on this
 * machine (caches, cores shared with the generator), which a host with a core per loop does not pay.
 *
 * --client-runtime go runs the native generator bench/go/loadgen (Go standard library, one epoll loop
 * on raw sockets; built here with `go build`, Debian package golang-go) instead of client(): the same
 * contract, at a fraction of the CPU per handshake, so that a server sharing the generator's cores is
 * measured rather than the generator. Every run reports the generator's own CPU per handshake
 * (client_cpu_us_per_handshake: utime + stime from its /proc/self/stat over each target's measured
 * slices). With server CPU S and generator CPU G per handshake (G <= S) on this 2-core VM, one server
 * thread tops out at 1/S handshakes/s and the whole machine at 2/(S + G), so two threads can beat one
 * by at most 2S/(S + G): only a generator with G well below S lets `--threads 2` show what a second
 * thread buys.
 *
 * Internally: `bench/handshake.ts server bare|shape|gate [STORE] [THREADS]` runs a server and prints its port;
 * `bench/handshake.ts client TARGETS_JSON SLICE_MS ROUNDS WIDTH WARMUP_S` runs the generator and prints one JSON line.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mintChallenge } from "../src/shared/pow/challenge.ts";
import { KeyRing } from "../src/shared/pow/keys.ts";
import { FrameDecoder, HEADER_BYTES, MessageType, PROTOCOL_VERSION } from "../src/shared/protocol/frame.ts";
import { encodeChallenge, encodeQuote } from "../src/shared/protocol/messages.ts";
import { pickTransport, runtimeName, runtimeVersion } from "../src/shared/transport/index.ts";
import type { Conn } from "../src/shared/transport/types.ts";
import { type ServerOptions, startServer } from "../src/server.ts";
import { createLogger } from "../src/shared/observe/logger.ts";
import { startThreads } from "../src/shared/serve/threads.ts";
import { readdirSync, readFileSync } from "node:fs";
import { answerChallenge } from "./answer.ts";
import { BENCH_KEYS, benchGateConfig } from "./_gate-bench-config.ts";
import { type ForcedGc, addForcedGc, forcedGcOf, parseForcedGc } from "./_forced-gc.ts";
import { buildLoadgen } from "./go/loadgen.ts";
import { statCpuS, statusMb } from "./_proc.ts";
import { denoV8FlagsArg, parseDenoV8Flags } from "../src/shared/runtime/deno-v8-flags.ts";

const self = fileURLToPath(import.meta.url);
const [mode, ...rest] = process.argv.slice(2); // see the end of the file

async function serve(kind: string, store = "memory", threads = 1): Promise<void> {
  const t = await pickTransport();
  if (kind === "bare") {
    const line = new TextEncoder().encode("Know thyself. -- Socrates\n");
    const l = await t.listen({ host: "127.0.0.1", port: 0 }, { open: (c: Conn) => (c.write(line), c.end(), null), data() {}, close() {} });
    console.log(l.port);
  } else if (kind === "shape") {
    const ring = new KeyRing(BENCH_KEYS);
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    const challenge = encodeChallenge(mintChallenge(ring, { bits: 1, nowMs: Date.now(), ttlMs: 3_600_000, addr: "127.0.0.1", nonce, windowMs: 5000 }));
    const quote = encodeQuote({ quote: "Know thyself.", author: "Socrates", source: "embedded" });
    const l = await t.listen({ host: "127.0.0.1", port: 0 }, {
      open: (c: Conn) => (c.write(challenge), c),
      data: (c: Conn) => (c.write(quote), c.end()),
      close() {},
    });
    console.log(l.port);
  } else {
    const start = threads > 1 ? (o: ServerOptions) => startThreads({ ...o, threads, logger: createLogger({ format: "json", level: "warn", write: (l) => void process.stderr.write(l) }) }, startServer) : startServer;
    const s = await start({
      config: benchGateConfig(store, threads),
      keys: BENCH_KEYS,
      transport: t,
    });
    // SIGUSR2: one JSON line, the heap governor's forced collections so far by trigger and their loop time
    // (every thread's: the main thread's /metrics sums them), for forced_gc_by_trigger; the reader checks it.
    // Bound before the port is printed: the orchestrator may signal as soon as it has read it.
    process.on("SIGUSR2", () => void s.metrics.render().then((text) => forcedGcOf(text)).then(
      (f) => console.log(JSON.stringify(f)),
      (err: Error) => console.log(JSON.stringify({ error: err.message })),
    ));
    console.log(s.port);
  }
  await new Promise(() => {});
}

/** One configuration the generator loads: a server kind and the port(s) it alternates between. */
interface Target {
  label: string;
  kind: string;
  ports: number[];
  /** Connections started per second (open loop); absent: the client's --rate. */
  rate?: number;
}

/**
 * The load generator: `width` connections in flight, one after another each, against one target at a
 * time. Targets take turns in slices of `sliceMs`: a slice starts no new connection after its time is
 * up, waits for those in flight, and counts handshakes per second over its whole length (drain included).
 * First every target gets `warmupS` seconds of uncounted load, in the same turns: both runtimes' JITs
 * are still compiling the gate's code then, while the bare server's few lines are compiled at once
 * (measured on Bun, BUN_JSC_reportCompileTimes=1 and perf: the JIT thread takes a fifth of a server's
 * CPU for its first seconds). Then `rounds` rounds, each target once per round, the order rotating.
 *
 * Why turns in one process rather than one run per configuration: this VM's speed drifts by up to
 * 1.5x within minutes, so configurations compared seconds apart, by the same warm generator, give
 * ratios that separate runs minutes apart cannot.
 */
async function client(targets: Target[], sliceMs: number, rounds: number, width: number, warmupS: number, ratePerS = 0): Promise<void> {
  const t = await pickTransport();
  const one = (target: Target, port: number) =>
    new Promise<boolean>((resolve) => {
      const bare = target.kind === "bare";
      let dec: FrameDecoder | undefined;
      let ok = false;
      let conn: Conn;
      t.connect("127.0.0.1", port, {
        open: (c) => (conn = c),
        data: (_s, chunk) => {
          if (bare) {
            ok = true;
            return;
          }
          // The generator skips schema validation (the server's replies are trusted here) to spend
          // its core on connections rather than on checking its own test traffic. On loopback a
          // frame nearly always arrives whole, in a chunk of its own: then no decoder is built.
          if (dec === undefined && chunk.length >= HEADER_BYTES && chunk[0] === PROTOCOL_VERSION && chunk.length === HEADER_BYTES + ((chunk[2]! << 8) | chunk[3]!)) {
            if (chunk[1] === MessageType.Challenge) conn.write(answerChallenge(chunk.subarray(HEADER_BYTES)));
            else ok = chunk[1] === MessageType.Quote;
            return;
          }
          for (const f of (dec ??= new FrameDecoder()).push(chunk)) {
            if (f.type === MessageType.Challenge) conn.write(answerChallenge(f.payload));
            else ok = f.type === MessageType.Quote;
          }
        },
        close: () => resolve(ok),
      }).catch(() => resolve(false));
    });
  /** One slice against `target`: [handshakes per second, failed]. */
  const total: Record<string, number> = {};
  const slice = async (target: Target): Promise<[number, number]> => {
    let done = 0, failed = 0, next = 0;
    const t0 = performance.now();
    const until = t0 + sliceMs;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (performance.now() < until) {
          const k = next++;
          const rate = target.rate ?? ratePerS;
          if (rate > 0) {
            // Open loop at a fixed rate (--rate): connection k starts at t0 + k / rate, not before.
            const wait = t0 + (k * 1000) / rate - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            if (performance.now() >= until) break;
          }
          (await one(target, target.ports[k % target.ports.length]!)) ? done++ : failed++;
        }
      }),
    );
    total[target.label] = (total[target.label] ?? 0) + done;
    return [(done * 1000) / (performance.now() - t0), failed];
  };
  const warmSlices = Math.ceil((warmupS * 1000) / sliceMs);
  for (let i = 0; i < warmSlices; i++) for (const target of targets) await slice(target);
  for (const k of Object.keys(total)) delete total[k]; // totals count the measured rounds only
  console.log("warm"); // the orchestrator reads the servers' CPU time from here on
  const perS: Record<string, number[]> = {}, failed: Record<string, number> = {}, cpuS: Record<string, number> = {}, sysS: Record<string, number> = {};
  for (const target of targets) (perS[target.label] = []), (failed[target.label] = 0), (cpuS[target.label] = 0), (sysS[target.label] = 0);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < targets.length; k++) {
      const target = targets[(r + k) % targets.length]!;
      const c0 = _selfCpu();
      const [rate, bad] = await slice(target);
      const c1 = _selfCpu();
      cpuS[target.label]! += c1[0] - c0[0];
      sysS[target.label]! += c1[1] - c0[1];
      perS[target.label]!.push(Math.round(rate));
      failed[target.label]! += bad;
    }
  }
  console.log(JSON.stringify({ per_s: perS, failed, total, cpu_s: cpuS, sys_s: sysS }));
  process.exit(0);
}

/** This process's CPU seconds [utime + stime, stime] (every thread) from /proc/self/stat, as _proc() reads a server's; 0 without /proc. */
function _selfCpu(): [number, number] {
  try {
    const c = statCpuS("self");
    return [c.cpu_s, c.sys_s];
  } catch {
    return [0, 0];
  }
}

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const net = await import("node:net");
  const port = await new Promise<number>((r) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, "127.0.0.1", () => (s.destroy(), r(true)));
      s.on("error", () => r(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}/0`, stop: () => void (child.pid && process.kill(child.pid, "SIGKILL")) };
}

function run(args: string[], runtime: string = runtimeName(), denoFlags: readonly string[] = []): { child: ReturnType<typeof spawn>; firstLine: Promise<string>; line: (n: number) => Promise<string> } {
  const exe = runtime === "go" ? "" : runtime === runtimeName() ? process.execPath : fileURLToPath(new URL(`../node_modules/.bin/${runtime}`, import.meta.url));
  // The Go generator takes the client's arguments without the "client" mode word.
  const cmd = runtime === "go" ? [buildLoadgen(), args.slice(1)] : runtime === "deno" ? [exe, ["run", "-A", ...denoV8FlagsArg(denoFlags), self, ...args]] : [exe, [self, ...args]];
  const child = spawn(cmd[0] as string, cmd[1] as string[], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const waiters: { n: number; resolve: (s: string) => void }[] = [];
  child.stdout!.on("data", (d) => {
    out += d;
    const lines = out.split("\n");
    for (const w of [...waiters]) if (lines.length > w.n + 1) (waiters.splice(waiters.indexOf(w), 1), w.resolve(lines[w.n]!));
  });
  /** Line `n` (from 0) of the child's stdout, once it is complete. */
  const line = (n: number) => new Promise<string>((resolve) => {
    const lines = out.split("\n");
    if (lines.length > n + 1) resolve(lines[n]!);
    else waiters.push({ n, resolve });
  });
  return { child, firstLine: line(0), line };
}

async function orchestrate(): Promise<void> {
  const args = process.argv.slice(2);
  const num = (flag: string, dflt: number, ok: (x: number) => boolean, what: string): number => {
    const i = args.indexOf(flag);
    if (i < 0) return dflt;
    const x = Number(args[i + 1]);
    if (!ok(x)) throw new RangeError(`${flag} must be ${what}`);
    return x;
  };
  const seconds = num("--seconds", 1, (x) => x >= 0.1 && x <= 60, "a number of seconds from 0.1 to 60 (one slice)");
  const rounds = num("--rounds", 15, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
  const width = num("--width", 64, (x) => Number.isInteger(x) && x >= 1 && x <= 4096, "an integer from 1 to 4096");
  const warmup = num("--warmup", 8, (x) => x >= 0, "a number of seconds >= 0");
  const shape = args.includes("--shape");
  const threads = num("--threads", 1, (x) => Number.isInteger(x) && x >= 1 && x <= 64, "an integer from 1 to 64");
  const processes = args.includes("--processes");
  if (processes && threads < 2) throw new RangeError("--processes needs --threads N (N >= 2): it measures N one-thread processes");
  const rate = num("--rate", 0, (x) => x >= 0, "a number of handshakes per second >= 0 (0: as fast as the server answers)");
  // --rate-per-thread R: the one-thread gate gets R/s and the N-thread gate N x R/s, so that every event
  // loop runs at the same rate in both: CPU per handshake then compares what threads cost each other.
  const perThread = num("--rate-per-thread", 0, (x) => x >= 0, "a number of handshakes per second >= 0");
  // --client-runtime bun|deno|go: the load generator's runtime (default: the servers'). A Deno server next
  // to a Deno generator on two cores is bound by the generator's core; Bun's generator leaves it more,
  // the native Go generator (bench/go/loadgen) most.
  const ci = args.indexOf("--client-runtime");
  const clientRuntime = ci < 0 ? runtimeName() : args[ci + 1]!;
  if (clientRuntime !== "bun" && clientRuntime !== "deno" && clientRuntime !== "go") throw new RangeError("--client-runtime must be bun, deno or go");
  if (clientRuntime === "go") buildLoadgen(); // before any server starts: a missing `go` fails here, naming golang-go
  // --deno-v8-flags: the V8 flags of the Deno servers (default: what `deno task wisdom` ships, runtime/deno-v8-flags.ts; "none": V8's own)
  // Only the "=" form, as the benches built on parseArgs take it: a value starts with a dash.
  if (args.includes("--deno-v8-flags")) throw new RangeError("--deno-v8-flags: write --deno-v8-flags=none or --deno-v8-flags=--flag,...");
  const flagsValue = args.find((a) => a.startsWith("--deno-v8-flags="))?.slice("--deno-v8-flags=".length);
  const serverFlags = runtimeName() !== "deno" ? [] : parseDenoV8Flags(flagsValue, process.env);
  const redis = args.includes("--redis") ? await startRedis() : undefined;
  const started: ReturnType<typeof run>[] = [];
  const pids: Record<string, number[]> = {};
  const gates: Record<string, ReturnType<typeof run>[]> = {};
  const start = async (kind: string, store = "memory", label?: string, nThreads = 1) => {
    const x = run(["server", kind, store, String(nThreads)], runtimeName(), serverFlags);
    started.push(x);
    if (label && x.child.pid) (pids[label] ??= []).push(x.child.pid);
    if (label) (gates[label] ??= []).push(x);
    return Number(await x.firstLine);
  };
  let out: { per_s: Record<string, number[]>; failed: Record<string, number>; total: Record<string, number>; cpu_s?: Record<string, number>; sys_s?: Record<string, number> };
  const cpu0: Record<string, ReturnType<typeof _proc>> = {};
  let machine0: ReturnType<typeof _machineBusy> = null, machine1: ReturnType<typeof _machineBusy> = null, serversAll = 0;
  const procs: Record<string, { cpu_s: number; sys_s: number; peak_rss_mb: number; switches: number; by_thread: Record<string, number> }> = {};
  const forced: Record<string, ForcedGc> = {};
  try {
    const targets: Target[] = [
      { label: "bare", kind: "bare", ports: [await start("bare")] },
      ...(shape ? [{ label: "shape", kind: "shape", ports: [await start("shape")] }] : []),
      { label: "gate", kind: "gate", ports: [await start("gate", "memory", "gate")], ...(perThread > 0 ? { rate: perThread } : {}) },
      ...(threads > 1 ? [{ label: `gate_t${threads}`, kind: "gate", ports: [await start("gate", "memory", `gate_t${threads}`, threads)], ...(perThread > 0 ? { rate: perThread * threads } : {}) }] : []),
      ...(processes ? [{ label: `gate_p${threads}`, kind: "gate", ports: await Promise.all(Array.from({ length: threads }, () => start("gate", "memory", `gate_p${threads}`))), ...(perThread > 0 ? { rate: perThread * threads } : {}) }] : []),
      ...(redis ? [
        { label: "gate_redis_x1", kind: "gate", ports: [await start("gate", redis.url)] },
        { label: "gate_redis_x2", kind: "gate", ports: [await start("gate", redis.url), await start("gate", redis.url)] },
      ] : []),
    ];
    const cli = run(["client", JSON.stringify(targets), String(seconds * 1000), String(rounds), String(width), String(warmup), String(rate)], clientRuntime);
    await cli.line(0); // "warm": the JITs have compiled the hot paths; count CPU from here
    // Each gate's forced collections so far (line 1 of its stdout, after the port), then at the end (line 2):
    // read outside the CPU window (before it starts and after it ends), so the renders are not counted.
    const forcedAt = (n: number) => Promise.all(Object.entries(gates).map(async ([k, xs]) => {
      // process.kill, not child.kill: Deno's ChildProcess sends one signal only (a second kill() returns false).
      const answer = (x: ReturnType<typeof run>) => new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${k}: no forced-collection count 10 s after SIGUSR2`)), 10_000);
        void x.line(n).then((l) => (clearTimeout(timer), resolve(l)));
      });
      const lines = await Promise.all(xs.map((x) => (process.kill(x.child.pid!, "SIGUSR2"), answer(x))));
      return [k, lines.map(parseForcedGc).reduce((a, b) => addForcedGc(a, b))] as const;
    }));
    const forced0 = Object.fromEntries(await forcedAt(1));
    for (const [k, ps] of Object.entries(pids)) cpu0[k] = _procs(ps);
    const serversCpu = () => started.reduce((a, x) => a + (x.child.pid ? _proc(x.child.pid).cpu_s : 0), 0) + _selfCpu()[0];
    machine0 = _machineBusy();
    const servers0 = serversCpu();
    out = JSON.parse(await cli.line(1));
    machine1 = _machineBusy();
    serversAll = serversCpu() - servers0;
    for (const [k, ps] of Object.entries(pids)) {
      const p = _procs(ps);
      // (threads alive at the end only: one that ended during the rounds takes its CPU with it, hence the floor at 0)
      const byThread = Object.fromEntries(Object.entries(p.by_thread).map(([name, s]) => [name, Math.max(0, s - (cpu0[k]!.by_thread[name] ?? 0))]));
      procs[k] = { cpu_s: p.cpu_s - cpu0[k]!.cpu_s, sys_s: p.sys_s - cpu0[k]!.sys_s, peak_rss_mb: p.peak_rss_mb, switches: p.switches - cpu0[k]!.switches, by_thread: byThread };
    }
    for (const [k, f] of await forcedAt(2)) forced[k] = addForcedGc(f, forced0[k]!, -1);
  } finally {
    for (const x of started) if (x.child.pid) process.kill(x.child.pid, "SIGKILL");
    redis?.stop();
  }
  const per = out.per_s;
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  const round2 = (x: number) => Math.round(x * 100) / 100;
  // How busy the whole machine was over the measured rounds, in cores: this benchmark's processes (every
  // server, the generator, this one) and everything else on it (other jobs on a shared VM): a run whose
  // "others" is far from 0 compared configurations that shared their cores with strangers.
  const ours = serversAll + Object.values(out.cpu_s ?? {}).reduce((a, b) => a + b, 0);
  const noise = machine0 && machine1 && machine1.s > machine0.s ? ((busy: number, wall: number) => ({
    all: Math.round((busy / wall) * 100) / 100, measured: Math.round((ours / wall) * 100) / 100, others: Math.round(((busy - ours) / wall) * 100) / 100,
  }))(machine1.busy_s - machine0.busy_s, machine1.s - machine0.s) : undefined;
  const perHandshake = (secs: Record<string, number>) => Object.fromEntries(Object.entries(secs).map(([k, s]) => [k, Math.round((s * 1e6) / Math.max(1, out.total[k] ?? 0))]));
  const vs = (k: string, base: string) => per[k]!.map((x, i) => round2(x / per[base]![i]!));
  for (const [k, xs] of Object.entries(per)) console.error(`${k}: median ${median(xs)} handshakes/s over ${xs.length} slices (${out.failed[k]} failed)`);
  const ratios = vs("gate", "bare");
  console.log(JSON.stringify({
    runtime: runtimeName(), runtime_version: runtimeVersion(), client_runtime: clientRuntime, slice_s: seconds, warmup, width, rounds,
    ...(runtimeName() === "deno" ? { server_v8_flags: serverFlags.join(",") || "none" } : {}),
    bare_per_s: median(per.bare!), gate_handshakes_per_s: median(per.gate!), ratio: median(ratios), ratios, failed: out.failed,
    // The generator's own CPU per handshake (or per bare connection), over each target's measured slices.
    ...(out.cpu_s ? { client_cpu_us_per_handshake: perHandshake(out.cpu_s) } : {}),
    ...(out.sys_s ? { client_sys_us_per_handshake: perHandshake(out.sys_s) } : {}),
    ...(noise ? { machine_cores_busy: noise } : {}),
    // the heap governor's forced collections over the measured rounds, by trigger, and the loop time they took (Bun; 0 on Deno)
    forced_gc_by_trigger: Object.fromEntries(Object.entries(forced).map(([k, f]) => [k, { ...f, ms: Math.round(f.ms) }])),
    ...(shape ? { shape_per_s: median(per.shape!), shape_vs_bare: median(vs("shape", "bare")), gate_vs_shape: median(vs("gate", "shape")) } : {}),
    ...(threads > 1 ? {
      threads, [`gate_t${threads}_per_s`]: median(per[`gate_t${threads}`]!), threads_vs_one: median(vs(`gate_t${threads}`, "gate")), threads_vs_one_rounds: vs(`gate_t${threads}`, "gate"),
      cpu_us_per_handshake: Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, Math.round((p.cpu_s * 1e6) / Math.max(1, out.total[k] ?? 0))])),
      sys_us_per_handshake: Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, Math.round((p.sys_s * 1e6) / Math.max(1, out.total[k] ?? 0))])),
      context_switches_per_handshake: Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, Math.round((p.switches * 100) / Math.max(1, out.total[k] ?? 0)) / 100])),
      peak_rss_mb: Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.peak_rss_mb])),
      // each thread name's share of the server's CPU over the measured rounds (names with 1 % or more)
      cpu_share_by_thread: Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, Object.fromEntries(Object.entries(p.by_thread)
        .filter(([, s]) => s / Math.max(1e-9, p.cpu_s) >= 0.01).sort((a, b) => b[1] - a[1]).map(([name, s]) => [name, round2(s / Math.max(1e-9, p.cpu_s))]))])),
    } : {}),
    ...(redis ? {
      redis_one_instance_per_s: median(per.gate_redis_x1!), redis_one_vs_memory: median(vs("gate_redis_x1", "gate")),
      redis_two_instances_per_s: median(per.gate_redis_x2!), redis_vs_memory: median(vs("gate_redis_x2", "gate")), redis_vs_memory_rounds: vs("gate_redis_x2", "gate"),
    } : {}),
  }));
}

/** CPU seconds every core of the machine has been busy (not idle, not waiting for I/O), from /proc/stat, with a wall-clock time; null without /proc. */
function _machineBusy(): { busy_s: number; s: number } | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
    return { busy_s: (total - f[3]! - f[4]!) / 100, s: performance.now() / 1000 };
  } catch {
    return null;
  }
}

/** _proc() summed over processes: CPU, switches and each thread name's CPU; peak RSS the sum of their peaks. */
function _procs(pids: readonly number[]): ReturnType<typeof _proc> {
  const all = pids.map(_proc);
  const byThread: Record<string, number> = {};
  for (const p of all) for (const [name, s] of Object.entries(p.by_thread)) byThread[name] = (byThread[name] ?? 0) + s;
  const sum = (f: (p: ReturnType<typeof _proc>) => number) => all.reduce((a, p) => a + f(p), 0);
  return { cpu_s: sum((p) => p.cpu_s), sys_s: sum((p) => p.sys_s), peak_rss_mb: sum((p) => p.peak_rss_mb), switches: sum((p) => p.switches), by_thread: byThread };
}

/** CPU seconds (every thread) and peak RSS of a process, from /proc (Linux). */
function _proc(pid: number): { cpu_s: number; sys_s: number; peak_rss_mb: number; switches: number; by_thread: Record<string, number> } {
  const cpu = statCpuS(String(pid));
  // Context switches of every thread of the process.
  // CPU seconds by thread name too (the runtime's helpers: JavaScriptCore's JSCWarmUp and HeapHelper, V8's workers).
  let switches = 0;
  const byThread: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ts = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
      switches += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(ts)?.[1] ?? 0) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(ts)?.[1] ?? 0);
      const name = /^Name:\s+(.*)$/m.exec(ts)?.[1]?.trim() ?? "?";
      byThread[name] = (byThread[name] ?? 0) + statCpuS(`${pid}/task/${tid}`).cpu_s;
    } catch {
      // the thread ended while read
    }
  }
  return { ...cpu, peak_rss_mb: Math.round(statusMb(pid, "VmHWM") || 0), switches, by_thread: byThread };
}

if (mode === "server") await serve(rest[0]!, rest[1], Number(rest[2] ?? 1));
else if (mode === "client") await client(JSON.parse(rest[0]!) as Target[], Number(rest[1]), Number(rest[2]), Number(rest[3]), Number(rest[4]), Number(rest[5] ?? 0));
else await orchestrate();
