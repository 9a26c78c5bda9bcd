/** The CLI, in-process (main() with captured streams) and as real subprocesses on this runtime. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execCli, runCli, spawnServer } from "../helpers/cli.ts";

describe("wisdom CLI in-process", () => {
  test("version and --version print the version; --json adds commit and runtime", async () => {
    for (const argv of [["version"], ["--version"], ["-v"]]) {
      const r = await runCli(argv);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^wisdom \d+\.\d+\.\d+ \(/);
    }
    const j = JSON.parse((await runCli(["version", "--json"])).stdout);
    assert.match(j.version, /^\d+\.\d+\.\d+$/);
    assert.ok(["bun", "deno"].includes(j.runtime));
    assert.equal(typeof j.commit, "string");
  });
  test("--help everywhere, exit 0, on stdout", async () => {
    for (const argv of [["--help"], ["serve", "--help"], ["fetch", "--help"], ["keygen", "--help"], ["version", "--help"], ["bench", "--help"]]) {
      const r = await runCli(argv);
      assert.equal(r.code, 0, argv.join(" "));
      assert.match(r.stdout, /Usage: wisdom/);
    }
  });
  test("bench --json prints one object with every documented key, measured (a short run)", async () => {
    const r = await execCli(["bench", "--json", "--seconds", "0.3", "--threads", "2"], {}, 60_000);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    for (const k of ["runtime", "kernel", "threads", "solver_hps_1", "solver_hps_all", "verify_per_s", "mint_per_s", "frames_encoded_per_s", "frames_decoded_per_s"]) {
      assert.ok(k in j, `missing ${k}`);
    }
    assert.ok(["native", "wasm-simd", "js"].includes(j.kernel), j.kernel);
    assert.equal(j.threads, 2);
    for (const k of ["solver_hps_1", "solver_hps_all", "verify_per_s", "mint_per_s", "frames_encoded_per_s", "frames_decoded_per_s"]) {
      assert.ok(Number.isFinite(j[k]) && j[k] > 0, `${k} = ${j[k]}`);
    }
    // --only leaves the other parts out of the text report instead of printing zeros.
    const t = await runCli(["bench", "--only", "verify", "--seconds", "0.3"]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^verify +[\d.]+ [kM]\/s proofs$/m);
    assert.doesNotMatch(t.stdout, /solver/);
    assert.equal((await runCli(["bench", "--only", "gpu"])).code, 2);
  });
  test("no command prints help and exits 2; an unknown command exits 2 with a pointer to --help", async () => {
    assert.equal((await runCli([])).code, 2);
    const r = await runCli(["frobnicate"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown command "frobnicate"/);
    assert.match(r.stderr, /Run 'wisdom --help' for usage/, "not to the help of a command that does not exist");
    const bad = await runCli(["fetch", "--frobnicate"]);
    assert.match(bad.stderr, /Run 'wisdom fetch --help' for usage/, "a known command's own help");
  });
  test("serve --help: every value flag shows what its value looks like, and the descriptions line up", async () => {
    const r = await runCli(["serve", "--help"]);
    assert.equal(r.code, 0);
    const rows = r.stdout.split("\n").filter((l) => /^  -/.test(l));
    assert.ok(rows.length > 40);
    // Where the description starts: after the flag (and its value), at the first run of two spaces.
    const starts = new Set(rows.map((l) => 2 + /^\S.*?\s{2,}/.exec(l.slice(2))![0].length));
    assert.equal(starts.size, 1, `descriptions start in one column: ${[...starts].join(",")}`);
    for (const [flag, value] of [["--listen", "HOST:PORT"], ["--difficulty", "N"], ["--first-byte-timeout-ms", "MS"], ["--log-format", "pretty|json"], ["--store", "URL"], ["--secret-file", "FILE"], ["--proxy-trusted", "CIDRS"], ["--firewall", "off|nft"]]) {
      assert.ok(rows.some((l) => l.startsWith(`  ${flag} ${value} `)), `${flag} ${value}`);
    }
  });
  test("keygen prints a fresh 43-character secret each time", async () => {
    const a = (await runCli(["keygen"])).stdout.trim();
    const b = (await runCli(["keygen"])).stdout.trim();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
    assert.equal((await runCli(["keygen", "extra"])).code, 2);
  });
  test("serve with a bad config lists every problem and exits 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wisdom-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "difficulty: 99\nlisten: nowhere\nbogus: 1\n");
    const r = await runCli(["serve", "--config", file, "--frame-timeout-ms", "abc"]);
    assert.equal(r.code, 2);
    for (const re of [/difficulty \(from .*bad\.yaml\)/, /listen \(from .*bad\.yaml\)/, /bogus .*unknown key/, /frame_timeout_ms \(from --frame-timeout-ms\)/]) assert.match(r.stderr, re);
  });
  test("serve with an unknown flag, a missing config file or a short secret exits 2", async () => {
    assert.equal((await runCli(["serve", "--nope"])).code, 2);
    const missing = await runCli(["serve", "--config", "/nonexistent/w.yaml"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read \/nonexistent\/w\.yaml/);
    const short = await runCli(["serve", "--listen", "127.0.0.1:0"], { WISDOM_SECRET: "short" });
    assert.equal(short.code, 2);
    assert.doesNotMatch(short.stderr, /short"/);
  });
  test("fetch usage errors exit 2", async () => {
    for (const argv of [["fetch", "--count", "0"], ["fetch", "--timeout", "x"], ["fetch", "a:b:c"], ["fetch", "--max-difficulty", "40"], ["fetch", "--mode", "fast"], ["fetch", "h:1", "h:2"]]) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
    }
  });
});

describe("wisdom serve as a subprocess", () => {
  test("logs JSON lines on a pipe, never the secret, and exits 0 on SIGTERM", async () => {
    const secret = "subprocess-secret-value-0123456789";
    await using srv = await spawnServer(["--difficulty", "4"], { WISDOM_SECRET: secret });
    srv.signal("SIGTERM");
    assert.equal(await srv.exited, 0);
    const lines = srv.stderr.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.msg === "listening" && l.difficulty === 4 && l.key_source === "env"));
    assert.ok(lines.some((l) => l.msg === "stopped"));
    assert.doesNotMatch(srv.stderr, new RegExp(secret));
  });
  test("warns when it has no secret", async () => {
    await using srv = await spawnServer([], {});
    srv.signal("SIGINT");
    assert.equal(await srv.exited, 0);
    assert.match(srv.stderr, /random per-process key/);
  });
  test("fetch from a closed port exits 3", async () => {
    const r = await execCli(["fetch", "127.0.0.1:1", "--timeout", "5"]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Cannot connect/);
  });
});
