/**
 * The defence under a mixed attack, measured: starts `wisdom serve` (defence on, then off) and runs one
 * `wisdom load` against it: a rest phase (honest clients alone, the baseline), then the attack phase with
 * slowloris holding N connections plus flood, junk, replay, forge, wrong answers (and, with
 * --spam-threads K, a solving flood on K threads) and the same honest clients. Honest clients and the
 * solving flood run in their own workers, apart from the attack's event loop. Prints one JSON line per run
 * and a Markdown table: honest p99 at rest and under attack and their ratio, the difficulty honest clients
 * saw, the server's own handshake p99 per phase (from its /metrics) and its peak RSS. Loopback only;
 * bounded in time.
 *
 *   npx bun bench/attack.ts [--rest 10] [--duration 30] [--slowloris 5000] [--rate 2] [--sources 5000]
 *                           [--spam-threads 0] [--legit-threads 1] [--only on|off]
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

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
    "spam-threads": { type: "string" },
    "legit-threads": { type: "string" },
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

interface Server {
  pid: number;
  port: number;
  metricsPort: number;
  stop(): Promise<string>;
}

function startServer(defence: "on" | "off"): Promise<Server> {
  const child = spawn(process.execPath, [main, "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-format", "json", "--defence", defence], {
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

/** One `wisdom load` process: the rest phase, then every profile at once. */
function runLoad(srv: Server, profiles: string): Promise<Record<string, unknown>> {
  const args = [main, "load", `127.0.0.1:${srv.port}`, "--profile", profiles, "--rest", rest, "--duration", duration, "--slowloris", slow, "--rate", rate,
    "--legit-threads", legitThreads, "--sources", sources, "--server-pid", String(srv.pid), "--metrics", `http://127.0.0.1:${srv.metricsPort}/metrics`, "--json"];
  if (spamThreads > 0) args.push("--spam-threads", String(spamThreads));
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => child.on("exit", (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${c}`)))));
}

const profiles = ["legit", "slowloris", "flood", "junk", "replay", "forge", "wrong", ...(spamThreads > 0 ? ["spam"] : [])].join(",");
const rows: Record<string, unknown>[] = [];
for (const defence of (values.only ? [values.only] : ["on", "off"]) as ("on" | "off")[]) {
  const srv = await startServer(defence);
  const r = await runLoad(srv, profiles);
  const log = await srv.stop();
  const changes = [...log.matchAll(/"msg":"difficulty changed","from":(\d+),"to":(\d+),"pressure":([\d.]+),"driver":"(\w+)"/g)].map((m) => `${m[1]}->${m[2]} (${m[4]} ${m[3]})`);
  const row = { defence, ...r, difficulty_changes: changes };
  rows.push(row);
  console.log(JSON.stringify(row));
}

const keys = [
  "legit_ok_rest", "legit_ok", "legit_failed", "legit_success_rate",
  "legit_p50_rest_ms", "legit_p99_rest_ms", "legit_p50_ms", "legit_p99_ms", "legit_p99_ratio",
  "legit_solve_p99_ms", "legit_overhead_p99_rest_ms", "legit_overhead_p99_ms", "legit_expected_solve_ms",
  "difficulty_min", "difficulty_max",
  "server_handshake_p99_rest_ms", "server_handshake_p99_ms", "server_difficulty_min", "server_difficulty_max",
  "attack_accepted", "replays_accepted", "forgeries_accepted", "wrong_accepted",
  ...(spamThreads > 0 ? ["spam_quotes", "legit_quotes", "spam_share_of_quotes", "spam_share_of_hashes", "spam_solver_hps", "legit_solver_hps", "spam_difficulty_min", "spam_difficulty_max"] : []),
  "server_rss_rest_mb", "server_rss_max_mb",
];
console.log(`\n| metric | ${rows.map((r) => `defence ${r.defence}`).join(" | ")} |\n|---|${rows.map(() => "---").join("|")}|`);
for (const k of keys) console.log(`| ${k} | ${rows.map((r) => (typeof r[k] === "number" ? Math.round((r[k] as number) * 1000) / 1000 : JSON.stringify(r[k]))).join(" | ")} |`);
