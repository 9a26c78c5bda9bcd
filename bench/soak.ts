/**
 * Soak: `wisdom serve` (difficulty 1, defaults otherwise) under a steady ~1,000 handshakes/s for a long
 * time, its RSS sampled every 10 s from /proc (Linux). Prints the RSS per minute, and the growth per
 * 10 minutes after the warm-up (a least-squares slope, so one collection does not decide it), as a
 * Markdown table and one JSON line. The load is `wisdom load --profile legit --rate R`: honest clients
 * that solve, each fetch from its own loopback address (so the per-address limits stay out of the way).
 *
 *   npx bun bench/soak.ts [--minutes 30] [--rate 1000] [--warmup-minutes 5]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const { values } = parseArgs({ options: { minutes: { type: "string" }, rate: { type: "string" }, "warmup-minutes": { type: "string" } } });
const minutes = Number(values.minutes ?? 30);
const rate = values.rate ?? "1000";
const warmupMin = Number(values["warmup-minutes"] ?? 5);

const rssMb = (pid: number): number | null => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
};

const server = spawn(process.execPath, [main, "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--difficulty", "1", "--log-format", "json"], {
  cwd: root,
  env: { ...process.env, WISDOM_SECRET: "soak-bench-secret-0123456789abcdef" },
  stdio: ["ignore", "ignore", "pipe"],
});
let log = "";
const port = await new Promise<number>((resolve, reject) => {
  server.stderr!.on("data", (d) => {
    log += d;
    const m = /"msg":"listening","address":"127\.0\.0\.1:(\d+)"/.exec(log);
    if (m) resolve(Number(m[1]));
  });
  server.on("exit", (c) => reject(new Error(`server exited ${c}: ${log}`)));
});

const t0 = Date.now();
const samples: { min: number; rss: number }[] = [];
const timer = setInterval(() => {
  const r = rssMb(server.pid!);
  if (r !== null) samples.push({ min: (Date.now() - t0) / 60_000, rss: r });
}, 10_000);

// `wisdom load` runs at most 600 s at a time: back-to-back segments (a second or so between them).
const reports: Record<string, unknown>[] = [];
for (let left = minutes * 60; left > 0; left -= 600) {
  const seconds = Math.min(600, left);
  const load = spawn(process.execPath, [main, "load", `127.0.0.1:${port}`, "--profile", "legit", "--rate", rate, "--rest", "0", "--duration", String(seconds), "--legit-timeout", "10", "--json"], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  load.stdout!.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((r) => load.on("exit", (c) => r(c)));
  if (code !== 0) throw new Error(`wisdom load exited ${code}`);
  reports.push(JSON.parse(out) as Record<string, unknown>);
}
clearInterval(timer);
server.kill("SIGTERM");
await new Promise<void>((r) => server.on("exit", () => r()));

const sum = (k: string) => reports.reduce((a, r) => a + (typeof r[k] === "number" ? (r[k] as number) : 0), 0);
const report = { legit_ok: sum("legit_ok"), legit_failed: sum("legit_failed") };
const after = samples.filter((s) => s.min >= warmupMin);
// Least-squares slope of RSS over minutes after the warm-up, in MB per 10 minutes.
const n = after.length;
const mx = after.reduce((a, s) => a + s.min, 0) / Math.max(1, n);
const my = after.reduce((a, s) => a + s.rss, 0) / Math.max(1, n);
const slope = n > 1 ? after.reduce((a, s) => a + (s.min - mx) * (s.rss - my), 0) / after.reduce((a, s) => a + (s.min - mx) ** 2, 0) : 0;
const perMinute = new Map<number, number[]>();
for (const s of samples) perMinute.set(Math.floor(s.min), [...(perMinute.get(Math.floor(s.min)) ?? []), s.rss]);

console.log("| minute | RSS MB (max of the minute's samples) |\n|---:|---:|");
for (const [m, xs] of perMinute) console.log(`| ${m} | ${Math.max(...xs).toFixed(1)} |`);
const result = {
  bench: "soak",
  runtime: typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno",
  minutes,
  rate_per_s: Number(rate),
  handshakes_ok: report.legit_ok ?? null,
  handshakes_failed: report.legit_failed ?? null,
  achieved_per_s: typeof report.legit_ok === "number" ? Math.round((report.legit_ok as number) / (minutes * 60)) : null,
  rss_after_warmup_first_mb: after[0]?.rss ?? null,
  rss_after_warmup_last_mb: after.at(-1)?.rss ?? null,
  rss_max_mb: Math.max(...samples.map((s) => s.rss)),
  growth_mb_per_10min: Math.round(slope * 10 * 100) / 100,
  target: "< 5 MB per 10 minutes after warm-up",
};
console.log(`\n${JSON.stringify(result)}`);
