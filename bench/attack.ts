/**
 * The defence under a mixed attack, measured: starts `wisdom serve` (defence on, then off), runs
 * `wisdom load` with slowloris holding N connections plus flood, junk, replay, forge, spam and honest
 * clients, and prints one JSON line per run and a Markdown table. Loopback only; bounded in time.
 *
 *   npx bun bench/attack.ts [--duration 30] [--slowloris 5000] [--rate 2] [--sources 5000] [--only on|off]
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const { values } = parseArgs({ options: { duration: { type: "string" }, slowloris: { type: "string" }, rate: { type: "string" }, only: { type: "string" }, sources: { type: "string" } } });
// Source addresses per attack profile: 5000 spreads them over 20 IPv4 /24s, so the per-network caps
// (512 connections) let slowloris actually hold its connections, as a botnet would.
const sources = values.sources ?? "5000";
const duration = values.duration ?? "30";
const slow = values.slowloris ?? "5000";
const rate = values.rate ?? "2";

function startServer(defence: "on" | "off"): Promise<{ pid: number; port: number; stop(): Promise<string> }> {
  const child = spawn(process.execPath, [main, "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--log-format", "json", "--defence", defence], {
    cwd: root,
    env: { ...process.env, WISDOM_SECRET: "attack-bench-secret-0123456789" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d) => {
      log += d;
      const m = /"msg":"listening","address":"127\.0\.0\.1:(\d+)"/.exec(log);
      if (m) {
        resolve({
          pid: child.pid!,
          port: Number(m[1]),
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

/** One `wisdom load` process; honest clients and attackers run in separate processes, as they would. */
function runLoad(port: number, pid: number, profiles: string): Promise<Record<string, unknown>> {
  const args = [main, "load", `127.0.0.1:${port}`, "--profile", profiles, "--duration", duration, "--slowloris", slow, "--rate", rate, "--sources", sources, "--server-pid", String(pid), "--json"];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => child.on("exit", (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${c}`)))));
}

const rows: Record<string, unknown>[] = [];
for (const defence of (values.only ? [values.only] : ["on", "off"]) as ("on" | "off")[]) {
  const srv = await startServer(defence);
  const [honest, attack] = await Promise.all([runLoad(srv.port, srv.pid, "legit"), runLoad(srv.port, srv.pid, "slowloris,flood,junk,replay,forge,spam")]);
  const log = await srv.stop();
  const changes = [...log.matchAll(/"msg":"difficulty changed","from":(\d+),"to":(\d+),"pressure":([\d.]+),"driver":"(\w+)"/g)].map((m) => `${m[1]}->${m[2]} (${m[4]} ${m[3]})`);
  const r = {
    ...attack,
    ...Object.fromEntries(Object.entries(honest).filter(([k]) => k.startsWith("legit_"))),
    server_rss_max_mb: Math.max(Number(honest.server_rss_max_mb), Number(attack.server_rss_max_mb)),
    difficulty_max: Math.max(Number(honest.difficulty_max), Number(attack.difficulty_max)),
    profiles: ["legit", ...(attack.profiles as string[])],
  };
  const row = { defence, ...r, difficulty_changes: changes };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const keys = ["legit_ok", "legit_failed", "legit_success_rate", "legit_p50_ms", "legit_p99_ms", "legit_solve_p99_ms", "legit_overhead_p99_ms", "legit_expected_solve_ms", "attack_accepted", "replays_accepted", "forgeries_accepted", "server_rss_max_mb", "difficulty_max"];
console.log(`\n| metric | ${rows.map((r) => `defence ${r.defence}`).join(" | ")} |\n|---|${rows.map(() => "---").join("|")}|`);
for (const k of keys) console.log(`| ${k} | ${rows.map((r) => (typeof r[k] === "number" ? Math.round((r[k] as number) * 1000) / 1000 : JSON.stringify(r[k]))).join(" | ")} |`);
