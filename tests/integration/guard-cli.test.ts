/**
 * The guard with real services and real clients, as an operator would run them: a real redis-server
 * behind `wisdom guard`, used by redis-cli through `wisdom tunnel`; an HTTP server fetched with curl
 * through the tunnel; `wisdom connect` driven through pipes the way ssh drives a ProxyCommand, and by a
 * real ssh client; the exit codes of `wisdom connect`. Every wisdom command runs as a subprocess on the
 * runtime running the tests.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { cliCommand, execCli, runCli, spawnUntil } from "../helpers/cli.ts";
import { startRedis } from "../helpers/redis.ts";
import { startUpstream, testGuard } from "../helpers/guard.ts";
import { testServer, waitFor } from "../helpers/server.ts";

const SECRET = { WISDOM_SECRET: "guard-cli-test-secret-0123456789abcdef" };

function need(bin: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) throw new Error(`${bin} not found: install Debian's ${pkg} package (scripts/ensure-deps.mjs)`);
}

/** Run a program to completion (bounded, never blocking this process: in-process servers must keep serving). */
function run(cmd: string, args: string[], input?: string, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; bytes: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({ code, stdout: bytes.toString(), bytes, stderr });
    });
    child.stdin!.end(input ?? "");
  });
}

const tunnelArgs = (guardPort: number) => ["tunnel", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${guardPort}`, "--threads", "1"];
const TUNNEL_READY = /tunnel listening 127\.0\.0\.1:(\d+)/;

describe("wisdom guard with real services and clients", () => {
  test("redis-cli through wisdom tunnel reaches a real redis-server behind the guard", async () => {
    need("redis-cli", "redis-tools");
    await using redis = await startRedis();
    await using g = await testGuard(redis.port, { difficulty: 10 });
    await using tunnel = await spawnUntil(tunnelArgs(g.port), TUNNEL_READY);
    const cli = (...a: string[]) => run("redis-cli", ["-h", "127.0.0.1", "-p", String(tunnel.port), ...a]);
    assert.equal((await cli("PING")).stdout.trim(), "PONG");
    assert.equal((await cli("SET", "guarded:key", "through the gate")).stdout.trim(), "OK");
    assert.equal((await cli("GET", "guarded:key")).stdout.trim(), "through the gate");
    // One solved stream per redis-cli connection.
    assert.equal(g.stats.proofsOk, 3);
    await waitFor(() => g.stats.closed.forwarded === 3, 3000, "three relayed streams closed");
  });

  test("curl through wisdom tunnel fetches from an HTTP server behind `wisdom guard` (both subprocesses)", async () => {
    need("curl", "curl");
    const body = new Uint8Array(3 << 20);
    for (let o = 0; o < body.length; o += 65536) crypto.getRandomValues(body.subarray(o, o + 65536));
    const web = http.createServer((req, res) => {
      if (req.url === "/file") res.end(body);
      else res.end(`hello ${req.url}`);
    });
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", () => r()));
    try {
      const webPort = (web.address() as AddressInfo).port;
      await using guard = await spawnUntil(
        ["guard", "--listen", "127.0.0.1:0", "--upstream", `127.0.0.1:${webPort}`, "--difficulty", "8", "--metrics-listen", "", "--log-format", "json"],
        /"msg":"guarding","address":"127\.0\.0\.1:(\d+)"/,
        SECRET,
      );
      await using tunnel = await spawnUntil(tunnelArgs(guard.port), TUNNEL_READY);
      const hello = await run("curl", ["-sS", "--max-time", "20", `http://127.0.0.1:${tunnel.port}/x`]);
      assert.equal(hello.stdout, "hello /x", hello.stderr);
      const file = await run("curl", ["-sS", "--max-time", "20", `http://127.0.0.1:${tunnel.port}/file`]);
      assert.equal(file.code, 0, file.stderr);
      assert.equal(createHash("sha256").update(file.bytes).digest("hex"), createHash("sha256").update(body).digest("hex"));
    } finally {
      web.close();
    }
  });

  test("wisdom connect as an ssh ProxyCommand over pipes: stdin to the service, its bytes to stdout, stdin's end is a half-close", async () => {
    // A service that speaks first (as an SSH server does), then answers after the client's FIN.
    await using up = await startUpstream((c) => {
      c.socket.write("SSH-2.0-wisdom-test\r\n");
      void c.ended.then(() => c.socket.end(`read ${c.received().length} bytes: ${c.received().toString().split("\r\n")[0]}`));
    });
    await using g = await testGuard(up.port, { difficulty: 8 });
    const [cmd, args] = cliCommand(["connect", `127.0.0.1:${g.port}`, "--threads", "1"]);
    const r = await run(cmd, args, "SSH-2.0-OpenSSH_9.2\r\n" + "x".repeat(100_000));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `SSH-2.0-wisdom-test\r\nread ${21 + 100_000} bytes: SSH-2.0-OpenSSH_9.2`);
    assert.equal(r.stderr, "");
  });

  test("a real ssh client with -o ProxyCommand='wisdom connect %h:%p' reaches the service behind the guard", async () => {
    need("ssh", "openssh-client");
    let banner!: (s: string) => void;
    const gotBanner = new Promise<string>((r) => (banner = r));
    await using up = await startUpstream((c) => {
      c.socket.write("SSH-2.0-wisdom-test\r\n");
      c.socket.on("data", () => {
        const text = c.received().toString();
        if (text.includes("\r\n")) banner(text.split("\r\n")[0]!);
      });
    });
    await using g = await testGuard(up.port, { difficulty: 8 });
    const [cmd, args] = cliCommand(["connect", "%h:%p", "--threads", "1", "-q"]);
    const proxy = [cmd, ...args].map((a) => (/^[\w@%:./=-]+$/.test(a) ? a : `'${a}'`)).join(" ");
    const ssh = run("ssh", [
      "-o", `ProxyCommand=${proxy}`, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
      "-o", "ConnectTimeout=15", "-p", String(g.port), "tester@127.0.0.1", "true",
    ]);
    // The service gets OpenSSH's own banner through the guard (the fake server cannot go on with the key exchange).
    assert.match(await gotBanner, /^SSH-2\.0-OpenSSH/);
    // The service hangs up: ssh sees the end of the ProxyCommand's stdout and exits (it would wait forever otherwise).
    up.conns[0]!.socket.end();
    const t0 = performance.now();
    const r = await ssh;
    assert.notEqual(r.code, null, "ssh exited by itself");
    assert.ok(performance.now() - t0 < 10_000);
    assert.equal(g.stats.proofsOk, 1);
  });

  test("wisdom guard without an upstream is a configuration error (exit 2); connect and tunnel check their flags (exit 2)", async () => {
    const g = await runCli(["guard", "--listen", "127.0.0.1:0"], SECRET);
    assert.equal(g.code, 2);
    assert.match(g.stderr, /upstream: required by wisdom guard/);
    assert.equal(g.stdout, "");
    const named = await runCli(["guard", "--listen", "localhost:0", "--upstream", "127.0.0.1:1", "--upstream-proxy-protocol", "v2"], SECRET);
    assert.equal(named.code, 2, "a PROXY v2 header needs an IP listen address");
    assert.match(named.stderr, /upstream_proxy_protocol v2 needs listen to be an IP address/);
    const bad = await runCli(["guard", "--upstream", "nowhere"], SECRET);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /upstream \(from --upstream\)/);
    assert.equal((await runCli(["connect"])).code, 2);
    assert.match((await runCli(["connect", "127.0.0.1:1", "--effort", "+17"])).stderr, /--effort/);
    assert.match((await runCli(["tunnel", "--listen", "127.0.0.1:0"])).stderr, /--to: HOST:PORT is required/);
    for (const cmd of ["guard", "connect", "tunnel"]) {
      const h = await runCli([cmd, "--help"]);
      assert.equal(h.code, 0);
      assert.match(h.stdout, new RegExp(`Usage: wisdom ${cmd}`));
    }
  });

  test("wisdom connect exit codes: 4 against a quote server (not a guard), 7 when the upstream stays down", async () => {
    await using quotes = await testServer({ difficulty: 4 });
    const notGuard = await execCli(["connect", `127.0.0.1:${quotes.port}`, "--threads", "1"]);
    assert.equal(notGuard.code, 4, notGuard.stderr);
    assert.match(notGuard.stderr, /is this a wisdom guard/);
    const up = await startUpstream();
    const downPort = up.port;
    await up[Symbol.asyncDispose]();
    await using g = await testGuard(downPort, { difficulty: 4 });
    const down = await execCli(["connect", `127.0.0.1:${g.port}`, "--threads", "1", "--timeout", "2"]);
    assert.ok(down.code === 7 || down.code === 5, `${down.code} ${down.stderr}`);
    assert.match(down.stderr, /UPSTREAM_UNAVAILABLE/);
  });
});
