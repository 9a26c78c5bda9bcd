/**
 * The single-file binaries: built by scripts/build-binaries.ts into a temporary directory, checksums
 * verified, the host binary serving and fetching on loopback, and the linux-arm64 binary doing the same
 * under qemu-aarch64-static (Debian qemu-user-static and libc6-arm64-cross; npm test installs them).
 */
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/cli.ts";

const out = mkdtempSync(join(tmpdir(), "wisdom-bin-"));
const bun = join(ROOT, "node_modules", ".bin", "bun");
const QEMU_ENV = { QEMU_LD_PREFIX: "/usr/aarch64-linux-gnu" };

function run(cmd: string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: timeoutMs });
  if (r.error) throw new Error(`${cmd[0]} did not run: ${r.error.message}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** serve on a free port with `prefix` (e.g. qemu), then fetch with the same binary; returns the fetch's JSON. */
async function serveAndFetch(prefix: string[], bin: string, env: Record<string, string>, mode: string) {
  const child = spawn(prefix[0] ?? bin, [...prefix.slice(1), ...(prefix.length ? [bin] : []), "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--difficulty", "8"], {
    env: { ...process.env, ...env, WISDOM_SECRET: "binary-test-secret-0123456789", WISDOM_LOG_FORMAT: "json" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  try {
    let log = "";
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${log}`)), 60_000);
      child.stderr!.on("data", (d) => {
        log += d;
        const m = /"address":"127\.0\.0\.1:(\d+)"/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    const f = run([...(prefix.length ? prefix : []), bin, "fetch", `127.0.0.1:${port}`, "--json", "--mode", mode, "--timeout", "60"], env, 90_000);
    assert.equal(f.code, 0, f.stderr);
    return JSON.parse(f.stdout);
  } finally {
    // spawnSync above blocks the loop, so an exit may not be seen yet: a server that died must not hide why
    try {
      if (child.pid && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    } catch (e) {
      if ((e as { code?: string }).code !== "ESRCH") throw e; // ESRCH: it had exited already
    }
  }
}

describe("compiled binaries", () => {
  let buildLog = "";
  before(() => {
    const b = run([bun, "scripts/build-binaries.ts", "--outdir", out, "--target", "linux-arm64", "--no-deno"], {}, 300_000);
    assert.equal(b.code, 0, `${b.stdout}${b.stderr}`);
    buildLog = b.stdout;
  });

  test("every binary is laid out by the functions a recorded run of the first build used (--bytecode-order)", () => {
    assert.match(buildLog, /recorded the bytecode order \(2 runs\)/, buildLog);
    const info = JSON.parse(readFileSync(join(out, "BUILD_INFO.json"), "utf8")) as { bytecode_order: boolean; outputs: string[] };
    assert.equal(info.bytecode_order, true);
    assert.deepEqual(info.outputs, ["wisdom", "wisdom-linux-arm64"]);
  });

  test("SHA256SUMS verifies every file", () => {
    const r = spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: out, encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /wisdom: OK/);
    assert.match(r.stdout, /wisdom-linux-arm64: OK/);
  });

  test("the host binary: version names its commit; serve and fetch on loopback in both answer modes", async () => {
    const v = JSON.parse(run([join(out, "wisdom"), "version", "--json"]).stdout);
    assert.notEqual(v.commit, "dev");
    assert.match(v.commit, /^[0-9a-f]{7,}/);
    assert.equal(v.runtime, "bun");
    for (const mode of ["same", "reconnect"]) {
      const q = await serveAndFetch([], join(out, "wisdom"), {}, mode);
      assert.equal(q.difficulty, 8);
      assert.equal(q.mode, mode);
      assert.ok(q.quote.length > 0);
    }
  });

  test("the host binary loads every subcommand's own module (each --help answers from the binary)", () => {
    for (const cmd of ["serve", "guard", "connect", "tunnel", "fetch", "bench", "load", "healthcheck", "completion", "keygen"]) {
      const r = run([join(out, "wisdom"), cmd, "--help"]);
      assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`Usage: wisdom ${cmd}`), cmd);
    }
  });

  test("the linux-arm64 binary under qemu-aarch64-static: version, serve and fetch", async () => {
    assert.ok(existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"), "libc6-arm64-cross is missing (npm test installs it)");
    const arm = join(out, "wisdom-linux-arm64");
    const v = run(["qemu-aarch64-static", arm, "version", "--json"], QEMU_ENV);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(JSON.parse(v.stdout).platform, "linux-arm64");
    const q = await serveAndFetch(["qemu-aarch64-static"], arm, QEMU_ENV, "same");
    assert.ok(q.quote.length > 0);
  });
});
