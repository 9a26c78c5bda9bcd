/**
 * `npm run build [-- --all | --target T ...] [--outdir DIR] [--no-deno] [--no-order]`
 *
 * Builds single-file binaries with `bun build --compile`: dist/wisdom for this machine, and with --all
 * one per release target (dist/wisdom-<os>-<arch>[.exe]), then writes dist/SHA256SUMS. The version and
 * commit are stamped in (`wisdom version --json`). The WebAssembly solver kernel is rebuilt from its
 * source first (scripts/build-wasm.ts), so the binary always carries the kernel the source describes.
 * Two passes: the first binary is run (scripts/record-bytecode-order.ts: serve, fetch, a short attack)
 * to record which functions it uses, and every binary is built again with that profile
 * (--bytecode-order), so a process maps less of itself; --no-order builds once. Where the recording
 * cannot run, the build says why and keeps the first pass.
 * Also tries `deno compile`, which needs the Deno runtime (denort) download; where that is out of reach
 * it says so plainly and carries on.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { recordBytecodeOrder } from "./record-bytecode-order.ts";
import { denoV8FlagsArg } from "../src/shared/runtime/deno-v8-flags.ts";

/**
 * `bun build` flags of every binary (bench/startup.ts builds its hello-world with the same). Minified
 * except for identifiers, so a CPU profile of the release binary (/debug/pprof/) names functions as the
 * source does (--keep-names only keeps `.name`, which the profiler does not read); the binary is 0.4 MB
 * larger and starts as fast within this VM's noise (bench/startup.ts).
 */
export const BUILD_FLAGS = ["--compile", "--minify-syntax", "--minify-whitespace", "--bytecode"];

/** Release targets: output suffix -> bun --target. */
export const TARGETS: Record<string, string> = {
  "linux-x64": "bun-linux-x64",
  "linux-arm64": "bun-linux-arm64",
  "darwin-x64": "bun-darwin-x64",
  "darwin-arm64": "bun-darwin-arm64",
  "windows-x64": "bun-windows-x64",
};
/**
 * Worker modules must be named as extra entrypoints so the compiled binary can start them; so must the
 * subcommands src/main.ts imports lazily, each bundled on its own so `wisdom version` loads none of them
 * (`bun build --compile` has no code splitting; see src/main.ts).
 */
export const ENTRYPOINTS = [
  // With nine or more, Bun 1.4.5 lays the binary's modules out under /$bunfs/root/src/ instead of beside
  // main (src/main.ts lazy() looks in both). Small commands share an entrypoint (commands/guard-clients.ts,
  // commands/tools.ts): each one costs start-up time.
  "src/main.ts", "src/server.ts", "src/commands/guard.ts", "src/commands/guard-clients.ts", "src/client.ts", "src/commands/tools.ts",
  "src/shared/pow/solver/worker.ts", "src/shared/load/worker.ts", "src/shared/serve/gate-thread.ts",
  // Loaded by the client only for a puzzle above 12 bits (pow/solver/small-first.ts).
  "src/shared/pow/solver/solver.ts",
];

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const bunBin = existsSync(join(root, "node_modules/.bin/bun")) ? join(root, "node_modules/.bin/bun") : "bun";
const denoBin = existsSync(join(root, "node_modules/.bin/deno")) ? join(root, "node_modules/.bin/deno") : "deno";

