/**
 * The defence under attack, measured: starts `wisdom serve` (defence on, then off) and runs `wisdom load`
 * against it: a rest phase (honest clients alone, the baseline), then the attack phase with slowloris
 * holding N connections plus flood, junk, replay, forge, wrong answers (and, with --spam-threads K, a
 * solving flood on K threads) and the same honest clients. Prints one JSON line per run and a Markdown
 * table: honest p99 at rest and under attack and their ratio, the difficulty honest clients saw, the
 * server's own handshake p50/p99 per phase (every connection, and the served ones) from its /metrics,
 * the difficulty changes with the seconds since the attack began, and the server's peak RSS.
 * Loopback only; bounded in time.
 *
 *   npx bun bench/attack.ts [--rest 10] [--duration 30] [--slowloris 5000] [--rate 2] [--sources 5000]
 *                           [--spam-threads 0] [--legit-threads 1] [--only on|off] [--profiles LIST]
 *                           [--split] [--attack-nice N] [--attack-cpu CPU] [--serve-args="--difficulty 16 ..."]
 *                           [--serve-bin dist/wisdom] [--serve-runtime bun|deno] [--deno-v8-flags=none]
 *
 * On one machine the attack generator, the server and the honest clients share the cores, so part of
 * any honest slowdown is CPU contention, not the server. --split runs the honest clients in their own
 * `wisdom load` process; --attack-nice N runs the attack's process at nice N and --attack-cpu pins it to
 * one CPU (taskset), which approximate an attacker on other hardware. The table says which was used.
 * --serve-runtime deno runs the server from source on Deno (`deno run -A`) instead of on Bun, with the V8
 * flags `deno task wisdom` ships (runtime/deno-v8-flags.ts; --deno-v8-flags=none: V8's defaults).
 *
 * Besides the load tool's RSS peak (VmRSS), the server's /proc/PID/smaps_rollup is read every 200 ms:
 * server_anon_max_mb is the peak of its anonymous memory (heaps, malloc, stacks: what the process itself
 * allocated) and server_file_at_peak_mb the file-backed pages (the executable's own pages, shared and
 * reclaimable) at the RSS peak.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { denoV8FlagsArg, parseDenoV8Flags } from "../src/shared/runtime/deno-v8-flags.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const { values } = parseArgs({
  options: {
    rest: { type: "string" },
    duration: { type: "string" },
    slowloris: { type: "string" },
    rate: { type: "string" },
    only: { type: "string" },
    sources: { type: "string" },
    profiles: { type: "string" },
    "spam-threads": { type: "string" },
    "legit-threads": { type: "string" },
    split: { type: "boolean" },
    "attack-nice": { type: "string" },
    "attack-cpu": { type: "string" },
    "serve-args": { type: "string" },
    "serve-bin": { type: "string" },
    "serve-runtime": { type: "string" },
    "deno-v8-flags": { type: "string" },
    "flood-width": { type: "string" },
  },
});
// Source addresses per attack profile: 5000 spreads them over 20 IPv4 /24s, so the per-network caps
// (512 connections) let slowloris actually hold its connections, as a botnet would.
const sources = values.sources ?? "5000";
const rest = values.rest ?? "10";
const duration = values.duration ?? "30";
const slow = values.slowloris ?? "5000";
const rate = values.rate ?? "2";
const spamThreads = Number(values["spam-threads"] ?? 0);
const legitThreads = values["legit-threads"] ?? "1";
const floodWidth = values["flood-width"] ?? "256";
const split = values.split === true || values["attack-nice"] !== undefined || values["attack-cpu"] !== undefined;
const serveArgs = (values["serve-args"] ?? "").split(/\s+/).filter((x) => x !== "");

interface Server {
  pid: number;
  port: number;
  metricsPort: number;
  stop(): Promise<string>;
}

function startServer(defence: "on" | "off"): Promise<Server> {
  const args = ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-format", "json", "--defence", defence, ...serveArgs];
  // --serve-bin: a compiled binary (dist/wisdom) instead of src/main.ts on this runtime
  const bin = values["serve-bin"];
  const deno = values["serve-runtime"] === "deno";
  if (values["serve-runtime"] !== undefined && !["bun", "deno"].includes(values["serve-runtime"])) throw new Error("--serve-runtime: bun or deno");
  const [cmd, ...argv] = bin ? [bin, ...args] : deno ? [fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url)), "run", "-A", ...denoV8FlagsArg(parseDenoV8Flags(values["deno-v8-flags"], process.env)), main, ...args] : [process.execPath, main, ...args];
  const child = spawn(cmd!, argv, {
    cwd: root,
    env: { ...process.env, WISDOM_SECRET: "attack-bench-secret-0123456789" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d) => {
      log += d;
      const m = /"msg":"listening","address":"127\.0\.0\.1:(\d+)","metrics":"127\.0\.0\.1:(\d+)"/.exec(log);
      if (m) {
        resolve({
          pid: child.pid!,
          port: Number(m[1]),
          metricsPort: Number(m[2]),
          stop: () =>
            new Promise<string>((r) => {
              child.on("exit", () => r(log));
              process.kill(child.pid!, "SIGKILL");
            }),
        });
      }
    });
    child.on("exit", (c) => reject(new Error(`server exited ${c}: ${log}`)));
  });
}

/** One `wisdom load` process: the rest phase, then every profile at once. `wrap`: nice/taskset in front. */
function runLoad(srv: Server, profiles: string, opts: { metrics: boolean; wrap?: string[] }): Promise<Record<string, unknown>> {
  const args = [main, "load", `127.0.0.1:${srv.port}`, "--profile", profiles, "--rest", rest, "--duration", duration, "--slowloris", slow, "--rate", rate,
    "--legit-threads", legitThreads, "--sources", sources, "--flood-width", floodWidth, "--json"];
  if (opts.metrics) args.push("--server-pid", String(srv.pid), "--metrics", `http://127.0.0.1:${srv.metricsPort}/metrics`);
  if (spamThreads > 0 && profiles.includes("spam")) args.push("--spam-threads", String(spamThreads));
  const [cmd, ...rest_] = [...(opts.wrap ?? []), process.execPath, ...args];
  const child = spawn(cmd!, rest_, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => child.on("exit", (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${c}`)))));
}

const attackProfiles = (values.profiles ?? ["slowloris", "flood", "junk", "replay", "forge", "wrong", ...(spamThreads > 0 ? ["spam"] : [])].join(",")).split(",");
const wrap = [
  ...(values["attack-cpu"] !== undefined ? ["taskset", "-c", values["attack-cpu"]] : []),
  ...(values["attack-nice"] !== undefined ? ["nice", "-n", values["attack-nice"]] : []),
];
const ATTACK_KEYS = ["attack_accepted", "replays_accepted", "forgeries_accepted", "wrong_accepted", "attacks", "attack_difficulty_max",
  "spam_threads", "spam_quotes", "spam_solves", "spam_hashes", "spam_solver_hps", "spam_difficulty_min", "spam_difficulty_max"];
/** Valid proofs per second and the difficulty, read off the server's /metrics once a second. */
function pollServer(srv: Server): { stop(): { t: number; valid_per_s: number; difficulty: number }[] } {
  const out: { t: number; valid_per_s: number; difficulty: number }[] = [];
  let last: { at: number; verified: number } | null = null;
  const num = (text: string, name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, "m").exec(text)?.[1] ?? NaN);
  const timer = setInterval(async () => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${srv.metricsPort}/metrics`)).text();
      const now = { at: Date.now(), verified: num(text, "wisdom_proofs_verified_total") };
      if (last) out.push({ t: now.at, valid_per_s: Math.round(((now.verified - last.verified) / (now.at - last.at)) * 10_000) / 10, difficulty: num(text, "wisdom_difficulty") });
      last = now;
    } catch {
      // a missed second
    }
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return out;
    },
  };
}

