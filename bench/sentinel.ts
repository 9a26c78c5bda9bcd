/**
 * What Sentinel and the failover fence cost (docs/OPERATIONS.md, "Redis Sentinel"):
 *
 * 1. Handshakes/s of one `wisdom serve` instance on plain `redis://` against one on
 *    `redis+sentinel://` (one primary, one replica, three sentinels: the primary also feeds the
 *    replica), in the same run, the load generator of bench/handshake.ts alternating between them in
 *    turns, the order rotating each round. On Bun the plain URL uses Bun's built-in client and the
 *    Sentinel URL ioredis (the built-in client has no Sentinel); on Deno both use ioredis.
 * 2. The fence's own cost: the batch script (src/shared/store/redis-lua.ts BATCH_LUA) against the same
 *    script without the epoch check, alternating rounds of sequential EVALSHA calls on one redis-server,
 *    one spent-set insertion per call and 64 per call: the caller's round-trip time and Redis's own
 *    time per call (INFO commandstats, reset before each round).
 * 3. For comparison, the alternative not taken: `WAIT 1` after each batch on the Sentinel primary.
 *
 *   npx bun bench/sentinel.ts [--seconds 1] [--rounds 10] [--warmup 4] [--width 64] [--calls 2000] [--valkey]
 *   npx deno run -A bench/sentinel.ts [...]
 *
 * Needs redis-server and redis-sentinel (valkey-server and valkey-sentinel with --valkey):
 * node scripts/ensure-deps.mjs installs them. Prints one JSON line; progress on stderr.
 * @module
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { BATCH_LUA } from "../src/shared/store/redis-lua.ts";
import { runtimeName, runtimeVersion } from "../src/shared/transport/index.ts";
import { freePort } from "../tests/helpers/redis.ts";
import { startSentinelSet } from "../tests/helpers/sentinel.ts";

const HANDSHAKE = fileURLToPath(new URL("./handshake.ts", import.meta.url));
const args = process.argv.slice(2);
const num = (flag: string, dflt: number, ok: (x: number) => boolean, what: string): number => {
  const i = args.indexOf(flag);
  if (i < 0) return dflt;
  const x = Number(args[i + 1]);
  if (!ok(x)) throw new RangeError(`${flag} must be ${what}`);
  return x;
};
const seconds = num("--seconds", 1, (x) => x >= 0.1 && x <= 60, "seconds from 0.1 to 60 (one turn)");
const rounds = num("--rounds", 10, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
const warmup = num("--warmup", 4, (x) => x >= 0, "seconds >= 0");
const width = num("--width", 64, (x) => Number.isInteger(x) && x >= 1 && x <= 4096, "an integer from 1 to 4096");
const calls = num("--calls", 2000, (x) => Number.isInteger(x) && x >= 10, "an integer >= 10");
const flavor = args.includes("--valkey") ? "valkey" : "redis";

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)];
const r2 = (x: number) => Math.round(x * 100) / 100;

function run(argv: string[]): { child: ReturnType<typeof spawn>; firstLine: Promise<string> } {
  const cmd = runtimeName() === "deno" ? [process.execPath, ["run", "-A", HANDSHAKE, ...argv]] : [process.execPath, [HANDSHAKE, ...argv]];
  const child = spawn(cmd[0] as string, cmd[1] as string[], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.once("exit", (code) => reject(new Error(`${argv.slice(0, 2).join(" ")} exited ${code}`)));
  });
  return { child, firstLine };
}

async function startPlain(): Promise<{ url: string; port: number; stop(): void }> {
  const port = await freePort();
  const child = spawn(`${flavor}-server`, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => 50 });
  r.on("error", () => undefined); // refused until the server listens: retried below
  for (let i = 0; i < 100 && r.status !== "ready"; i++) await r.connect().catch(() => new Promise((x) => setTimeout(x, 50)));
  r.disconnect();
  return { url: `redis://127.0.0.1:${port}/0`, port, stop: () => void child.kill("SIGKILL") };
}

/** Handshakes/s: plain redis:// against redis+sentinel://, alternating turns. */
async function throughput(plainUrl: string, sentinelUrl: string) {
  const started: ReturnType<typeof run>[] = [];
  try {
    const start = async (store: string) => {
      const x = run(["server", "gate", store]);
      started.push(x);
      return Number(await x.firstLine);
    };
    const targets = [
      { label: "redis", kind: "gate", ports: [await start(plainUrl)] },
      { label: "sentinel", kind: "gate", ports: [await start(sentinelUrl)] },
    ];
    const cli = run(["client", JSON.stringify(targets), String(seconds * 1000), String(rounds), String(width), String(warmup)]);
    started.push(cli);
    return JSON.parse(await cli.firstLine) as { per_s: Record<string, number[]>; failed: Record<string, number> };
  } finally {
    for (const x of started) if (x.child.exitCode === null) x.child.kill("SIGKILL");
  }
}

/** The batch script without the epoch check: what a batch cost before the fence. */
function withoutFence(lua: string): string {
  const start = lua.indexOf("local info = ");
  const end = lua.indexOf("local out = ");
  if (start < 0 || end < start) throw new Error("bench/sentinel.ts: BATCH_LUA changed shape; update withoutFence()");
  return lua.slice(0, start) + "local fence, raised = 0, 0\n" + lua.slice(end);
}

