/**
 * /debug/pprof/ on a real server on loopback: a CPU profile taken while the gate is busy names the gate's
 * hot functions and opens in `go tool pprof` (Debian golang-go; scripts/ensure-deps.mjs installs it),
 * one profile at a time, bad `seconds` refused, a heap profile, nothing there with debug_runtime off,
 * and SIGUSR2 writing a profile to profile_dir from a real `wisdom serve` process.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Profile } from "pprof-format";
import { runtimeName } from "../../src/shared/runtime/name.ts";
import { cliCommand, ROOT, signal, spawnCli } from "../helpers/cli.ts";
import { NO_LIMITS, testServer } from "../helpers/server.ts";

const work = mkdtempSync(join(tmpdir(), "wisdom-pprof-"));
after(() => rmSync(work, { recursive: true, force: true }));

const get = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
};

/** `go tool pprof -top` on a profile file; fails naming the Debian package when Go is missing. */
function pprofTop(file: string, extra: string[] = []): string {
  const r = spawnSync("go", ["tool", "pprof", "-top", "-nodefraction=0", ...extra, file], { encoding: "utf8", timeout: 60_000, env: { ...process.env, HOME: process.env.HOME ?? work } });
  if (r.error) throw new Error(`go tool pprof did not run (${r.error.message}): install Debian's golang-go (node scripts/ensure-deps.mjs)`);
  assert.equal(r.status, 0, `go tool pprof failed:\n${r.stderr}`);
  return r.stdout;
}

