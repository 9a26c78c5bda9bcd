/**
 * The V8 flags a Deno `wisdom` starts with (src/shared/runtime/deno-v8-flags.ts) are the ones the
 * deno.json task, the README's `deno run` lines and `deno compile` pass, and they do cap a Worker's
 * young generation: a Worker allocating with survivors reaches at most two semi-spaces of the cap with
 * the task's flags, and more without them.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DENO_SEMI_SPACE_MB, DENO_V8_FLAGS, denoV8FlagsArg, parseDenoV8Flags } from "../../src/shared/runtime/deno-v8-flags.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (p: string) => readFileSync(root + p, "utf8");
const deno = root + "node_modules/.bin/deno";
const probe = root + "tests/helpers/young-generation-probe.ts";
const [shipped] = denoV8FlagsArg();

/** The largest young generation (MB) a Worker reached in the probe, started with `v8Args`. */
function youngMb(v8Args: string[]): number {
  const env = { ...process.env };
  delete env.DENO_V8_FLAGS; // it would come before v8Args, and set the "without" case
  const r = spawnSync(deno, ["run", "-A", ...v8Args, probe, "4000000"], { cwd: root, env, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const mb = Number(r.stdout.trim());
  assert.ok(Number.isFinite(mb) && mb > 0, `probe printed ${JSON.stringify(r.stdout)}`);
  return mb;
}

describe("Deno's V8 flags", () => {
  /** `line`'s words: the flag is there once, before the script (after it, it would be the CLI's argument). */
  const passes = (line: string, script: string) => {
    const words = line.split(/\s+/);
    assert.deepEqual(words.filter((a) => a.startsWith("--v8-flags")), [shipped], line);
    assert.ok(words.indexOf(shipped!) < words.indexOf(script), line);
  };

  test("one place: the deno.json task passes them", () => {
    passes(JSON.parse(read("deno.json")).tasks.wisdom as string, "src/main.ts");
    assert.equal(shipped, `--v8-flags=--max-semi-space-size=${DENO_SEMI_SPACE_MB}`);
  });

  test("the README's deno run lines for the CLI and deno compile pass them too", () => {
    const lines = read("README.md").split("\n").filter((l) => /deno run .*src\/main\.ts/.test(l));
    assert.ok(lines.length >= 1);
    for (const l of lines) passes(l.slice(l.indexOf("deno run")), "src/main.ts");
    assert.match(read("scripts/build-binaries.ts"), /\["compile", \.\.\.denoV8FlagsArg\(\),/);
  });

  test("a bench's --deno-v8-flags: the shipped ones, none, or a checked list", () => {
    assert.equal(parseDenoV8Flags(undefined, {}), DENO_V8_FLAGS);
    assert.deepEqual(parseDenoV8Flags("none", {}), []);
    assert.throws(() => parseDenoV8Flags("", {}), RangeError); // a flag given no value is not "none"
    assert.throws(() => parseDenoV8Flags(" , ", {}), RangeError); // nor is a list of nothing
    assert.throws(() => parseDenoV8Flags(undefined, { DENO_V8_FLAGS: "--max-semi-space-size=1" }), /DENO_V8_FLAGS/); // it would lose to ours
    assert.deepEqual(parseDenoV8Flags("--max_semi_space_size=1", {}), ["--max_semi_space_size=1"]); // V8's own spelling
    assert.deepEqual(denoV8FlagsArg([]), []);
    assert.deepEqual(parseDenoV8Flags("--max-semi-space-size=2, --trace-gc", {}), ["--max-semi-space-size=2", "--trace-gc"]);
    assert.deepEqual(denoV8FlagsArg(["--a=1", "--b"]), ["--v8-flags=--a=1,--b"]);
    for (const bad of ["max-semi-space-size=2", "--x=1 --y", "--x=$(id)", "--x=a,b"]) assert.throws(() => denoV8FlagsArg([bad]), RangeError, bad);
  });

  test("they cap a Worker's young generation, which grows past the cap without them", () => {
    const capped = youngMb([shipped!]);
    const free = youngMb([]);
    assert.ok(capped <= 2 * DENO_SEMI_SPACE_MB, `with ${shipped}: ${capped} MB`);
    assert.ok(free > 2 * DENO_SEMI_SPACE_MB, `without: ${free} MB`);
  });
});