/** Sequential EVALSHA calls of each script in alternating rounds: µs per call at the caller and inside Redis. */
async function fenceCost(port: number) {
  const r = new Redis({ port, host: "127.0.0.1" });
  const scripts = { fenced: BATCH_LUA, unfenced: withoutFence(BATCH_LUA) };
  const sha: Record<string, string> = {};
  for (const [k, lua] of Object.entries(scripts)) sha[k] = String(await r.script("LOAD", lua));
  const issued = Date.now() + 3_600_000; // after any fence: every insertion is a real SET NX
  let n = 0;
  const result: Record<string, { rtt_us: number[]; redis_us: number[] }> = {};
  for (const ops of [1, 64]) {
    for (const k of Object.keys(scripts)) result[`${k}_${ops}`] = { rtt_us: [], redis_us: [] };
    for (let round = 0; round < rounds + 1; round++) {
      for (const k of round % 2 ? ["fenced", "unfenced"] : ["unfenced", "fenced"]) {
        await r.config("RESETSTAT");
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) {
          const keys = ["bench:epoch"];
          const argv: (string | number)[] = [Date.now() + 2000];
          for (let j = 0; j < ops; j++) keys.push(`bench:spent:${++n}`), argv.push("s", 60_000, issued);
          await r.evalsha(sha[k]!, keys.length, ...keys, ...argv);
        }
        const rtt = ((performance.now() - t0) * 1000) / calls;
        const stats = String(await r.info("commandstats"));
        const us = Number(/cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(stats)?.[1]);
        if (round === 0) continue; // warm-up round
        result[`${k}_${ops}`]!.rtt_us.push(r2(rtt));
        result[`${k}_${ops}`]!.redis_us.push(r2(us));
      }
      await r.call("FLUSHDB");
    }
  }
  r.disconnect();
  const out: Record<string, unknown> = {};
  for (const ops of [1, 64]) {
    const f = result[`fenced_${ops}`]!, u = result[`unfenced_${ops}`]!;
    out[`ops_${ops}`] = {
      rtt_us: { fenced: median(f.rtt_us), unfenced: median(u.rtt_us), added_median: r2(median(f.rtt_us.map((x, i) => x - u.rtt_us[i]!))), added_range: range(f.rtt_us.map((x, i) => r2(x - u.rtt_us[i]!))) },
      redis_us_per_call: { fenced: median(f.redis_us), unfenced: median(u.redis_us), added_median: r2(median(f.redis_us.map((x, i) => x - u.redis_us[i]!))), added_range: range(f.redis_us.map((x, i) => r2(x - u.redis_us[i]!))) },
    };
  }
  return out;
}

/**
 * The alternative not taken (docs/OPERATIONS.md): WAIT 1 after each batch, so a replica holds the marks
 * before the proofs are accepted. Sequential calls of the batch script on the Sentinel set's primary
 * (which has one replica), with and without `WAIT 1 1000` after each, alternating rounds: the caller's µs per call.
 */
async function waitCost(port: number) {
  const r = new Redis({ port, host: "127.0.0.1" });
  const sha = String(await r.script("LOAD", BATCH_LUA));
  const issued = Date.now() + 3_600_000;
  let n = 0;
  const rtt: Record<string, number[]> = { plain: [], wait: [] };
  for (let round = 0; round < rounds + 1; round++) {
    for (const k of round % 2 ? ["wait", "plain"] : ["plain", "wait"]) {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) {
        await r.evalsha(sha, 2, "bench:epoch", `bench:spent:${++n}`, Date.now() + 2000, "s", 60_000, issued);
        if (k === "wait" && Number(await r.call("WAIT", "1", "1000")) < 1) throw new Error("WAIT: the replica did not acknowledge within 1 s");
      }
      if (round > 0) rtt[k]!.push(r2(((performance.now() - t0) * 1000) / calls));
    }
  }
  r.disconnect();
  return { rtt_us: { without: median(rtt.plain!), with_wait: median(rtt.wait!), added_median: r2(median(rtt.wait!.map((x, i) => x - rtt.plain![i]!))), added_range: range(rtt.wait!.map((x, i) => r2(x - rtt.plain![i]!))) } };
}

const plain = await startPlain();
const set = await startSentinelSet(flavor, { auth: false });
try {
  console.error(`bench/sentinel.ts: ${flavor}, plain ${plain.url}, sentinel ${set.url}`);
  const fence = await fenceCost(plain.port);
  console.error(`fence: ${JSON.stringify(fence)}`);
  const wait = await waitCost(await set.primaryPort());
  console.error(`wait: ${JSON.stringify(wait)}`);
  const hs = await throughput(plain.url, set.url);
  const ratios = hs.per_s.sentinel!.map((x, i) => r2(x / hs.per_s.redis![i]!));
  for (const [k, xs] of Object.entries(hs.per_s)) console.error(`${k}: median ${median(xs)} handshakes/s over ${xs.length} turns (${hs.failed[k]} failed)`);
  console.log(JSON.stringify({
    runtime: runtimeName(), runtime_version: runtimeVersion(), flavor, slice_s: seconds, rounds, warmup, width, calls,
    handshakes_per_s: { redis: median(hs.per_s.redis!), sentinel: median(hs.per_s.sentinel!), sentinel_vs_redis: median(ratios), ratios, failed: hs.failed },
    fence,
    wait_1_instead: wait,
  }));
} finally {
  plain.stop();
  await set[Symbol.asyncDispose]();
}
process.exit(0);