/** Peaks of the server's memory by kind, from /proc/PID/smaps_rollup every 200 ms (Linux). */
function pollSmaps(pid: number): { stop(): Record<string, number | null> } {
  let peakRss = 0, peakAnon = 0, fileAtPeak = 0, anonAtPeak = 0, privAtPeak = 0, peakPriv = 0, firstRss = 0, peakHuge = 0;
  const poll = () => {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    } catch {
      return;
    }
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
    const rss = kb("Rss"), anon = kb("Anonymous"), priv = kb("Private_Clean") + kb("Private_Dirty");
    if (firstRss === 0) firstRss = rss;
    peakHuge = Math.max(peakHuge, kb("AnonHugePages"));
    peakAnon = Math.max(peakAnon, anon);
    peakPriv = Math.max(peakPriv, priv);
    if (rss > peakRss) [peakRss, anonAtPeak, fileAtPeak, privAtPeak] = [rss, anon, rss - anon, priv];
  };
  poll();
  const timer = setInterval(poll, 200);
  const mb = (x: number) => (x > 0 ? Math.round(x / 102.4) / 10 : null);
  return {
    stop() {
      clearInterval(timer);
      return {
        server_smaps_rss_max_mb: mb(peakRss), server_anon_max_mb: mb(peakAnon), server_private_max_mb: mb(peakPriv),
        server_anon_at_peak_mb: mb(anonAtPeak), server_file_at_peak_mb: mb(fileAtPeak), server_private_at_peak_mb: mb(privAtPeak),
        // Its RSS when it began listening, and the most of it in transparent huge pages (0 unless the kernel's THP collapses the runtime's heaps).
        server_rss_start_mb: mb(firstRss), server_anon_huge_max_mb: peakHuge > 0 ? mb(peakHuge) : 0,
      };
    },
  };
}

