/**
 * Where a gate thread's garbage comes from, per handshake, over the network (Deno: V8's sampling heap
 * profiler with the objects the collector has already freed kept in the profile, so it counts everything
 * allocated, not what is still alive). The gate runs in this process (one thread, difficulty 1, every
 * limit open: bench/_gate-bench-config.ts, as bench/handshake.ts's gate); the native generator (bench/go/loadgen) drives it at --rate
 * handshakes/s; after --warmup seconds the profiler samples for --seconds. Prints one JSON line: bytes
 * allocated per handshake, and the top allocation sites (the innermost frame of the project's source
 * on the stack, and the allocating function). Sites are attributed to the function that allocated as the
 * profiler sees it: an optimized function includes the callees it inlined (add
 * `--v8-flags=--no-turbo-inlining,--no-maglev-inlining` to split them, at some cost in speed).
 *
 *   npx deno run -A bench/handshake-heap-profile.ts [--rate 1500] [--warmup 8] [--seconds 5] [--top 25] [--interval 256]
 *
 * Bun's inspector has no HeapProfiler domain: this bench says so and stops.
 */
import { Session } from "node:inspector";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { pickTransport, runtimeName } from "../src/shared/transport/index.ts";
import { startServer } from "../src/server.ts";
import { buildLoadgen } from "./go/loadgen.ts";
import { BENCH_KEYS, benchGateConfig } from "./_gate-bench-config.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  children: ProfileNode[];
}

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "1500" },
    warmup: { type: "string", default: "8" },
    seconds: { type: "string", default: "5" },
    top: { type: "string", default: "25" },
    interval: { type: "string", default: "256" },
  },
});
const rate = Number(values.rate), warmup = Number(values.warmup), seconds = Number(values.seconds), top = Number(values.top), interval = Number(values.interval);
if (!(rate >= 1 && warmup >= 0 && seconds >= 1 && top >= 1 && interval >= 1)) throw new RangeError("--rate >= 1, --warmup >= 0, --seconds >= 1, --top >= 1, --interval >= 1");
if (runtimeName() === "bun") {
  console.error("bench/handshake-heap-profile.ts: Bun's inspector has no HeapProfiler domain; run it with Deno");
  process.exit(2);
}

const server = await startServer({
  config: benchGateConfig("memory", 1),
  keys: BENCH_KEYS,
  transport: await pickTransport(),
});

// The generator runs through warm-up, sampling and a second to spare, in one-second slices.
const slices = Math.ceil(seconds) + 1;
const gen = spawn(buildLoadgen(), [JSON.stringify([{ label: "gate", kind: "gate", ports: [server.port], rate }]), "1000", String(slices), "64", String(warmup), "0"], { stdio: ["ignore", "pipe", "inherit"] });
let genOut = "";
gen.stdout!.on("data", (d) => (genOut += d));
const genDone = new Promise<void>((r) => gen.on("close", () => r()));

const session = new Session();
session.connect();
const post = <T>(method: string, params: Record<string, unknown> = {}) =>
  new Promise<T>((resolve, reject) => session.post(method, params, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r as T))));

await new Promise((r) => setTimeout(r, warmup * 1000 + 500));
const served0 = server.stats.proofsOk;
await post("HeapProfiler.enable");
await post("HeapProfiler.startSampling", { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
await new Promise((r) => setTimeout(r, seconds * 1000));
const { profile } = await post<{ profile: { head: ProfileNode } }>("HeapProfiler.stopSampling");
const served = server.stats.proofsOk - served0;
session.disconnect();
await genDone;
await server.close();

const sites = new Map<string, number>();
let total = 0;
const name = (f: CallFrame) => `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(src|node_modules|bench)\//, "$1/")}:${f.lineNumber + 1}`;
const walk = (n: ProfileNode, ours: string | null) => {
  const here = /\/src\//.test(n.callFrame.url) ? name(n.callFrame) : ours;
  if (n.selfSize > 0) {
    total += n.selfSize;
    const k = `${here ?? "(runtime)"} <- ${name(n.callFrame)}`;
    sites.set(k, (sites.get(k) ?? 0) + n.selfSize);
  }
  for (const c of n.children) walk(c, here);
};
walk(profile.head, null);
const generator = genOut.trim().split("\n").at(-1) ?? "";
console.log(JSON.stringify({
  runtime: runtimeName(), rate, seconds, handshakes: served, generator_failed: (JSON.parse(generator) as { failed?: Record<string, number> }).failed?.gate ?? null,
  allocated_mb: Number((total / 1048576).toFixed(1)),
  bytes_per_handshake: served > 0 ? Math.round(total / served) : null,
  top: [...sites].sort((a, b) => b[1] - a[1]).slice(0, top).map(([site, bytes]) => ({ site, share: Number((bytes / total).toFixed(3)), bytes_per_handshake: served > 0 ? Math.round(bytes / served) : null })),
}));
process.exit(0);
