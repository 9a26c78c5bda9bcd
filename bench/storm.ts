/**
 * A reconnect storm from two /24s, with and without `firewall: nft` (issue 14).
 *
 *   npx bun bench/storm.ts [--duration 20] [--rest 10] [--only off|nft] [--sources 499] [--rate 2]
 *
 * For each setting, starts `wisdom serve` (defaults, except the listen addresses, --firewall, and
 * --proxy-trusted 192.0.2.0/24, since trusted networks, 127.0.0.0/8 by default, are never banned) and runs
 * one `wisdom load --profile legit,flood --flood-width 256`: a rest phase with honest clients alone, then
 * the flood, which reconnects as soon as each answer arrives, from 127.1.0.x and 127.1.1.x beside them.
 * Target: with the firewall, honest p99 under the storm <= 2x the rest figure; without it, the figure is
 * reported. Prints one JSON line per run and a Markdown table: honest p99 per phase and their ratio (and
 * the part of it that is not solving), success rate, the server's handshake p99 per phase, what the
 * firewall dropped and banned (its /metrics at the end), the server's RSS (with its children; and alone).
 *
 * Needs root, unshare (util-linux) and nft (nftables). Runs in a private network namespace on its own
 * loopback: it re-executes itself under `unshare -n` (marked by WISDOM_STORM_NETNS=1), brings lo up there
 * and lowers that namespace's net.ipv4.tcp_syn_retries to 2, so a dropped SYN fails after about 7 s
 * instead of 127 s (`wisdom load` also gives up a connect after 2 s).
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { denoV8FlagsArg, parseDenoV8Flags } from "../src/shared/runtime/deno-v8-flags.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const self = fileURLToPath(import.meta.url);
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
const argv: string[] = isDeno ? (globalThis as any).Deno.args : process.argv.slice(2);
const { values } = parseArgs({ args: argv, options: { rest: { type: "string" }, duration: { type: "string" }, only: { type: "string" }, sources: { type: "string" }, rate: { type: "string" } } });
const rest = values.rest ?? "10";
const duration = values.duration ?? "20";
// Flood lane k's i-th connection comes from source (k * 100000 + i) % sources (load/attacks.ts): with 500
// every lane walks the same addresses in step, all inside 127.1.0.x for the first 250 connections each; 499
// staggers the lanes over 127.1.0.x and 127.1.1.x, the two /24s the storm is meant to come from.
const sources = values.sources ?? "499";
const rate = values.rate ?? "2";
const settings = (values.only ? [values.only] : ["off", "nft"]) as ("off" | "nft")[];
const TABLE = "wisdom_storm";

/** The current runtime running `script` (Deno with every permission, the server runs nft and load spawns workers, and the V8 flags the task ships). */
const runtime = (script: string, args: string[]) => (isDeno ? [process.execPath, "run", "-A", ...denoV8FlagsArg(parseDenoV8Flags(undefined, process.env)), script, ...args] : [process.execPath, script, ...args]);

/** Interfaces of this process's network namespace: just "lo" in a private one (unshare -n). */
function interfaces(): string[] {
  return readFileSync("/proc/self/net/dev", "utf8").split("\n").slice(2).map((l) => l.split(":")[0]!.trim()).filter((n) => n !== "");
}

const MARK = "WISDOM_STORM_NETNS";
if (!process.env[MARK]) {
  // Start again in a fresh network namespace (the mark says this is the second start, inside it).
  const missing = ["unshare", "nft", "ip"].filter((b) => spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0);
  if (process.getuid?.() !== 0) missing.unshift("root");
  if (missing.length > 0) {
    console.error(`bench/storm.ts needs ${missing.join(", ")} (a private network namespace and nftables)`);
    process.exit(2);
  }
  const r = spawnSync("unshare", ["-n", ...runtime(self, argv)], { stdio: "inherit", cwd: root, env: { ...process.env, [MARK]: "1" } });
  process.exit(r.status ?? 1);
}
if (interfaces().some((n) => n !== "lo")) {
  console.error(`bench/storm.ts: ${MARK} is set but this namespace has ${interfaces().join(", ")}: run it without ${MARK}, or under unshare -n`);
  process.exit(2);
}
// Alone on loopback: bring it up, and let a dropped SYN fail after ~7 s (2 retries) instead of ~127 s.
const up = spawnSync("sh", ["-c", "ip link set lo up && echo 2 > /proc/sys/net/ipv4/tcp_syn_retries"], { encoding: "utf8" });
if (up.status !== 0) {
  console.error(`bench/storm.ts: cannot set up loopback in the namespace: ${up.stderr}`);
  process.exit(2);
}

interface Server {
  pid: number;
  port: number;
  metricsPort: number;
  stop(): Promise<{ code: number | null; log: string }>;
}

