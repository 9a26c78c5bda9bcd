#!/usr/bin/env node
// `npm test`: the whole suite on Bun, then on Deno; exits non-zero if either fails.
// Extra arguments are test paths (default: tests/).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const bin = (name) => {
  const local = join(process.cwd(), "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
};
// Debian packages some tests need (promtool, redis-server, haproxy, qemu-user-static): installed when
// missing and possible, else this fails naming them.
const deps = spawnSync(process.execPath, [join(process.cwd(), "scripts", "ensure-deps.mjs")], { stdio: "inherit" });
if (deps.status !== 0) {
  process.stderr.write("npm test: required system packages are missing (see above)\n");
  process.exit(1);
}
const paths = process.argv.slice(2);
const targets = paths.length > 0 ? paths : ["tests/"];
const checkTargets = ["src/main.ts", "src/mod.ts", "src/shared/pow/solver/worker.ts", "src/shared/load/worker.ts", ...["scripts", "bench", "examples"].flatMap((d) =>
  readdirSync(d).filter((f) => f.endsWith(".ts")).map((f) => `${d}/${f}`))];
const runs = [
  ["typecheck", [bin("deno"), "check", ...checkTargets]],
  ["bun", [bin("bun"), "test", "--timeout", "120000", ...targets.map((p) => (p.startsWith(".") || p.startsWith("/") ? p : `./${p}`))]],
  ["deno", [bin("deno"), "test", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run", "--allow-sys", "--allow-ffi", ...targets]],
];
const results = [];
for (const [name, [cmd, ...args]] of runs) {
  process.stdout.write(`\n=== npm test: ${name} ===\n`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...process.env, WISDOM_TEST_RUNTIME: name } });
  const ok = r.status === 0;
  results.push({ name, ok, status: r.status, seconds: (Date.now() - t0) / 1000 });
}
process.stdout.write("\n=== npm test: summary ===\n");
for (const r of results) process.stdout.write(`${r.name}: ${r.ok ? "passed" : `FAILED (exit ${r.status})`} in ${r.seconds.toFixed(1)} s\n`);
const failed = results.filter((r) => !r.ok).length;
process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
