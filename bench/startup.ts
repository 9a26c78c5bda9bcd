/**
 * Start-up of the compiled binary against what Bun itself allows: a hello-world (`console.log`) built with
 * the same `bun build` flags as scripts/build-binaries.ts (BUILD_FLAGS), in the same run.
 * Builds both (the wisdom binary with the build script itself, host target only), starts `wisdom serve`
 * at difficulty 8 on loopback with the defence off (so repeated fetches are never rate-limited or
 * escalated), then times whole processes, the binaries alternating run by run: hello, `wisdom version`,
 * `wisdom fetch --json`, and any --compare binaries' version and fetch. Prints medians with the middle
 * half (p25-p75) and, on Bun, each process's CPU time, then the two targets of issue 17 (wall time):
 * version / hello <= 1.3 and fetch - hello <= 20 ms.
 *
 *   npx bun bench/startup.ts [--runs 31] [--compare dist/wisdom-old ...] [--wisdom PATH (skip the build)]
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BUILD_FLAGS } from "../scripts/build-binaries.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bun = join(root, "node_modules", ".bin", "bun");
const { values } = parseArgs({ options: { runs: { type: "string" }, compare: { type: "string", multiple: true }, wisdom: { type: "string" } } });
const runs = Number(values.runs ?? 31);
if (!Number.isInteger(runs) || runs < 5 || runs > 1000) throw new RangeError(`--runs ${values.runs}: expected an integer from 5 to 1000`);

const dir = mkdtempSync(join(tmpdir(), "wisdom-startup-"));
const must = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
};

// The same flags as scripts/build-binaries.ts (which also adds --define stamps, no cost at run time).
writeFileSync(join(dir, "hello.ts"), 'console.log("hello");\n');
must(bun, ["build", ...BUILD_FLAGS, join(dir, "hello.ts"), "--outfile", join(dir, "hello")]);
console.log(`hello-world and wisdom built with: bun build ${BUILD_FLAGS.join(" ")}`);
let wisdom = values.wisdom;
if (!wisdom) {
  must(bun, ["scripts/build-binaries.ts", "--outdir", join(dir, "dist"), "--no-deno"]);
  wisdom = join(dir, "dist", "wisdom");
}

const server = spawn(wisdom, ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--difficulty", "8", "--defence", "off", "--log-format", "json"], {
  env: { ...process.env, WISDOM_SECRET: "startup-bench-secret-0123456789abcdef" },
  stdio: ["ignore", "ignore", "pipe"],
});
try {
  let log = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log}`)), 30_000);
    server.stderr!.on("data", (d) => {
      log += d;
      const m = /"address":"127\.0\.0\.1:(\d+)"/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const target = `127.0.0.1:${port}`;
  const cases: [string, string, string[]][] = [
    ["hello-world", join(dir, "hello"), []],
    ["wisdom version", wisdom, ["version"]],
    ["wisdom fetch (difficulty 8)", wisdom, ["fetch", target, "--json"]],
  ];
  for (const c of values.compare ?? []) cases.push([`${c} version`, c, ["version"]], [`${c} fetch (difficulty 8)`, c, ["fetch", target, "--json"]]);

  const times = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  // On Bun, spawnSync also reports the child's CPU time (user + system): a figure that the other
  // processes sharing this VM's cores disturb far less than wall time.
  const bunSpawn = (globalThis as { Bun?: { spawnSync(cmd: string[], o: object): { exitCode: number | null; stderr?: Uint8Array; resourceUsage?: { cpuTime: { total: bigint } } } } }).Bun?.spawnSync;
  const once = (i: number): [number, number] => {
    const [name, cmd, args] = cases[i]!;
    const t0 = performance.now();
    if (bunSpawn) {
      const r = bunSpawn([cmd, ...args], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
      const ms = performance.now() - t0;
      if (r.exitCode !== 0) throw new Error(`${name} exited ${r.exitCode}: ${new TextDecoder().decode(r.stderr)}`);
      return [ms, r.resourceUsage ? Number(r.resourceUsage.cpuTime.total) / 1000 : Number.NaN];
    }
    const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
    return [ms, Number.NaN];
  };
  for (let i = 0; i < cases.length; i++) for (let w = 0; w < 3; w++) once(i); // page cache, server warm
  for (let r = 0; r < runs; r++) {
    // Alternate, and rotate the order so no binary always runs right after another.
    for (let k = 0; k < cases.length; k++) {
      const i = (k + r) % cases.length;
      const [ms, cpuMs] = once(i);
      times[i]!.push(ms);
      cpu[i]!.push(cpuMs);
    }
  }
  const q = (a: number[], p: number) => {
    const s = [...a].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  };
  const med = times.map((t) => q(t, 0.5));
  const medCpu = cpu.map((t) => q(t, 0.5));
  console.log(`whole-process times, ${runs} runs each, alternating (median, p25-p75; CPU: the process's user + system time, median):`);
  cases.forEach(([name], i) => console.log(`  ${name.padEnd(46)} ${med[i]!.toFixed(1).padStart(6)} ms  (${q(times[i]!, 0.25).toFixed(1)}-${q(times[i]!, 0.75).toFixed(1)})   CPU ${medCpu[i]!.toFixed(1)} ms`));
  const hello = med[0]!;
  const versionRatio = med[1]! / hello;
  const fetchRatio = med[2]! / hello;
  const fetchOver = med[2]! - hello;
  console.log(`wisdom version / hello-world: ${versionRatio.toFixed(2)}x (target <= 1.3x: ${versionRatio <= 1.3 ? "met" : "NOT met"})`);
  console.log(`wisdom fetch / hello-world:   ${fetchRatio.toFixed(2)}x, +${fetchOver.toFixed(1)} ms (target <= +20 ms: ${fetchOver <= 20 ? "met" : "NOT met"})`);
  console.log(`CPU time: version / hello-world ${(medCpu[1]! / medCpu[0]!).toFixed(2)}x, fetch - hello-world +${(medCpu[2]! - medCpu[0]!).toFixed(1)} ms`);
  console.log(JSON.stringify({
    runs, hello_ms: hello, version_ms: med[1], fetch_ms: med[2], version_ratio: versionRatio, fetch_ratio: fetchRatio, fetch_over_ms: fetchOver,
    hello_cpu_ms: medCpu[0], version_cpu_ms: medCpu[1], fetch_cpu_ms: medCpu[2],
  }));
} finally {
  server.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