/** Function names and files on each sample's stack, with its values. */
function samples(p: Profile) {
  const s = p.stringTable.strings;
  const fn = new Map(p.function.map((f) => [Number(f.id), f]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  return p.sample.map((x) => ({
    frames: x.locationId.map((id) => fn.get(Number(loc.get(Number(id))!.line[0]!.functionId))!).map((f) => ({ name: s[Number(f.name)]!, file: s[Number(f.filename)]! })),
    value: x.value.map(Number),
  }));
}

describe("/debug/pprof/ (debug_runtime: on)", () => {
  test("a 4 s CPU profile of a busy gate decodes, names verifySolution and the gate's handlers, and go tool pprof -top opens it", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0", debug_runtime: "on", difficulty: 2, ...NO_LIMITS });
    // The load comes from another process (`wisdom load`'s solving flood), so the profile of this one is
    // the server's: with the clients in this process too, the gate took 2-3 % of the samples and
    // verifySolution 1 to 18 of about 1,900 in 4 s, and a loaded CI run caught none.
    const flood = spawnCli(["load", `127.0.0.1:${srv.port}`, "--profile", "spam", "--spam-threads", "1", "--rest", "0", "--duration", "20", "--json"]);
    let r, served = 0;
    try {
      const t0 = performance.now();
      while (srv.stats.proofsOk < 50) {
        assert.ok(performance.now() - t0 < 15_000, `the flood got ${srv.stats.proofsOk} proofs accepted in 15 s`);
        await new Promise((res) => setTimeout(res, 50));
      }
      const before = srv.stats.proofsOk;
      r = await get(srv.http!.port, "/debug/pprof/profile?seconds=4");
      served = srv.stats.proofsOk - before;
    } finally {
      const exited = new Promise((res) => flood.once("exit", res));
      signal(flood, "SIGKILL");
      await exited;
    }
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/octet-stream");
    assert.ok(served > 50, `only ${served} proofs accepted while profiling`);
    const raw = gunzipSync(r.body);
    const p = Profile.decode(raw);
    const types = p.sampleType.map((x) => p.stringTable.strings[Number(x.type)]);
    assert.deepEqual(types, ["samples", "cpu"]);
    assert.ok(Number(p.durationNanos) >= 3.5e9 && Number(p.durationNanos) < 7e9, `duration ${p.durationNanos} ns`);
    const all = samples(p);
    const total = all.reduce((a, s) => a + s.value[0]!, 0);
    assert.ok(total > 200, `only ${total} samples in 4 s`); // 560-590 here with the server alone busy
    const on = (name: string, file: string) => all.filter((s) => s.frames.some((f) => f.name === name && f.file.includes(file))).reduce((a, s) => a + s.value[0]!, 0);
    // The gate's own work: checking proofs (HMAC, then one SHA-256) inside its connection handlers.
    console.error(`pprof test: verifySolution on ${on("verifySolution", "shared/pow/challenge.ts")} of ${total} samples; ${served} proofs`);
    assert.ok(on("verifySolution", "shared/pow/challenge.ts") > 0, "verifySolution (shared/pow/challenge.ts) is on no sampled stack");
    assert.ok(all.some((s) => s.frames.some((f) => f.file.includes("shared/gate/"))), "no sampled stack passes through shared/gate/");
    const file = join(work, "cpu.pb.gz");
    writeFileSync(file, r.body);
    const top = pprofTop(file);
    assert.match(top, /Type: cpu/);
    assert.match(top, /verifySolution/);
  });

  test("a second CPU profile while one runs is 409; the first still completes", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0", debug_runtime: "on" });
    const first = get(srv.http!.port, "/debug/pprof/profile?seconds=1");
    const t0 = performance.now();
    while (!srv.profiles!.cpuBusy) {
      assert.ok(performance.now() - t0 < 5000, "the first profile did not start");
      await new Promise((res) => setTimeout(res, 5));
    }
    const second = await get(srv.http!.port, "/debug/pprof/profile?seconds=1");
    assert.equal(second.status, 409);
    assert.match(new TextDecoder().decode(second.body), /already being taken/);
    const r = await first;
    assert.equal(r.status, 200);
    // An idle server may yield no samples in 1 s (Bun samples only while JavaScript runs): the profile
    // must still be a whole pprof document with its sample types (the busy-gate test checks samples).
    assert.ok(Profile.decode(gunzipSync(r.body)).sampleType.length > 0);
    assert.equal(srv.profiles!.cpuBusy, false);
  });

  test("seconds that are not an integer from 1 to 60 get 400 and start nothing", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0", debug_runtime: "on" });
    for (const s of ["0", "61", "-1", "1.5", "abc", "", "1e1", "99999999", "%00"]) {
      const r = await get(srv.http!.port, `/debug/pprof/profile?seconds=${s}`);
      assert.equal(r.status, 400, `seconds=${s}`);
      assert.match(new TextDecoder().decode(r.body), /seconds must be an integer from 1 to 60/);
      assert.equal(srv.profiles!.cpuBusy, false);
    }
  });

  test("the heap profile is gzipped pprof of in-use objects and space that go tool pprof opens; the index lists both", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0", debug_runtime: "on" });
    // JS objects (not ArrayBuffer contents, which live outside the JS heap): several MB the heap must show
    const keep = Array.from({ length: 100_000 }, (_, i) => ({ i, s: `kept-${i}`, a: [i, i + 1] }));
    const r = await get(srv.http!.port, "/debug/pprof/heap");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("x-heap-profile"), runtimeName() === "deno" ? "sampling" : "snapshot");
    const p = Profile.decode(gunzipSync(r.body));
    assert.deepEqual(p.sampleType.map((x) => p.stringTable.strings[Number(x.type)]), ["inuse_objects", "inuse_space"]);
    const space = samples(p).reduce((a, s) => a + s.value[1]!, 0);
    assert.ok(space > 1_000_000, `only ${space} bytes in use`);
    const file = join(work, "heap.pb.gz");
    writeFileSync(file, r.body);
    assert.match(pprofTop(file, ["-sample_index=inuse_space"]), /Type: inuse_space/);
    assert.equal(keep.length, 100_000);
    const index = await get(srv.http!.port, "/debug/pprof/");
    assert.equal(index.status, 200);
    const html = new TextDecoder().decode(index.body);
    assert.match(html, /href="profile\?seconds=30"/);
    assert.match(html, /href="heap"/);
  });
});

