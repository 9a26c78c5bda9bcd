/**
 * The native load generator of the handshake benchmark (bench/go/loadgen, `--client-runtime go`),
 * built with `go build` and run as a process against real servers on loopback: it completes real
 * handshakes with a real gate (the gate's own counters agree), counts every connection that does not
 * end in a Quote as failed, keeps an open-loop rate, runs under `bench/handshake.ts --client-runtime go`,
 * and answers the protocol's test vector byte for byte (`go test`). Needs Debian's golang-go (scripts/ensure-deps.mjs installs it); without it the
 * build fails naming the package.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildLoadgen, goEnv, LOADGEN_SOURCE } from "../../bench/go/loadgen.ts";
import { mintChallenge } from "../../src/shared/pow/challenge.ts";
import { KeyRing } from "../../src/shared/pow/keys.ts";
import { encodeChallenge, encodeError } from "../../src/shared/protocol/messages.ts";
import { pickTransport, runtimeName } from "../../src/shared/transport/index.ts";
import type { Conn } from "../../src/shared/transport/types.ts";
import { NO_LIMITS, testServer } from "../helpers/server.ts";

const t = await pickTransport();
const bin = buildLoadgen();

interface Report {
  per_s: Record<string, number[]>;
  failed: Record<string, number>;
  total: Record<string, number>;
  cpu_s: Record<string, number>;
  sys_s: Record<string, number>;
}

/** Run the generator (asynchronously: the servers may live in this process) and parse its two lines. */
function loadgen(args: string[], timeoutMs = 15_000): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`loadgen ran over ${timeoutMs} ms: ${out}${err}`))), timeoutMs);
    child.on("close", (code) => (clearTimeout(timer), resolve({ code, lines: out.split("\n").filter((l) => l !== ""), stderr: err })));
  });
}

async function measure(targets: object[], sliceMs: number, rounds: number, width: number, warmupS: number, rate?: number): Promise<Report> {
  const r = await loadgen([JSON.stringify(targets), String(sliceMs), String(rounds), String(width), String(warmupS), ...(rate === undefined ? [] : [String(rate)])]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines.length, 2, r.lines.join("\n"));
  assert.equal(r.lines[0], "warm");
  return JSON.parse(r.lines[1]!) as Report;
}

/** A server that writes `open` to every connection, `reply` after its first bytes, then closes. */
async function fakeServer(open: Uint8Array, reply?: Uint8Array) {
  const l = await t.listen({ host: "127.0.0.1", port: 0 }, {
    open: (c: Conn) => (c.write(open), reply || c.end(), c),
    data: (c: Conn) => void (reply && (c.write(reply), c.end())), // the state open() returned: the connection
    close() {},
  });
  return { port: l.port, [Symbol.asyncDispose]: () => l.stop() };
}

/** Runs bench/handshake.ts with `args` on this runtime; it must exit 0. Its output, and its JSON report (the last line). */
async function handshakeBench(args: string[]): Promise<{ r: { code: number | null; out: string; err: string }; j: ReturnType<typeof JSON.parse> }> {
  const script = fileURLToPath(new URL("../../bench/handshake.ts", import.meta.url));
  const argv = [...(runtimeName() === "deno" ? ["run", "-A"] : []), script, ...args];
  const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ code, out, err }));
  });
  assert.equal(r.code, 0, r.err);
  return { r, j: JSON.parse(r.out.trim().split("\n").at(-1)!) };
}

