/**
 * What a gate thread loads (serve --threads): the modules src/shared/serve/gate-thread.ts imports
 * statically, followed through the source and into the packages, load no `node:` module and no CommonJS
 * package, and use the `process` global only where a gate thread on Deno does not reach it. On Deno
 * each of these brings the Node compatibility layer into the Worker, about 4 MB of resident memory per
 * thread (runtime/process-info.ts, docs/OPERATIONS.md); what only some configurations need is loaded
 * with import(). The walk reads import and export-from statements; `import type`, imports of types
 * alone and dynamic import() load nothing at start and are left out, as TypeScript leaves them out.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname ?? dirname(new URL(import.meta.url).pathname), "../..");

/** The specifiers a module's source loads when it is evaluated. */
export function staticImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^;"'`]*?)\s*from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;
  for (const m of code.matchAll(re)) {
    if (m[5] !== undefined) {
      out.push(m[5]); // a side-effect import
      continue;
    }
    if (m[2] !== undefined) continue; // import type / export type
    const clause = m[3]!;
    const named = /^\{([\s\S]*)\}$/.exec(clause.trim());
    if (named && named[1]!.split(",").map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith("type "))) continue;
    out.push(m[4]!);
  }
  return out;
}

/** Package name of a bare specifier (`@scope/name/sub` -> `@scope/name`). */
const packageOf = (spec: string) => spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");

interface PackageJson {
  type?: string;
  main?: string;
  module?: string;
  exports?: unknown;
}
const packageJson = (name: string): PackageJson => JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8"));

/** The conditions Deno resolves a package's exports with, in its order of preference. */
const CONDITIONS = ["deno", "node", "import", "default"];

/** An exports target for these conditions (Node's rules: an object's first key that is a condition wins). */
function target(t: unknown): string | null {
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return t.map(target).find((x) => x !== null) ?? null;
  if (t && typeof t === "object") {
    for (const [k, v] of Object.entries(t)) if (CONDITIONS.includes(k)) {
      const r = target(v);
      if (r !== null) return r;
    }
  }
  return null;
}

/** The file (from the root) an ES module package's specifier loads, or null for a CommonJS package. */
function resolvePackage(spec: string): string | null {
  const name = packageOf(spec);
  const pkg = packageJson(name);
  if (pkg.type !== "module") return null;
  const sub = `.${spec.slice(name.length)}` || ".";
  const exp = pkg.exports;
  let file: string | null = null;
  if (typeof exp === "object" && exp !== null && !Array.isArray(exp) && Object.keys(exp).every((k) => k.startsWith("."))) {
    const map = exp as Record<string, unknown>;
    if (sub in map) file = target(map[sub]);
    else for (const [k, v] of Object.entries(map)) {
      const star = k.indexOf("*");
      if (star >= 0 && sub.startsWith(k.slice(0, star)) && sub.endsWith(k.slice(star + 1))) {
        file = target(v)?.replace("*", sub.slice(star, sub.length - (k.length - star - 1))) ?? null;
        break;
      }
    }
  } else if (sub === ".") file = exp !== undefined ? target(exp) : (pkg.module ?? pkg.main ?? "index.js");
  else file = sub;
  assert.ok(file !== null, `cannot resolve ${spec} in ${name}'s package.json`);
  return join("node_modules", name, file);
}

/** Every module reached from `entry` by static imports (files by their path from the root), with the chain that reached it. */
function walk(entry: string): { reached: Map<string, string[]>; files: Set<string> } {
  const reached = new Map<string, string[]>([[entry, [entry]]]);
  const files = new Set([entry]);
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    const chain = reached.get(file)!;
    for (const spec of staticImports(readFileSync(join(ROOT, file), "utf8"))) {
      const local = spec.startsWith(".") || spec.startsWith("/");
      // A package's specifier is kept as it is (a CommonJS one is reported by it); an ES module's file is walked too.
      const key = local ? join(dirname(file), spec) : spec;
      if (reached.has(key)) continue;
      reached.set(key, [...chain, key]);
      const path = local ? key : spec.startsWith("node:") ? null : resolvePackage(spec);
      if (path === null) continue;
      assert.ok(existsSync(join(ROOT, path)), `${file} imports ${spec}, which does not exist (${path})`);
      files.add(path);
      if (!reached.has(path)) reached.set(path, [...chain, path]);
      if (/\.[mc]?[jt]s$/.test(path)) todo.push(path); // not package.json
    }
  }
  return { reached, files };
}