describe("/debug/pprof/ (debug_runtime: off, the default)", () => {
  test("every profile path is 404 and no profiler is created", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0" });
    assert.equal(srv.profiles, null);
    for (const path of ["/debug/pprof/", "/debug/pprof", "/debug/pprof/profile?seconds=1", "/debug/pprof/heap", "/debug/pprof/goroutine"]) {
      assert.equal((await get(srv.http!.port, path)).status, 404, path);
    }
  });
});

/** `wisdom serve` as its own process on the runtime running the tests; resolves once it logged "listening". */
async function serveProcess(args: string[], allowWrite?: string) {
  const [cmd, argv] = cliCommand(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", ...args]);
  if (allowWrite && runtimeName() === "deno") argv.splice(1, 0, `--allow-write=${allowWrite}`); // Deno writes only where allowed
  const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, WISDOM_SECRET: "pprof-test-secret-0123456789abcdef" }, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (d) => (log += d));
  const waitLog = async (re: RegExp, what: string) => {
    const t0 = performance.now();
    while (!re.test(log)) {
      if (performance.now() - t0 > 30_000 || child.exitCode !== null) throw new Error(`no ${what} in the log:\n${log}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const stop = async () => {
    signal(child, "SIGTERM");
    await new Promise((res) => (child.exitCode !== null ? res(null) : child.on("close", res)));
  };
  try {
    await waitLog(/"msg":"listening"/, "listening");
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    child,
    get log() {
      return log;
    },
    waitLog,
    metricsPort: () => Number(/"metrics":"127\.0\.0\.1:(\d+)"/.exec(log)?.[1]),
    [Symbol.asyncDispose]: stop,
  };
}

describe("a real wisdom serve process", () => {
  test("a CPU profile longer than Bun's default idle timeout (10 s, checked every 4 s) is not cut off", async () => {
    await using srv = await serveProcess(["--metrics-listen", "127.0.0.1:0", "--debug-runtime", "on"]);
    // A raw HTTP/1.1 request, as curl or go tool pprof send it.
    const { connect } = await import("node:net");
    const t0 = performance.now();
    const reply = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const sock = connect(srv.metricsPort(), "127.0.0.1", () => sock.write("GET /debug/pprof/profile?seconds=15 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
      sock.on("data", (d: Buffer) => chunks.push(d));
      sock.on("close", () => resolve(Buffer.concat(chunks)));
      sock.on("error", () => undefined);
    });
    assert.match(reply.subarray(0, 20).toString("latin1"), /^HTTP\/1\.1 200/, `no answer after ${Math.round(performance.now() - t0)} ms`);
    assert.ok(performance.now() - t0 >= 14_900, "the profile ended early");
  });

  test("wisdom serve writes a CPU profile to profile_dir on SIGUSR2 and logs where", { skip: process.platform === "win32" }, async () => {
    const dir = mkdtempSync(join(work, "sig-"));
    await using srv = await serveProcess(["--metrics-listen", "", "--profile-dir", dir, "--profile-seconds", "1"], dir);
    signal(srv.child, "SIGUSR2");
    await srv.waitLog(/"msg":"CPU profile written"/, "CPU profile written");
    const files = readdirSync(dir).filter((f) => /^wisdom-cpu-\d+-\d{8}T\d{6}Z\.pb\.gz$/.test(f));
    assert.equal(files.length, 1, readdirSync(dir).join(","));
    assert.ok(srv.log.includes(join(dir, files[0]!)), "the log names the file");
    const p = Profile.decode(gunzipSync(readFileSync(join(dir, files[0]!))));
    assert.equal(p.stringTable.strings[Number(p.sampleType[1]!.type)], "cpu");
    assert.match(pprofTop(join(dir, files[0]!)), /Type: cpu/);
  });

  test("a profile_dir that does not exist is a configuration error at start", async () => {
    await assert.rejects(testServer({ profile_dir: join(work, "missing") }), (err: Error) => err.name === "ConfigError" && /profile_dir: .*does not exist/.test(err.message));
  });
});
