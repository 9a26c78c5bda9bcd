/** The README's configuration table is the schema's: every key, its default and its line (scripts/gen-config-table.ts). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CONFIG_KEYS } from "../../src/shared/config/schema.ts";
import { configTableRows, withConfigTable } from "../../src/shared/config/table.ts";

const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");

describe("README configuration table", () => {
  test("matches the schema (run scripts/gen-config-table.ts after changing a key)", () => {
    assert.equal(withConfigTable(readme), readme);
  });
  test("has one row per flat key", () => {
    assert.equal(configTableRows().length, CONFIG_KEYS.length);
    for (const k of CONFIG_KEYS) assert.ok(readme.includes(`| \`${k}\` |`), k);
  });
  test("withConfigTable() replaces a stale table and keeps what follows", () => {
    const stale = "# x\n\n| key | default | meaning |\n|---|---|---|\n| `listen` | `nowhere` | old |\n\nafter\n";
    const fresh = withConfigTable(stale);
    assert.ok(fresh.endsWith("\nafter\n"));
    assert.ok(!fresh.includes("nowhere"));
    assert.equal(fresh.split("\n").filter((l) => l.startsWith("| `")).length, CONFIG_KEYS.length);
  });
});