/** What a walk reached that a Deno gate thread must not load: node: modules and CommonJS packages, with their chains. */
function unwanted(reached: Map<string, string[]>, files: Set<string>): string[] {
  const bad: string[] = [];
  for (const [spec, chain] of reached) {
    if (files.has(spec)) continue;
    if (spec.startsWith("node:") || resolvePackage(spec) === null) bad.push(chain.join(" -> "));
  }
  return bad;
}

/** Whether code (comments aside) reads the `process` global. */
const usesProcess = (source: string) => /\bprocess\s*\??\.\s*[A-Za-z]/.test(source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, ""));

/** Files a gate thread loads that read `process`, and why a gate thread on Deno never runs that code. */
const PROCESS_OK: Record<string, string> = {
  "src/shared/runtime/process-info.ts": "only where Deno is not",
  "src/shared/runtime/name.ts": "runtimeVersion() on Node only",
  "src/shared/runtime/fd-limits.ts": "called by the main thread only (measureFds in serve/threads.ts, the fd gauges bound on thread 0)",
  "src/shared/runtime/heap-governor.ts": "Bun only: startHeapGovernor() returns null first elsewhere",
  "src/shared/runtime/shared-buffer.ts": "read after runtimeName() === \"bun\"",
  "src/shared/serve/debug-snapshot.ts": "the side listener's /debug/snapshot, on the main thread only",
};

describe("the modules a gate thread loads", () => {
  test("the walk sees what it must: value imports, re-exports and side effects, not types or import()", () => {
    const src = [
      'import { a } from "./a.ts";',
      'import type { B } from "./b.ts";',
      'import { type C, type D } from "./c.ts";',
      'import { type E, f } from "./e.ts";',
      'import * as g from "g";',
      'export { h } from "./h.ts";',
      'export type { I } from "./i.ts";',
      'import "./side.ts";',
      'const j = await import("./j.ts");',
      '// import { k } from "./k.ts";',
      '/* import { l } from "./l.ts"; */',
      "import {\n  m,\n  type N,\n} from 'node:m';",
    ].join("\n");
    assert.deepEqual(staticImports(src).sort(), ["./a.ts", "./e.ts", "./h.ts", "./side.ts", "g", "node:m"]);
  });

  test("gate-thread.ts reaches no node: module and no CommonJS package, in its own files or its packages'", () => {
    const { reached, files } = walk("src/shared/serve/gate-thread.ts");
    assert.ok(reached.size > 50, `the walk found only ${reached.size} modules`);
    assert.ok(reached.has("src/shared/gate/gate.ts") && reached.has("src/shared/observe/metrics.ts"), "the walk reaches the gate and its metrics");
    assert.ok([...files].some((f) => f.startsWith("node_modules/valibot/")), "the walk goes into the packages");
    assert.deepEqual(unwanted(reached, files), [], "load these with import() where they are needed");
  });

  test("gate-thread.ts's modules use the process global only where a gate thread on Deno does not reach it", () => {
    const { files } = walk("src/shared/serve/gate-thread.ts");
    const using = [...files].filter((f) => /\.[mc]?[jt]s$/.test(f) && usesProcess(readFileSync(join(ROOT, f), "utf8")));
    assert.ok(using.length > 0, "the check finds the files that use it");
    assert.deepEqual(using.filter((f) => !(f in PROCESS_OK)), [], "on Deno, use runtime/process-info.ts (or explain here why a gate thread cannot reach the use)");
  });

  test("the walk finds what it must: node: modules and CommonJS packages, also behind an ES module package", () => {
    const server = walk("src/server.ts");
    const found = unwanted(server.reached, server.files);
    assert.ok(found.some((c) => c.endsWith("-> node:os")), "server.ts's node:os");
    assert.equal(resolvePackage("consola"), "node_modules/consola/dist/index.mjs"); // an ES module package that loads node: modules
    const consola = walk("node_modules/consola/dist/index.mjs");
    assert.ok(unwanted(consola.reached, consola.files).some((c) => / -> node:\w+$/.test(c)), "consola's node: imports");
    assert.equal(resolvePackage("prom-client/lib/registry.js"), null, "prom-client is CommonJS");
    assert.ok(usesProcess("if (process.platform === 'linux') {}") && !usesProcess("// process.pid\nconst s = 'this process';"));
  });
});
