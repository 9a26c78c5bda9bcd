/**
 * RSS of an idle `wisdom serve`, start after start: starts the server --starts times (loopback, metrics
 * listener on, as bench/attack.ts starts it), reads its RSS and anonymous memory 1.5 s after it listens,
 * stops it, and prints each start and the range. A fixed figure should come out the same every start;
 * a spread shows memory that depends on where the allocator put things (see
 * src/shared/runtime/shared-buffer.ts; README has the figures before and after it).
 *
 *   npx bun bench/idle-rss.ts [--starts 8] [--runtime bun|deno] [--serve-bin dist/wisdom] [--serve-args="--threads 2"] [--deno-v8-flags=none]
 *
 * On Deno the server starts with the V8 flags `deno task wisdom` ships (runtime/deno-v8-flags.ts);
 * --deno-v8-flags=none: V8's defaults.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { denoV8FlagsArg, parseDenoV8Flags } from "../src/shared/runtime/deno-v8-flags.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const { values } = parseArgs({ options: { starts: { type: "string" }, runtime: { type: "string" }, "serve-bin": { type: "string" }, "serve-args": { type: "string" }, "deno-v8-flags": { type: "string" } } });
const starts = Number(values.starts ?? 8);
if (!Number.isInteger(starts) || starts < 1 || starts > 100) throw new RangeError(`--starts ${values.starts}: expected an integer from 1 to 100`);
const runtime = values.runtime ?? "bun";
if (!["bun", "deno"].includes(runtime)) throw new RangeError(`--runtime ${runtime}: bun or deno`);
const serveArgs = (values["serve-args"] ?? "").split(/\s+/).filter((x) => x !== "");
const args = ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-format", "json", ...serveArgs];
const bin = values["serve-bin"];
const deno = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));
const [cmd, ...argv] = bin ? [bin, ...args] : runtime === "deno" ? [deno, "run", "-A", ...denoV8FlagsArg(parseDenoV8Flags(values["deno-v8-flags"], process.env)), main, ...args] : [process.execPath, main, ...args];

const kb = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
const mb = (k: number) => Math.round(k / 102.4) / 10;
const rows: { rss: number; anon: number }[] = [];
for (let i = 0; i < starts; i++) {
  const child = spawn(cmd!, argv, { cwd: root, env: { ...process.env, WISDOM_SECRET: "idle-rss-bench-secret-0123456789" }, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (d) => {
      log += d;
      if (log.includes('"msg":"listening"')) resolve();
    });
    child.on("exit", (c) => reject(new Error(`server exited ${c}: ${log}`)));
  });
  await new Promise((r) => setTimeout(r, 1500));
  const rollup = readFileSync(`/proc/${child.pid}/smaps_rollup`, "utf8");
  const row = { rss: mb(kb(rollup, "Rss")), anon: mb(kb(rollup, "Anonymous")) };
  rows.push(row);
  console.log(JSON.stringify({ start: i + 1, rss_mb: row.rss, anon_mb: row.anon }));
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}
const rss = rows.map((r) => r.rss), anon = rows.map((r) => r.anon);
console.log(JSON.stringify({
  command: [bin ?? runtime, ...args].join(" "),
  starts,
  rss_min_mb: Math.min(...rss), rss_max_mb: Math.max(...rss),
  anon_min_mb: Math.min(...anon), anon_max_mb: Math.max(...anon),
}));
