/**
 * Handshake throughput: full PoW handshakes/s (connect, challenge, solve at difficulty 1, solution, quote)
 * against `wisdom serve`, compared with a bare TCP server on the same runtime and transport that writes
 * one line and closes. Server and load generator run in separate processes (one core each here).
 *
 *   npx bun bench/handshake.ts [--seconds 5] [--warmup 8] [--rounds 3] [--width 64] [--redis] [--shape]
 *   npx deno run -A bench/handshake.ts [--seconds 5] [--warmup 8] [--rounds 3] [--width 64] [--redis] [--shape]
 *
 * With --redis it also measures two gate instances sharing a Redis store (redis-server on a free port),
 * the load generator alternating between them, against the one-instance memory-store figure.
 * With --shape it also measures "shape": a server that makes the gate's exchange (a signed challenge
 * out, a frame in, a quote out, close) with no work at all (the challenge is minted once, the answer
 * is not read): the most any gate could reach with this runtime, transport and load generator.
 *
 * Internally: `bench/handshake.ts server bare|shape|gate [STORE]` runs a server and prints its port;
 * `bench/handshake.ts client bare|shape|gate PORT[,PORT] SECONDS WIDTH WARMUP` runs the generator and prints one JSON line.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SERVE_DEFAULTS } from "../src/shared/config/schema.ts";
import { mintChallenge } from "../src/shared/pow/challenge.ts";
import { KeyRing } from "../src/shared/pow/keys.ts";
import { FrameDecoder, HEADER_BYTES, MessageType, PROTOCOL_VERSION } from "../src/shared/protocol/frame.ts";
import { encodeChallenge, encodeQuote } from "../src/shared/protocol/messages.ts";
import { pickTransport, runtimeName, runtimeVersion } from "../src/shared/transport/index.ts";
import type { Conn } from "../src/shared/transport/types.ts";
import { startServer } from "../src/server.ts";
import { answerChallenge } from "./answer.ts";

const self = fileURLToPath(import.meta.url);
const [mode, kind, portText, secondsText, widthText, warmupText] = process.argv.slice(2);

async function serve(kind: string, store = "memory"): Promise<void> {
  const t = await pickTransport();
  if (kind === "bare") {
    const line = new TextEncoder().encode("Know thyself. -- Socrates\n");
    const l = await t.listen({ host: "127.0.0.1", port: 0 }, { open: (c: Conn) => (c.write(line), c.end(), null), data() {}, close() {} });
    console.log(l.port);
  } else if (kind === "shape") {
    const ring = new KeyRing([{ id: "bench", secret: new TextEncoder().encode("handshake-bench-secret-0123") }]);
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
    const s = await startServer({
      config: {
        ...SERVE_DEFAULTS, listen: "127.0.0.1:0", metrics_listen: "", difficulty: 1, difficulty_max: 1, log_level: "silent",
        max_connections_per_addr: 1_000_000, max_connections_per_net: 1_000_000, max_outstanding: 1_000_000,
        challenge_rate: 1e6, challenge_burst: 1e6, net_challenge_rate: 1e6, net_challenge_burst: 1e6, solution_rate: 1e6, solution_burst: 1e6,
        escalation_max_bits: 0, store, store_failure: "fail-closed",
      },
      keys: [{ id: "bench", secret: new TextEncoder().encode("handshake-bench-secret-0123") }],
      transport: t,
    });
    console.log(s.port);
  }
  await new Promise(() => {});
}

/** Seconds of load before counting starts (see client()); --warmup. */
let WARMUP_S = 8;