function sh(cmd: string, args: string[], opts: { timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", timeout: opts.timeoutMs ?? 600_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, status: r.status, error: r.error };
}

function commit(): string {
  if (process.env.WISDOM_COMMIT) return process.env.WISDOM_COMMIT;
  const r = sh("git", ["rev-parse", "--short=12", "HEAD"]);
  if (!r.ok) return "unknown";
  const dirty = sh("git", ["status", "--porcelain", "--untracked-files=no"]).out.trim() !== "";
  return `${r.out.trim()}${dirty ? "-dirty" : ""}`;
}

function hostSuffix(): string {
  const os = process.platform === "win32" ? "windows" : process.platform;
  return `${os}-${process.arch}`;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      all: { type: "boolean" },
      target: { type: "string", multiple: true },
      outdir: { type: "string" },
      "no-deno": { type: "boolean" },
      "no-order": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("Usage: npm run build -- [--all | --target linux-x64 ...] [--outdir dist] [--no-deno] [--no-order]");
    return 0;
  }
  const outdir = resolve(root, values.outdir ?? "dist");
  mkdirSync(outdir, { recursive: true });
  for (const f of readdirSync(outdir)) if (f.startsWith("wisdom") || f === "SHA256SUMS") rmSync(join(outdir, f), { force: true });

  const wasm = sh(bunBin, ["scripts/build-wasm.ts"]);
  if (!wasm.ok) {
    console.error(`build: the WebAssembly kernel did not build:\n${wasm.out}`);
    return 1;
  }
  const stamp = commit();
  const date = new Date().toISOString();
  const defines = ["--define", `WISDOM_COMMIT=${JSON.stringify(stamp)}`, "--define", `WISDOM_BUILD_DATE=${JSON.stringify(date)}`];
  let order: string[] = []; // --bytecode-order=..., once recorded


  const wanted = values.all ? Object.keys(TARGETS) : (values.target ?? []);
  for (const t of wanted) if (!TARGETS[t]) {
    console.error(`build: unknown target ${t}; known: ${Object.keys(TARGETS).join(", ")}`);
    return 2;
  }
  let outputs: string[] = [];
  const build = (file: string, target?: string): boolean => {
    const t0 = performance.now();
    const args = ["build", ...BUILD_FLAGS, ...order, ...defines, ...ENTRYPOINTS, "--outfile", join(outdir, file)];
    if (target) args.push(`--target=${target}`);
    const r = sh(bunBin, args);
    if (!r.ok) {
      console.error(`build: ${file} failed:\n${r.out}`);
      return false;
    }
    const mb = statSync(join(outdir, file)).size / 1e6;
    console.log(`built dist/${file}  ${mb.toFixed(1)} MB  in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    outputs.push(file);
    return true;
  };
  if (!build("wisdom")) return 1;
  let ordered = false;
  if (!values["no-order"]) {
    const t0 = performance.now();
    // The profiles stay in the output directory: the layout of these binaries can be rebuilt from them.
    const rec = await recordBytecodeOrder(join(outdir, "wisdom"), join(outdir, "bytecode-order"));
    if ("error" in rec) console.log(`bytecode order not recorded (the binaries keep the plain layout): ${rec.error}`);
    else {
      console.log(`recorded the bytecode order (${rec.files.length} runs) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      order = [`--bytecode-order=${rec.files.join(",")}`];
      outputs = [];
      if (!build("wisdom")) return 1;
      ordered = true;
    }
  }
  for (const t of wanted) {
    const file = `wisdom-${t}${t.startsWith("windows") ? ".exe" : ""}`;
    if (!build(file, TARGETS[t])) return 1;
  }

  if (!values["no-deno"]) {
    const t0 = performance.now();
    const r = sh(denoBin, ["compile", ...denoV8FlagsArg(), "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "--allow-run=nft", "--output", join(outdir, "wisdom-deno"), ...ENTRYPOINTS.slice(0, 1), ...ENTRYPOINTS.slice(1).flatMap((e) => ["--include", e])], { timeoutMs: 120_000 });
    if (r.ok && existsSync(join(outdir, "wisdom-deno"))) {
      console.log(`built dist/wisdom-deno in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      outputs.push("wisdom-deno");
    } else {
      const why = (r.error ? String(r.error) : r.out.split("\n").filter((l) => /error|fail|download/i.test(l)).slice(0, 3).join(" | ")).replace(/https?:\/\/\S+/g, "<url>").replace(/\x1b\[[0-9;]*m/g, "");
      console.log(`not built: dist/wisdom-deno. 'deno compile' needs to download the Deno runtime (denort), which is not reachable from this machine. Deno said: ${why || `exit ${r.status}`}`);
    }
  }

  const sums = outputs.map((f) => `${createHash("sha256").update(readFileSync(join(outdir, f))).digest("hex")}  ${f}`).join("\n");
  writeFileSync(join(outdir, "SHA256SUMS"), `${sums}\n`);
  writeFileSync(join(outdir, "BUILD_INFO.json"), `${JSON.stringify({ commit: stamp, date, host: hostSuffix(), outputs, bytecode_order: ordered }, null, 2)}\n`);
  console.log(`wrote dist/SHA256SUMS (${outputs.length} files), commit ${stamp}`);
  return 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
