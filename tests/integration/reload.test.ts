/** Key rotation under a steady stream of fetches, and SIGHUP live reload of a real `wisdom serve` process. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchQuote } from "../../src/shared/client/fetch.ts";
import { FrameReader } from "../../src/shared/client/frame-reader.ts";
import { SERVE_DEFAULTS } from "../../src/shared/config/schema.ts";
import { encodeSolution, type Challenge } from "../../src/shared/protocol/messages.ts";
import { MessageType } from "../../src/shared/protocol/frame.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { bytesToHex } from "@noble/hashes/utils.js";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { spawnServer } from "../helpers/cli.ts";
import { NO_LIMITS, referenceSolver, testServer, waitFor } from "../helpers/server.ts";

const t = await pickTransport();
const enc = new TextEncoder();
const A = { id: "kA", secret: enc.encode("rotation-secret-A-0123456789") };
const B = { id: "kB", secret: enc.encode("rotation-secret-B-0123456789") };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("key rotation", () => {
  test("A -> A+B signing B -> (after the lifetime) B: a steady stream of fetches never fails, and no proof is refused", async () => {
    const timing = {
      challenge_ttl_ms: 1500, handshake_timeout_ms: 1200, first_byte_timeout_ms: 1000, ...NO_LIMITS,
    };
    await using srv = await testServer(timing, { keys: [A] });
    const cfg = { ...SERVE_DEFAULTS, listen: "127.0.0.1:0", metrics_listen: "", difficulty: 4, log_level: "silent" as const, ...timing };
    let stop = false;
    const results: string[] = [];
    const kids = new Set<string>();
    const stream = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          // reconnect mode holds a challenge across the moment of rotation
          await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 5000, mode: i % 2 ? "reconnect" : "same" });
          results.push("ok");
        } catch (e) {
          results.push(String(e));
        }
      }
    })();
    const sniff = async () => {
      const r = new FrameReader();
      const c = await t.connect("127.0.0.1", srv.port, r);
      const m = await r.next();
      c.end();
      kids.add((m.body as Challenge).kid);
    };
    await sleep(400);
    await sniff();
    await srv.reload(cfg, [A, B], "kB");
    await sleep(400);
    await sniff();
    await sleep(timing.challenge_ttl_ms + 100); // every challenge signed by A has expired
    await srv.reload(cfg, [B], "kB");
    await sleep(400);
    stop = true;
    await stream;
    assert.ok(results.length >= 10, `only ${results.length} fetches`);
    assert.deepEqual(results.filter((r) => r !== "ok"), []);
    assert.deepEqual([...kids].sort(), ["kA", "kB"]);
    assert.deepEqual(srv.stats.proofsFailed, {}, "no proof refused (no UNKNOWN_KEY, no BAD_SIGNATURE)");
  });

  test("a key removed too early makes its challenges UNKNOWN_KEY, and the client recovers with a fresh challenge", async () => {
    await using srv = await testServer({}, { keys: [A] });
    const r = new FrameReader();
    const c = await t.connect("127.0.0.1", srv.port, r);
    const ch = (await r.next()).body as Challenge;
    await srv.reload({ ...SERVE_DEFAULTS, listen: "127.0.0.1:0", metrics_listen: "", difficulty: 4, log_level: "silent" }, [B]);
    c.write(encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits))) }));
    const m = await r.next();
    assert.equal(m.type, MessageType.Error);
    assert.equal((m.body as { code: string }).code, "UNKNOWN_KEY");
    const q = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 3000 });
    assert.ok(q.quote);
  });

  test("reload keeps the difficulty in force and the rate-limit state when the mode does not change", async () => {
    await using srv = await testServer({ challenge_rate: 0.01, challenge_burst: 1 });
    const c0 = srv.defence.controller!;
    c0.bits = 7;
    await srv.reload({ ...SERVE_DEFAULTS, listen: "127.0.0.1:0", metrics_listen: "", difficulty: 4, difficulty_max: 20, log_level: "silent", challenge_rate: 0.01, challenge_burst: 1, frame_timeout_ms: 1500 }, [{ id: "t1", secret: enc.encode("wisdom-test-secret-0123456789") }]);
    assert.equal(srv.defence.controller, c0);
    assert.equal(srv.defence.controller!.bits, 7);
    assert.equal(srv.gate.settings.timeouts.frameMs, 1500);
  });
});

describe("SIGHUP reload of a running wisdom serve", () => {
  test("applies a changed config file without dropping a connection; refuses an invalid one and keeps serving", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wisdom-reload-"));
    const file = join(dir, "w.yaml");
    writeFileSync(file, "difficulty: 4\nfirst_byte_timeout_ms: 4000\n");
    await using srv = await spawnServer(["--config", file], { WISDOM_SECRET: "reload-secret-0123456789abcdef" });
    const held = new FrameReader();
    const conn = await t.connect("127.0.0.1", srv.port, held);
    const ch = (await held.next()).body as Challenge;
    assert.equal(ch.bits, 4);
    writeFileSync(file, "difficulty: 6\ndifficulty_max: 20\nfirst_byte_timeout_ms: 4000\n");
    srv.signal("SIGHUP");
    await waitFor(() => srv.stderr.includes('"msg":"configuration reloaded"'), 10_000, "reload log line");
    assert.match(srv.stderr, /"changed":"difficulty,difficulty_max"/);
    // the connection opened before the reload still completes
    conn.write(encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits))) }));
    assert.equal((await held.next()).type, MessageType.Quote);
    const r2 = new FrameReader();
    const c2 = await t.connect("127.0.0.1", srv.port, r2);
    assert.equal(((await r2.next()).body as Challenge).bits, 6);
    c2.end();
    writeFileSync(file, "difficulty: 99\nbogus_key: 1\n");
    srv.signal("SIGHUP");
    await waitFor(() => srv.stderr.includes("reload refused"), 10_000, "refusal log line");
    await waitFor(() => /bogus_key/.test(srv.stderr) && /difficulty \(from/.test(srv.stderr), 5000, "every problem logged");
    const q = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 5000 });
    assert.equal(q.difficulty, 6, "still the last good configuration");
    srv.signal("SIGTERM");
    assert.equal(await srv.exited, 0);
  });
});
