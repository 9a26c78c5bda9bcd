#!/usr/bin/env node
// `npm test`: the whole suite on Bun, then on Deno; exits non-zero if either fails.
// Extra arguments are test paths (default: tests/).
// Output streams as it comes; the summary at the end repeats every failed test's name and the lines
// around it, so a log that keeps only its tail (CI) still says what failed.
import { spawn, spawnSync } from "node:child_process";
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

// deno-lint-ignore no-control-regex
const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
/** Runs one command with its output passed through, and returns its exit status and output lines. */
function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["inherit", "pipe", "pipe"], env });
    const chunks = [];
    const keep = (sink) => (buf) => {
      sink.write(buf);
      chunks.push(buf);
    };
    child.stdout.on("data", keep(process.stdout));
    child.stderr.on("data", keep(process.stderr));
    child.on("error", (e) => resolve({ status: 127, lines: [String(e)] }));
    child.on("close", (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), lines: plain(Buffer.concat(chunks).toString("utf8")).split("\n") }));
  });
}

/** The lines that say what failed: Bun's "(fail)" lines with the error printed before each, Deno's "=> " blocks. */
function failures(name, lines) {
  const out = [];
  if (name === "bun") {
    // Bun lists the failures again after "N tests failed:": the first listing has their errors and files.
    const recap = lines.findIndex((l) => /^\d+ tests? failed:$/.test(l));
    lines.forEach((l, i) => {
      if (!l.startsWith("(fail)") || (recap >= 0 && i > recap)) return;
      let from = i;
      while (from > 0 && i - from < 25 && !/^\((pass|fail|skip|todo)\)/.test(lines[from - 1]) && !/^\S.*\.test\.ts:$/.test(lines[from - 1])) from--;
      let file = i;
      while (file > 0 && !/^\S.*\.test\.ts:$/.test(lines[file])) file--;
      out.push(`in ${lines[file]}`, ...lines.slice(from, i + 1).filter((x) => x.trim() !== ""), "");
    });
  } else if (name === "deno") {
    const start = lines.findIndex((l) => /^\s*ERRORS\s*$/.test(l));
    if (start >= 0) out.push(...lines.slice(start, start + 120).filter((x) => x.trim() !== ""));
  } else {
    out.push(...lines.filter((l) => /error|TS\d{4}/i.test(l)).slice(0, 40));
  }
  return out;
}

const results = [];
for (const [name, [cmd, ...args]] of runs) {
  process.stdout.write(`\n=== npm test: ${name} ===\n`);
  const t0 = Date.now();
  const r = await run(cmd, args, { ...process.env, WISDOM_TEST_RUNTIME: name });
  const ok = r.status === 0;
  results.push({ name, ok, status: r.status, seconds: (Date.now() - t0) / 1000, failed: ok ? [] : failures(name, r.lines) });
}
process.stdout.write("\n=== npm test: summary ===\n");
for (const r of results) {
  if (r.ok) continue;
  process.stdout.write(`--- what failed on ${r.name} ---\n${r.failed.length > 0 ? r.failed.slice(0, 150).join("\n") : "(no failed test named: see the full output above)"}\n`);
}
for (const r of results) process.stdout.write(`${r.name}: ${r.ok ? "passed" : `FAILED (exit ${r.status})`} in ${r.seconds.toFixed(1)} s\n`);
const failed = results.filter((r) => !r.ok).length;
process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