function startServer(firewall: "off" | "nft"): Promise<Server> {
  const args = ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--proxy-trusted", "192.0.2.0/24", "--firewall", firewall, "--firewall-table", TABLE, "--log-format", "json"];
  const [cmd, ...rest] = runtime(main, args);
  const child = spawn(cmd!, rest, { cwd: root, env: { ...process.env, WISDOM_SECRET: "storm-bench-secret-0123456789" }, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 15 s: ${log}`)), 15_000);
    child.stderr!.on("data", (d) => {
      log += d;
      const m = /"msg":"listening","address":"127\.0\.0\.1:(\d+)","metrics":"127\.0\.0\.1:(\d+)"/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({
          pid: child.pid!,
          port: Number(m[1]),
          metricsPort: Number(m[2]),
          stop: async () => {
            process.kill(child.pid!, "SIGTERM");
            const kill = setTimeout(() => process.kill(child.pid!, "SIGKILL"), 10_000);
            const code = await exited;
            clearTimeout(kill);
            return { code, log };
          },
        });
      }
    });
    void exited.then((c) => reject(new Error(`server exited ${c}: ${log}`)));
  });
}

/** One `wisdom load`: the rest phase, then the flood beside the honest clients. Killed if it overruns. */
function runLoad(srv: Server): Promise<Record<string, unknown>> {
  const args = ["load", `127.0.0.1:${srv.port}`, "--profile", "legit,flood", "--sources", sources, "--rate", rate, "--flood-width", "256", "--rest", rest, "--duration", duration,
    "--server-pid", String(srv.pid), "--metrics", `http://127.0.0.1:${srv.metricsPort}/metrics`, "--json"];
  const [cmd, ...rest_] = runtime(main, args);
  const child = spawn(cmd!, rest_, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  const limit = setTimeout(() => child.kill("SIGKILL"), (Number(rest) + Number(duration) + 60) * 1000);
  return new Promise((resolve, reject) =>
    child.on("exit", (c) => {
      clearTimeout(limit);
      if (c === 0) resolve(JSON.parse(out));
      else reject(new Error(`load exited ${c}`));
    }));
}

/** The firewall's counters from the server's /metrics (null: not exported, firewall off). */
async function firewallFigures(srv: Server): Promise<Record<string, number | null>> {
  const text = await (await fetch(`http://127.0.0.1:${srv.metricsPort}/metrics`)).text();
  const read = (name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "m").exec(text);
    return m ? Number(m[1]) : null;
  };
  return {
    firewall_dropped_packets: read("wisdom_firewall_dropped_packets_total"),
    firewall_bans: read("wisdom_firewall_bans_total"),
    firewall_entries: read("wisdom_firewall_entries"),
    firewall_failures: read("wisdom_firewall_failures_total"),
  };
}

/** Peak resident memory of the server process alone (VmHWM), MB: load's figure also sums its children, nft runs included. */
function ownPeakMb(pid: number): number | null {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
}

const rows: Record<string, unknown>[] = [];
for (const firewall of settings) {
  const srv = await startServer(firewall);
  const t0 = performance.now();
  const r = await runLoad(srv);
  const loadS = Math.round((performance.now() - t0) / 100) / 10;
  const fw = await firewallFigures(srv);
  const ownPeak = ownPeakMb(srv.pid);
  const { code } = await srv.stop();
  const flood = (r.attacks as Record<string, Record<string, unknown>> | undefined)?.flood ?? {};
  const row = {
    firewall, ...r, ...fw, server_own_peak_rss_mb: ownPeak, load_wall_s: loadS, server_exit: code,
    flood_connects: flood.connects ?? null, flood_connect_errors: flood.connect_errors ?? null, flood_challenges: flood.challenges ?? null, flood_refused: flood.refused ?? null,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}

const keys = [
  "legit_p99_rest_ms", "legit_p99_ms", "legit_p99_ratio", "legit_solve_p99_ms", "legit_overhead_p99_rest_ms", "legit_overhead_p99_ms", "legit_success_rate_rest", "legit_success_rate", "legit_ok_rest", "legit_ok",
  "server_handshake_p99_rest_ms", "server_handshake_p99_ms", "server_served_p99_rest_ms", "server_served_p99_ms", "difficulty_min", "difficulty_max",
  "flood_connects", "flood_connect_errors", "flood_challenges", "flood_refused", "server_handshakes_rest", "server_handshakes",
  "firewall_dropped_packets", "firewall_bans", "firewall_entries", "firewall_failures",
  "server_rss_rest_mb", "server_rss_max_mb", "server_own_peak_rss_mb", "load_wall_s",
];
const cell = (v: unknown) => (typeof v === "number" ? String(Math.round(v * 1000) / 1000) : JSON.stringify(v ?? null));
console.log(`\n| metric | ${rows.map((r) => `firewall ${r.firewall}`).join(" | ")} |\n|---|${rows.map(() => "---").join("|")}|`);
for (const k of keys) console.log(`| ${k} | ${rows.map((r) => cell(r[k])).join(" | ")} |`);
const withFw = rows.find((r) => r.firewall === "nft");
if (withFw) {
  const ratio = withFw.legit_p99_ratio as number | null;
  console.log(`\nfirewall nft: honest p99 under the storm ${ratio === null ? "n/a" : `${Math.round(ratio * 100) / 100}x`} the rest figure (target <= 2x): ${ratio !== null && ratio <= 2 ? "met" : "NOT met"}`);
}
