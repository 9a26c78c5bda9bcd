/** The library API (src/mod.ts) in-process, and the example programs run as real subprocesses on this runtime. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { bytesToHex } from "@noble/hashes/utils.js";
import { challengePrefix, ConfigError, encodeCounter, fetchQuote, FetchError, PowGate, serve } from "../../src/mod.ts";
import { solveReference } from "../../src/shared/pow/hashcash.ts";
import { runtimeName } from "../../src/shared/transport/index.ts";
import { signal } from "../helpers/cli.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
function runExample(file: string, args: string[], until?: RegExp): Promise<{ code: number | null; out: string; child: ReturnType<typeof spawn> }> {
  const argv = runtimeName() === "deno" ? ["run", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", file, ...args] : [file, ...args];
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve) => {
    const timer = setTimeout(() => signal(child, "SIGKILL"), 30_000);
    child.stdout!.on("data", (d) => {
      out += d;
      if (until && until.test(out)) {
        clearTimeout(timer);
        resolve({ code: null, out, child });
      }
    });
    child.stderr!.on("data", (d) => (out += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, child });
    });
  });
}

describe("library API", () => {
  test("serve() + fetchQuote() in one program", async () => {
    await using srv = await serve({ secret: "library-test-secret-0123", config: { listen: "127.0.0.1:0", difficulty: 8 } });
    const q = await fetchQuote(`127.0.0.1:${srv.port}`, { threads: 1, timeoutMs: 10_000 });
    assert.ok(q.quote.length > 0);
    assert.equal(q.difficulty, 8);
    await assert.rejects(fetchQuote(`127.0.0.1:${srv.port}`, { threads: 1, maxDifficulty: 4 }), (e: unknown) => e instanceof FetchError && e.code === "TOO_HARD");
  });
  test("PowGate: issue, verify once, refuse the replay and other addresses", async () => {
    const gate = new PowGate({ secret: "gate-test-secret-0123456", difficulty: 6 });
    const ch = gate.issue("192.0.2.1");
    const counter = bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits)));
    assert.equal((await gate.verify({ challenge: ch, counter }, "192.0.2.9")).ok, false);
    assert.equal((await gate.verify({ challenge: ch, counter }, "192.0.2.1")).ok, true);
    const again = await gate.verify({ challenge: ch, counter }, "192.0.2.1");
    assert.equal(again.ok ? "" : again.code, "REPLAY");
  });
  test("examples/client.ts fetches three quotes from a server", async () => {
    await using srv = await serve({ secret: "library-test-secret-0123", config: { listen: "127.0.0.1:0", difficulty: 10 } });
    const r = await runExample("examples/client.ts", [`127.0.0.1:${srv.port}`]);
    assert.equal(r.code, 0, r.out);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => l.quote && l.difficulty === 10));
  });
  test("examples/guarded-echo.ts: the gate in front of another TCP service", async () => {
    const server = await runExample("examples/guarded-echo.ts", ["0"], /listening \d+/);
    try {
      const port = /listening (\d+)/.exec(server.out)![1]!;
      const client = await runExample("examples/guarded-echo.ts", ["--client", port]);
      assert.equal(client.code, 0, client.out);
      assert.match(client.out, /echo: hello/);
    } finally {
      signal(server.child, "SIGKILL");
    }
  });
});

describe("serve() validates its configuration like wisdom serve", () => {
  test("a bad value rejects with a ConfigError naming the key, before anything listens", async () => {
    await assert.rejects(serve({ secret: "library-secret-0123456789", config: { defence: "off", difficulty: 40 } }), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.ok(e.problems.some((p) => p.startsWith("difficulty (from serve() options)")), e.problems.join("; "));
      return true;
    });
    await assert.rejects(serve({ secret: "library-secret-0123456789", config: { listen: "127.0.0.1:0", difficulty: 30, difficulty_max: 24 } as never }), ConfigError);
  });
});