const rows: Record<string, unknown>[] = [];
for (const defence of (values.only ? [values.only] : ["on", "off"]) as ("on" | "off")[]) {
  const srv = await startServer(defence);
  const attackStartsAt = Date.now() + Number(rest) * 1000;
  const poll = pollServer(srv);
  const smaps = pollSmaps(srv.pid);
  let r: Record<string, unknown>;
  if (split) {
    const [honest, attack] = await Promise.all([
      runLoad(srv, "legit", { metrics: true }),
      runLoad(srv, attackProfiles.join(","), { metrics: false, wrap }),
    ]);
    r = { ...honest };
    for (const k of ATTACK_KEYS) if (k in attack) r[k] = attack[k];
    const sq = Number(attack.spam_quotes ?? 0), lq = Number(honest.legit_quotes ?? 0), sh = Number(attack.spam_hashes ?? 0), lh = Number(honest.legit_hashes ?? 0);
    if (sq + lq > 0) r.spam_share_of_quotes = Math.round((sq / (sq + lq)) * 10_000) / 10_000;
    if (sh + lh > 0) r.spam_share_of_hashes = Math.round((sh / (sh + lh)) * 10_000) / 10_000;
  } else {
    r = await runLoad(srv, ["legit", ...attackProfiles].join(","), { metrics: true });
  }
  const mem = smaps.stop();
  const timeline = poll.stop().map((x) => ({ ...x, t: Math.round((x.t - attackStartsAt) / 100) / 10 }));
  const log = await srv.stop();
  const changes = [...log.matchAll(/"time":"([^"]+)","level":"info","msg":"difficulty changed","from":(\d+),"to":(\d+),"pressure":([\d.]+),"driver":"(\w+)"/g)].map(
    (m) => `${m[2]}->${m[3]} at +${((Date.parse(m[1]!) - attackStartsAt) / 1000).toFixed(1)} s (${m[5]} ${m[4]})`,
  );
  const attackSeconds = timeline.filter((x) => x.t > 0);
  const row = {
    defence, setup: split ? `split${wrap.length ? ` (attack: ${wrap.join(" ")})` : ""}` : "one process", ...r, difficulty_changes: changes,
    // The server's accepted proofs/s each second of the attack (with the difficulty), and over its last 10 s.
    server_valid_per_s: attackSeconds.map((x) => `${x.t}s:${x.valid_per_s}@${x.difficulty}`).join(" "),
    server_valid_per_s_last10: attackSeconds.length > 0 ? Math.round(attackSeconds.slice(-10).reduce((a, x) => a + x.valid_per_s, 0) / Math.min(10, attackSeconds.length)) : null,
    ...mem,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}

const keys = [
  "setup", "legit_ok_rest", "legit_ok", "legit_failed", "legit_success_rate",
  "legit_p50_rest_ms", "legit_p99_rest_ms", "legit_p50_ms", "legit_p99_ms", "legit_p99_ratio",
  "legit_solve_p99_ms", "legit_overhead_p99_rest_ms", "legit_overhead_p99_ms", "legit_expected_solve_ms",
  "difficulty_min", "difficulty_max",
  "server_handshake_p50_rest_ms", "server_handshake_p50_ms", "server_handshake_p99_rest_ms", "server_handshake_p99_ms",
  "server_served_p99_rest_ms", "server_served_p99_ms", "server_difficulty_min", "server_difficulty_max", "difficulty_changes", "server_valid_per_s_last10",
  "attack_accepted", "replays_accepted", "forgeries_accepted", "wrong_accepted",
  ...(spamThreads > 0 ? ["spam_quotes", "legit_quotes", "spam_share_of_quotes", "spam_share_of_hashes", "spam_solver_hps", "legit_solver_hps", "spam_difficulty_min", "spam_difficulty_max"] : []),
  "server_rss_start_mb", "server_rss_rest_mb", "server_rss_max_mb", "server_smaps_rss_max_mb", "server_anon_at_peak_mb", "server_file_at_peak_mb", "server_anon_max_mb", "server_private_max_mb",
];
console.log(`\n| metric | ${rows.map((r) => `defence ${r.defence}`).join(" | ")} |\n|---|${rows.map(() => "---").join("|")}|`);
for (const k of keys) console.log(`| ${k} | ${rows.map((r) => (typeof r[k] === "number" ? Math.round((r[k] as number) * 1000) / 1000 : JSON.stringify(r[k]))).join(" | ")} |`);
