/** parseFlags() (cli/flags.ts) against node:util's parseArgs, which it stands in for in `wisdom fetch`. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { FETCH_FLAGS } from "../../src/client.ts";
import { parseFlags } from "../../src/shared/cli/flags.ts";

const node = (argv: string[]) => {
  const r = parseArgs({ args: argv, options: FETCH_FLAGS as Record<string, { type: "string" | "boolean"; short?: string }>, strict: true, allowPositionals: true });
  return { values: { ...r.values }, positionals: r.positionals };
};
const ours = (argv: string[]) => {
  const r = parseFlags(argv, FETCH_FLAGS);
  return { values: { ...r.values }, positionals: r.positionals };
};

describe("parseFlags()", () => {
  test("gives what parseArgs gives for fetch's flags", () => {
    const cases: string[][] = [
      [], ["h:1"], ["h:1", "--json"], ["--json", "h:1"], ["--count", "5"], ["--count=5"], ["--count=", "x"], ["-q"], ["-h"], ["--quiet", "--help"],
      ["--timeout", "2.5", "--max-difficulty", "20", "--threads", "3", "--mode", "same", "127.0.0.1:7077"], ["--mode=reconnect"],
      ["--", "--json"], ["h:1", "--", "-q", "x"], ["--count", "1", "--count", "2"], ["--json", "--json"], ["a", "b", "c"], ["--timeout=--1"], ["-qh"], ["-hq", "h:1"], ["-"],
    ];
    for (const argv of cases) assert.deepEqual(ours(argv), node(argv), JSON.stringify(argv));
  });

  test("refuses what parseArgs refuses: unknown flags, a missing value, a value for a boolean, a flag where a value belongs", () => {
    for (const argv of [["--frobnicate"], ["-x"], ["--count"], ["h:1", "--mode"], ["--json=yes"], ["--quiet=1"], ["--count", "-5"], ["--count", "--json"], ["-qx"]]) {
      assert.throws(() => node(argv), `parseArgs accepts ${JSON.stringify(argv)}`);
      assert.throws(() => ours(argv), TypeError, JSON.stringify(argv));
    }
  });
});
