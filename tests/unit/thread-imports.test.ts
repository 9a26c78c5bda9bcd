/**
 * What a gate thread loads (serve --threads): the modules src/shared/serve/gate-thread.ts imports
 * statically, followed through the source, load no `node:` module and no CommonJS package. On Deno
 * either one brings the Node compatibility layer into the Worker, about 4.5 MB of resident memory per
 * thread (docs/OPERATIONS.md, threads); what only some configurations need is loaded with import().
 * The walk reads import and export-from statements; `import type`, imports of types alone and
 * dynamic import() load nothing at start and are left out, as TypeScript leaves them out.
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

function isEsmPackage(name: string): boolean {
  const pkg = JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { type?: string };
  return pkg.type === "module";
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
      const key = spec.startsWith(".") ? join(dirname(file), spec) : spec;
      if (reached.has(key)) continue;
      reached.set(key, [...chain, key]);
      if (spec.startsWith(".")) {
        assert.ok(existsSync(join(ROOT, key)), `${file} imports ${spec}, which does not exist`);
        files.add(key);
        if (/\.[mc]?[jt]s$/.test(key)) todo.push(key); // not package.json
      }
    }
  }
  return { reached, files };
}

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

  test("gate-thread.ts reaches no node: module and no CommonJS package", () => {
    const { reached, files } = walk("src/shared/serve/gate-thread.ts");
    assert.ok(reached.size > 50, `the walk found only ${reached.size} modules`);
    assert.ok(reached.has("src/shared/gate/gate.ts") && reached.has("src/shared/observe/metrics.ts"), "the walk reaches the gate and its metrics");
    const bad: string[] = [];
    for (const [spec, chain] of reached) {
      if (files.has(spec)) continue;
      if (spec.startsWith("node:") || !isEsmPackage(packageOf(spec))) bad.push(chain.join(" -> "));
    }
    assert.deepEqual(bad, [], "load these with import() where they are needed");
  });

  test("the walk fails where it must: the main thread's start loads node: modules and prom-client", () => {
    const { reached } = walk("src/server.ts");
    assert.ok([...reached.keys()].some((s) => s.startsWith("node:")), "server.ts reaches a node: module");
  });
});
