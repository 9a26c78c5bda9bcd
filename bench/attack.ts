/**
 * The defence under a mixed attack, measured: starts `wisdom serve` (defence on, then off), runs
 * `wisdom load` with slowloris holding N connections plus flood, junk, replay, forge, spam and honest
 * clients, and prints one JSON line per run and a Markdown table. Loopback only; bounded in time.
 *
 *   npx bun bench/attack.ts [--duration 30] [--slowloris 5000] [--rate 2] [--only on|off]
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const { values } = parseArgs({ options: { duration: { type: "string" }, slowloris: { type: "string" }, rate: { type: "string" }, only: { type: "string" } } });
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

function runLoad(port: number, pid: number): Promise<Record<string, unknown>> {
  const args = [main, "load", `127.0.0.1:${port}`, "--profile", "legit,slowloris,flood,junk,replay,forge,spam", "--duration", duration, "--slowloris", slow, "--rate", rate, "--server-pid", String(pid), "--json"];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => child.on("exit", (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${c}`)))));
}

const rows: Record<string, unknown>[] = [];
for (const defence of (values.only ? [values.only] : ["on", "off"]) as ("on" | "off")[]) {
  const srv = await startServer(defence);
  const r = await runLoad(srv.port, srv.pid);
  const log = await srv.stop();
  const changes = (log.match(/"msg":"difficulty changed"/g) ?? []).length;
  const row = { defence, ...r, difficulty_changes: changes };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const keys = ["legit_ok", "legit_failed", "legit_success_rate", "legit_p50_ms", "legit_p99_ms", "legit_solve_p99_ms", "legit_overhead_p99_ms", "legit_expected_solve_ms", "attack_accepted", "replays_accepted", "forgeries_accepted", "server_rss_max_mb", "difficulty_max"];
console.log(`\n| metric | ${rows.map((r) => `defence ${r.defence}`).join(" | ")} |\n|---|${rows.map(() => "---").join("|")}|`);
for (const k of keys) console.log(`| ${k} | ${rows.map((r) => (typeof r[k] === "number" ? Math.round((r[k] as number) * 1000) / 1000 : JSON.stringify(r[k]))).join(" | ")} |`);
