/** Shell completions, run by real shells (Debian's bash, zsh and fish; npm test installs zsh and fish). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

async function script(shell: string): Promise<string> {
  const r = await runCli(["completion", shell]);
  assert.equal(r.code, 0);
  const file = join(mkdtempSync(join(tmpdir(), "wisdom-comp-")), `wisdom.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}
function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  if (r.error) throw new Error(`${cmd} not runnable (${r.error.message}); install Debian's ${cmd} package (npm test does this as root)`);
  return { code: r.status, out: r.stdout.trim(), err: r.stderr };
}

describe("wisdom completion", () => {
  test("bash completes subcommands, flags and flag values", async () => {
    const f = await script("bash");
    const complete = (words: string[]) =>
      sh("bash", ["-c", `source ${f}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _wisdom; echo "\${COMPREPLY[*]}"`]).out;
    assert.equal(complete(["wisdom", "fe"]), "fetch");
    assert.equal(complete(["wisdom", "fetch", "--j"]), "--json");
    assert.equal(complete(["wisdom", "serve", "--log-format", ""]), "pretty json");
    assert.match(complete(["wisdom", "serve", "--max-conn"]), /--max-connections/);
  });
  test("fish completes flags and values", async () => {
    const f = await script("fish");
    const r = sh("fish", ["-c", `source ${f}; complete -C "wisdom fetch --mo"; complete -C "wisdom fetch --mode "`]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /--mode/);
    assert.match(r.out, /reconnect/);
  });
  test("zsh accepts the script", async () => {
    const f = await script("zsh");
    const r = sh("zsh", ["-n", f]);
    assert.equal(r.code, 0, r.err);
  });
  test("an unknown shell is a usage error", async () => {
    assert.equal((await runCli(["completion", "tcsh"])).code, 2);
  });
});
