/**
 * The repeatable mutation pass (issue 16): breaks one check at a time (scripts/mutation/mutations.ts) in a
 * scratch copy of the project and runs the tests that should notice. Killed: some test failed. Survived:
 * every test passed with the bug in place; that is a missing test, unless the mutation is marked
 * `equivalent` (behaviour no functional test can see, e.g. constant-time comparison; docs/POW.md).
 *
 *   npx bun scripts/mutation/run.ts [--runtime bun|deno] [--only ID,ID] [--json]
 *
 * Exits 1 when a non-equivalent mutation survives, or when the unmutated tests fail (nothing to measure).
 * The working tree is never touched: the copy lives in a temporary directory, removed at the end.
 * @module
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_TESTS, type Mutation, MUTATIONS } from "./mutations.ts";

const { values } = parseArgs({
  options: { runtime: { type: "string", default: "bun" }, only: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  process.stdout.write("Usage: npx bun scripts/mutation/run.ts [--runtime bun|deno] [--only ID,ID] [--json]\n");
  process.exit(0);
}
const runtime = values.runtime!;
if (runtime !== "bun" && runtime !== "deno") throw new Error(`--runtime must be bun or deno, got ${runtime}`);
const root = resolve(import.meta.dirname ?? ".", "../..");
const only = values.only ? new Set(values.only.split(",")) : null;
const chosen = MUTATIONS.filter((m) => !only || only.has(m.id));
if (only) for (const id of only) if (!MUTATIONS.some((m) => m.id === id)) throw new Error(`no mutation ${id}`);

// Every `find` must name exactly one place, or the pass would test nothing (or the wrong thing).
for (const m of chosen) {
  const text = readFileSync(join(root, m.file), "utf8");
  const n = text.split(m.find).length - 1;
  if (n !== 1) throw new Error(`mutation ${m.id}: expected exactly one match in ${m.file}, found ${n}`);
}

const scratch = mkdtempSync(join(tmpdir(), "wisdom-mutation-"));
for (const p of ["src", "tests", "scripts", "bench", "examples", "package.json", "deno.json", "bunfig.toml", "docs", "README.md"]) {
  if (existsSync(join(root, p))) cpSync(join(root, p), join(scratch, p), { recursive: true });
}
symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"));
const bin = (name: string) => (existsSync(join(root, "node_modules", ".bin", name)) ? join(root, "node_modules", ".bin", name) : name);

interface Outcome { id: string; file: string; risk: string; killed: boolean; equivalent: boolean; seconds: number; by: string }

function runTests(tests: readonly string[]): { ok: boolean; by: string; seconds: number } {
  const t0 = performance.now();
  const args = runtime === "bun"
    ? ["test", "--timeout", "60000", "--bail", ...tests.map((t) => `./${t}`)]
    : ["test", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run", "--allow-sys", "--allow-ffi", "--fail-fast", ...tests];
  const r = spawnSync(bin(runtime), args, { cwd: scratch, encoding: "utf8", timeout: 300_000, env: { ...process.env, NO_COLOR: "1" } });
  const out = `${r.stdout ?? ""}\n${r.stderr ?? ""}`;
  const failLine = runtime === "bun"
    ? out.split("\n").find((l) => l.startsWith("(fail)"))
    : out.split("\n").find((l) => / => .*FAILED|\.\.\. FAILED/.test(l));
  const by = r.error ? `runner: ${r.error.message}` : (failLine ?? (r.status === 0 ? "" : `exit ${r.status}`)).replace(/\s+/g, " ").trim().slice(0, 160);
  return { ok: r.status === 0 && !r.error, by, seconds: (performance.now() - t0) / 1000 };
}

const results: Outcome[] = [];
try {
  const groups = new Set(chosen.map((m) => (m.tests ?? DEFAULT_TESTS).join(" ")));
  for (const g of groups) {
    const base = runTests(g.split(" "));
    if (!base.ok) throw new Error(`the unmutated tests fail (${g}): ${base.by}; fix them before a mutation pass`);
    if (!values.json) process.stdout.write(`baseline ${runtime}: ${g} passed in ${base.seconds.toFixed(1)} s\n`);
  }
  for (const m of chosen) {
    const path = join(scratch, m.file);
    const original = readFileSync(path, "utf8");
    writeFileSync(path, original.replace(m.find, m.replace));
    let r;
    try {
      r = runTests(m.tests ?? DEFAULT_TESTS);
    } finally {
      writeFileSync(path, original);
    }
    const o: Outcome = { id: m.id, file: m.file, risk: m.risk, killed: !r.ok, equivalent: m.equivalent === true, seconds: r.seconds, by: r.by };
    results.push(o);
    if (!values.json) process.stdout.write(`${o.killed ? "killed  " : o.equivalent ? "equiv.  " : "SURVIVED"} ${m.id.padEnd(24)} ${r.seconds.toFixed(1).padStart(5)} s  ${o.killed ? o.by : m.risk}\n`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const survivors = results.filter((o) => !o.killed && !o.equivalent);
const summary = { runtime, mutations: results.length, killed: results.filter((o) => o.killed).length, equivalent: results.filter((o) => !o.killed && o.equivalent).length, survived: survivors.map((o) => o.id) };
if (values.json) process.stdout.write(`${JSON.stringify({ ...summary, results })}\n`);
else process.stdout.write(`\n${runtime}: ${summary.killed} of ${summary.mutations} killed, ${summary.equivalent} equivalent, ${survivors.length} survived${survivors.length ? `: ${summary.survived.join(", ")}` : ""}\n`);
process.exit(survivors.length === 0 ? 0 : 1);