async function client(kind: string, ports: number[], seconds: number, width: number): Promise<void> {
  const t = await pickTransport();
  let done = 0, failed = 0;
  // The first WARMUP_S seconds are not counted: both runtimes' JITs are still compiling the gate's
  // code then, while the bare server's few lines are compiled at once. Steady state is what an
  // operator runs. Measured on Bun (BUN_JSC_reportCompileTimes=1, perf): the JIT thread takes a
  // fifth of a server's CPU for the first seconds; an instance that gets half of the load (two
  // instances sharing Redis) spends 2.9 s compiling (ioredis, node:stream, the gate) over its first
  // 12 s and was still at 10 % after 12 s with a 3 s warm-up.
  const warmUntil = performance.now() + WARMUP_S * 1000;
  const until = warmUntil + seconds * 1000;
  let next = 0;
  const one = () =>
    new Promise<boolean>((resolve) => {
      const port = ports[next++ % ports.length]!;
      let dec: FrameDecoder | undefined;
      let ok = false;
      let conn: Conn;
      t.connect("127.0.0.1", port, {
        open: (c) => (conn = c),
        data: (_s, chunk) => {
          if (kind === "bare") {
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
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (performance.now() < until) {
        const ok = await one();
        if (performance.now() < warmUntil) continue;
        ok ? done++ : failed++;
      }
    }),
  );
  console.log(JSON.stringify({ kind, per_s: Math.round(done / seconds), ok: done, failed }));
  process.exit(0);
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

function run(args: string[]): { child: ReturnType<typeof spawn>; firstLine: Promise<string> } {
  const cmd = runtimeName() === "deno" ? [process.execPath, ["run", "-A", self, ...args]] : [process.execPath, [self, ...args]];
  const child = spawn(cmd[0] as string, cmd[1] as string[], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const firstLine = new Promise<string>((resolve) => child.stdout!.on("data", (d) => {
    out += d;
    if (out.includes("\n")) resolve(out.split("\n")[0]!);
  }));
  return { child, firstLine };
}

async function orchestrate(): Promise<void> {
  const args = process.argv.slice(2);
  const seconds = Number(args[args.indexOf("--seconds") + 1] ?? 5) || 5;
  const width = Number(args[args.indexOf("--width") + 1] ?? 64) || 64;
  const warmup = args.includes("--warmup") ? Number(args[args.indexOf("--warmup") + 1]) : WARMUP_S;
  if (!(warmup >= 0)) throw new RangeError(`--warmup must be a number of seconds >= 0`);
  const rounds = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) : 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--rounds must be a positive integer`);
  const measure = async (label: string, kind: string, stores: string[]): Promise<number> => {
    const servers = stores.map((st) => run(["server", kind, st]));
    const ports = await Promise.all(servers.map((x) => x.firstLine));
    const cli = run(["client", kind, ports.join(","), String(seconds), String(width), String(warmup)]);
    const line = JSON.parse(await cli.firstLine);
    for (const x of servers) if (x.child.pid) process.kill(x.child.pid, "SIGKILL");
    console.error(`${label}: ${line.per_s} connections/s (${line.failed} failed)`);
    return line.per_s;
  };
  // This VM's speed drifts by up to 1.5x over minutes, so the configurations are measured in
  // alternation, `rounds` times, and each ratio is taken within a round (then the median of those).
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const per: Record<string, number[]> = { bare: [], shape: [], gate: [], gate_redis_x1: [], gate_redis_x2: [] };
  const shape = args.includes("--shape");
  const redis = args.includes("--redis") ? await startRedis() : undefined;
  try {
    for (let r = 0; r < rounds; r++) {
      per.bare!.push(await measure("bare", "bare", ["memory"]));
      if (shape) per.shape!.push(await measure("shape", "shape", ["memory"]));
      per.gate!.push(await measure("gate", "gate", ["memory"]));
      if (redis) {
        per.gate_redis_x1!.push(await measure("gate_redis_x1", "gate", [redis.url]));
        per.gate_redis_x2!.push(await measure("gate_redis_x2", "gate", [redis.url, redis.url]));
      }
    }
  } finally {
    redis?.stop();
  }
  const ratios = per.gate!.map((g, i) => round2(g / per.bare![i]!));
  const vsMemory = (k: string) => per[k]!.map((x, i) => round2(x / per.gate![i]!));
  console.log(JSON.stringify({
    runtime: runtimeName(), runtime_version: runtimeVersion(), seconds, warmup, width, rounds,
    bare_per_s: median(per.bare!), gate_handshakes_per_s: median(per.gate!), ratio: median(ratios), ratios,
    ...(shape ? { shape_per_s: median(per.shape!), shape_vs_bare: median(per.shape!.map((x, i) => round2(x / per.bare![i]!))), gate_vs_shape: median(per.gate!.map((g, i) => round2(g / per.shape![i]!))) } : {}),
    ...(redis ? {
      redis_one_instance_per_s: median(per.gate_redis_x1!), redis_one_vs_memory: median(vsMemory("gate_redis_x1")),
      redis_two_instances_per_s: median(per.gate_redis_x2!), redis_vs_memory: median(vsMemory("gate_redis_x2")), redis_vs_memory_rounds: vsMemory("gate_redis_x2"),
    } : {}),
  }));
}

if (mode === "server") await serve(kind!, portText);
else if (mode === "client") WARMUP_S = Number(warmupText), await client(kind!, portText!.split(",").map(Number), Number(secondsText), Number(widthText));
else await orchestrate();