describe("bench/go/loadgen: the native handshake load generator", () => {
  test("completes real handshakes with a gate at difficulty 1, no failures, and the gate served exactly as many quotes", async () => {
    await using srv = await testServer({ difficulty: 1, difficulty_max: 1, adaptive: "off", ...NO_LIMITS });
    const r = await measure([{ label: "gate", kind: "gate", ports: [srv.port] }], 300, 3, 16, 0);
    assert.equal(r.failed.gate, 0);
    assert.equal(r.per_s.gate!.length, 3);
    assert.ok(r.total.gate! >= 30, `only ${r.total.gate} handshakes in 0.9 s`);
    assert.ok(r.per_s.gate!.every((x) => x > 0), JSON.stringify(r.per_s));
    // The gate saw the same handshakes: every proof valid, one quote for each one counted.
    const quotes = Object.values(srv.stats.quotes).reduce((a, b) => a + b, 0);
    assert.equal(quotes, r.total.gate);
    assert.equal(srv.stats.proofsOk, r.total.gate);
    assert.deepEqual(srv.stats.proofsFailed, {});
    assert.ok(r.cpu_s.gate! >= 0 && r.sys_s.gate! <= r.cpu_s.gate!, JSON.stringify(r));
  });

  test("counts failures: bytes that are not protocol v1, an Error instead of a Quote, a refused port", async () => {
    await using bare = await fakeServer(new TextEncoder().encode("Know thyself. -- Socrates\n"));
    const ring = new KeyRing([{ id: "k", secret: new TextEncoder().encode("loadgen-test-secret-0123456789") }]);
    const challenge = encodeChallenge(mintChallenge(ring, { bits: 1, nowMs: Date.now(), ttlMs: 60_000, addr: "127.0.0.1", nonce: new Uint8Array(16) }));
    await using refusing = await fakeServer(challenge, encodeError("REPLAY", "This challenge was already spent"));
    // A port nothing listens on: a listener opened and closed again.
    const closed = await t.listen({ host: "127.0.0.1", port: 0 }, { open: () => null, data() {}, close() {} });
    const deadPort = closed.port;
    await closed.stop();
    const r = await measure([
      { label: "garbage", kind: "gate", ports: [bare.port] },
      { label: "error", kind: "gate", ports: [refusing.port] },
      { label: "refused", kind: "gate", ports: [deadPort] },
      { label: "bare", kind: "bare", ports: [bare.port] },
    ], 200, 1, 4, 0);
    for (const k of ["garbage", "error", "refused"]) {
      assert.equal(r.total[k], 0, `${k}: ${JSON.stringify(r)}`);
      // More than the 4 in flight: each failure came at once (not from the generator's 10 s deadline).
      assert.ok(r.failed[k]! > 4, `${k}: ${JSON.stringify(r)}`);
    }
    // The same bare server is a success for a "bare" target (any line, then the close).
    assert.equal(r.failed.bare, 0);
    assert.ok(r.total.bare! > 0);
  });

  test("open loop: a target's rate starts connection k at k/rate, so a slice holds rate x its length", async () => {
    await using srv = await testServer({ difficulty: 1, difficulty_max: 1, adaptive: "off", ...NO_LIMITS });
    const r = await measure([{ label: "gate", kind: "gate", ports: [srv.port], rate: 200 }], 500, 2, 64, 0, 5000);
    assert.equal(r.failed.gate, 0);
    // 100 connections per 0.5 s slice (k = 0..99 start before the end), whatever the global rate says.
    assert.ok(r.total.gate! >= 190 && r.total.gate! <= 202, `total ${r.total.gate}`);
  });

  test("rejects bad arguments with a message and status 2", async () => {
    for (const args of [[], ["[]", "100", "1", "1", "0"], ["not json", "100", "1", "1", "0"], ['[{"label":"x","kind":"gate","ports":[0]}]', "100", "1", "1", "0"], ['[{"label":"x","kind":"gate","ports":[1]}]', "100", "1", "5000", "0"]]) {
      const r = await loadgen(args);
      assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
      assert.match(r.stderr, /^loadgen: /);
    }
  });

  test("bench/handshake.ts --client-runtime go runs it as the generator and reports its CPU per handshake", async () => {
    const { r, j } = await handshakeBench(["--client-runtime", "go", "--seconds", "0.3", "--rounds", "2", "--warmup", "0", "--width", "8"]);
    assert.equal(j.client_runtime, "go");
    assert.deepEqual(j.failed, { bare: 0, gate: 0 });
    assert.ok(j.gate_handshakes_per_s > 0 && j.bare_per_s > 0, r.out);
    assert.deepEqual(Object.keys(j.client_cpu_us_per_handshake).sort(), ["bare", "gate"]);
  });

  test("bench/handshake.ts --threads 2 --processes: two threads and, as the control, two one-thread processes; forced collections by trigger from each gate", async () => {
    const { r, j } = await handshakeBench(["--client-runtime", "go", "--threads", "2", "--processes", "--rate-per-thread", "200", "--seconds", "0.3", "--rounds", "2", "--warmup", "0", "--width", "8"]);
    assert.deepEqual(j.failed, { bare: 0, gate: 0, gate_t2: 0, gate_p2: 0 });
    // Both processes of the control served (the generator takes their ports in turn) and are counted.
    assert.ok(j.cpu_us_per_handshake.gate_p2 > 0 && j.peak_rss_mb.gate_p2 > j.peak_rss_mb.gate, r.out);
    for (const k of ["gate", "gate_t2", "gate_p2"]) {
      const f = j.forced_gc_by_trigger[k];
      assert.deepEqual(Object.keys(f).sort(), ["heap", "ms", "period", "rss"], k);
      for (const v of Object.values(f)) assert.ok(Number.isFinite(v) && (v as number) >= 0, `${k}: ${JSON.stringify(f)}`);
    }
  });

  test("bench/handshake.ts --processes without --threads N is refused", async () => {
    const script = fileURLToPath(new URL("../../bench/handshake.ts", import.meta.url));
    const args = [...(runtimeName() === "deno" ? ["run", "-A"] : []), script, "--processes"];
    const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--processes needs --threads N/);
  });

  test("answers the protocol's test vector byte for byte and refuses challenges it cannot read (go test)", () => {
    const r = spawnSync("go", ["test", "-count=1", "."], { cwd: LOADGEN_SOURCE, env: goEnv(), encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^ok\s/m);
  });
});
