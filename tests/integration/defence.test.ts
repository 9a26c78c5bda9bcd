/** The defence on real sockets: caps, rate limits with client back-off, adaptive difficulty, escalation, and off. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fetchQuote } from "../../src/shared/client/fetch.ts";
import { FetchError } from "../../src/shared/client/errors.ts";
import { FrameReader } from "../../src/shared/client/frame-reader.ts";
import { MessageType } from "../../src/shared/protocol/frame.ts";
import type { Challenge, ErrorMessage } from "../../src/shared/protocol/messages.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { referenceSolver, testServer, waitFor } from "../helpers/server.ts";

const t = await pickTransport();

async function firstMessage(port: number) {
  const reader = new FrameReader();
  const conn = await t.connect("127.0.0.1", port, reader);
  const m = await reader.next();
  return { conn, reader, m };
}
const codeOf = (m: { type: number; body: unknown }) => (m.type === MessageType.Error ? (m.body as ErrorMessage).code : "challenge");

describe("defence on loopback", () => {
  test("a per-address connection cap refuses the next connection at once with RATE_LIMITED, and frees on close", async () => {
    await using srv = await testServer({ max_connections_per_addr: 2 });
    const a = await firstMessage(srv.port);
    const b = await firstMessage(srv.port);
    const c = await firstMessage(srv.port);
    assert.deepEqual([codeOf(a.m), codeOf(b.m), codeOf(c.m)], ["challenge", "challenge", "RATE_LIMITED"]);
    assert.ok((c.m.body as ErrorMessage).retry_after_ms! > 0);
    a.conn.end();
    await waitFor(() => srv.connections.openCount === 1, 2000, "slot freed");
    const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 3000 });
    assert.ok(r.quote);
    assert.equal(srv.stats.refused.addr_conn_cap, 1);
    b.conn.end();
  });

  test("the global cap answers BUSY and never queues", async () => {
    await using srv = await testServer({ max_connections: 3 });
    const held = [await firstMessage(srv.port), await firstMessage(srv.port), await firstMessage(srv.port)];
    const over = await firstMessage(srv.port);
    assert.equal(codeOf(over.m), "BUSY");
    assert.equal(srv.connections.openCount <= 4, true);
    for (const h of held) h.conn.end();
  });

  test("challenge rate limit: fetch backs off and retries within its timeout, and gives up with REFUSED", async () => {
    await using srv = await testServer({ challenge_rate: 4, challenge_burst: 1, max_outstanding: 100 });
    const retries: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 5000, onRetry: (p) => void retries.push(p.code) });
      assert.ok(r.quote);
    }
    assert.ok(retries.length >= 1 && retries.every((c) => c === "RATE_LIMITED"), retries.join());
    assert.ok(srv.stats.refused.challenge_rate! >= 1);
    // a client whose timeout leaves no room for the wait gets REFUSED
    await using slow = await testServer({ challenge_rate: 0.01, challenge_burst: 1 });
    await fetchQuote("127.0.0.1", slow.port, { transport: t, solver: referenceSolver, timeoutMs: 3000 });
    await assert.rejects(fetchQuote("127.0.0.1", slow.port, { transport: t, solver: referenceSolver, timeoutMs: 500 }), (e: unknown) => e instanceof FetchError && e.code === "REFUSED");
  });

  test("outstanding cap: a client that collects challenges without solving is refused", async () => {
    await using srv = await testServer({ max_outstanding: 3, challenge_rate: 1000, challenge_burst: 1000 });
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const x = await firstMessage(srv.port);
      codes.push(codeOf(x.m));
      x.conn.end();
    }
    assert.deepEqual(codes, ["challenge", "challenge", "challenge", "RATE_LIMITED", "RATE_LIMITED"]);
  });

  test("solution rate limit: spam of wrong solutions is cut off", async () => {
    await using srv = await testServer({ solution_rate: 0.5, solution_burst: 2, challenge_rate: 1000, challenge_burst: 1000, max_outstanding: 1000 });
    const { encodeSolution } = await import("../../src/shared/protocol/messages.ts");
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const x = await firstMessage(srv.port);
      x.conn.write(encodeSolution({ challenge: (x.m.body as Challenge), counter: "ffffffffffffffff" }));
      codes.push(codeOf(await x.reader.next()));
    }
    assert.equal(codes.filter((c) => c === "RATE_LIMITED").length, 2, codes.join());
  });

  const OPEN = {
    challenge_rate: 10_000, challenge_burst: 10_000, max_outstanding: 100_000, escalation_max_bits: 0, max_connections_per_addr: 10_000,
    max_connections_per_net: 10_000, net_challenge_rate: 100_000, net_challenge_burst: 100_000, solution_rate: 10_000, solution_burst: 10_000,
  };

  test("a connection flood that never solves leaves the difficulty at the floor, and tightens the windows instead", async () => {
    await using srv = await testServer({
      ...OPEN, difficulty: 2, difficulty_max: 10, adaptive_tick_ms: 100, pressure_accepts_per_s: 20, pressure_open_connections: 1000,
      first_byte_timeout_ms: 5000, frame_timeout_ms: 2000, window_min_ms: 300, pressure_loop_delay_ms: 1,
    });
    const c = srv.defence.controller!;
    const before = await firstMessage(srv.port);
    assert.equal((before.m.body as Challenge).window_ms, 5000, "at rest: the configured window");
    // A client that got its challenge before the flood keeps its 5 s: it answers after 1.5 s, during the flood.
    const early = before.m.body as Challenge;
    const { encodeSolution } = await import("../../src/shared/protocol/messages.ts");
    const { challengePrefix } = await import("../../src/shared/pow/challenge.ts");
    const { encodeCounter } = await import("../../src/shared/pow/hashcash.ts");
    const { bytesToHex } = await import("@noble/hashes/utils.js");
    const answerLate = (async () => {
      const { counter } = await referenceSolver.solve(challengePrefix(early), early.bits);
      await new Promise((r) => setTimeout(r, 1500));
      before.conn.write(encodeSolution({ challenge: early, counter: bytesToHex(encodeCounter(counter)) }));
      return before.reader.next();
    })();
    const end = performance.now() + 1200;
    let n = 0;
    while (performance.now() < end) {
      const x = await firstMessage(srv.port);
      x.conn.end();
      n++;
    }
    assert.ok(n > 50, `flooded with ${n} connections`);
    assert.equal(c.bits, 2, "the price did not move");
    assert.equal(srv.stats.difficultyMax, 2);
    const during = await firstMessage(srv.port);
    assert.equal(codeOf(during.m), "challenge");
    const ch = during.m.body as Challenge;
    assert.equal(ch.bits, 2);
    assert.equal(ch.window_ms, 300, "the Challenge tells the shortened window");
    // A silent connection (slowloris) is closed at the shortened window, not the configured 5 s.
    const t0 = performance.now();
    const closing = await during.reader.next();
    const lived = performance.now() - t0;
    assert.equal(codeOf(closing), "TIMEOUT");
    assert.ok(lived < 1500, `closed after ${lived.toFixed(0)} ms`);
    during.conn.end();
    const late = await answerLate;
    assert.equal(late.type, MessageType.Quote, "the connection opened before the flood kept its 5 s window");
    before.conn.end();
    await waitFor(() => srv.defence.windows!.tightness === 0, 4000, "windows loosen once the flood stops");
    const after = await firstMessage(srv.port);
    assert.equal((after.m.body as Challenge).window_ms, 5000);
    after.conn.end();
  });

  test("valid proofs over capacity raise the difficulty (logged as driven by validProofsPerSec), and it decays when quiet", async () => {
    const changes: { to: number; driver: string }[] = [];
    await using srv = await testServer(
      { ...OPEN, difficulty: 2, difficulty_max: 10, adaptive_tick_ms: 100, pressure_valid_proofs_per_s: 20 },
      { observer: { difficultyChanged: (to: number, _from: number, _p: number, driver: string) => void changes.push({ to, driver }) } },
    );
    const c = srv.defence.controller!;
    const end = performance.now() + 3000;
    while (performance.now() < end && c.bits < 4) {
      await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 3000 });
    }
    assert.ok(c.bits >= 4, `rose to ${c.bits}`);
    assert.ok(changes.some((x) => x.to > 2 && x.driver === "validProofsPerSec"), JSON.stringify(changes));
    const x = await firstMessage(srv.port);
    assert.ok((x.m.body as Challenge).bits >= 4, "new challenges carry the raised difficulty");
    x.conn.end();
    const high = c.bits;
    await waitFor(() => c.bits < high, 4000, "decay by one bit after ten quiet ticks");
  });

  test("an observer that throws on a difficulty change does not stop the controller (no unhandled rejection)", async () => {
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => void rejections.push(e);
    process.on("unhandledRejection", onRejection);
    try {
      let calls = 0;
      await using srv = await testServer(
        { ...OPEN, difficulty: 2, difficulty_max: 10, adaptive_tick_ms: 100, pressure_valid_proofs_per_s: 20 },
        { observer: { difficultyChanged: (to: number) => void (to > 2 && calls++ >= 0 && (() => { throw new Error("observer broke"); })()) } },
      );
      const c = srv.defence.controller!;
      const end = performance.now() + 4000;
      while (performance.now() < end && c.bits === 2) await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 3000 });
      const peak = c.bits;
      assert.ok(peak > 2 && calls === 1, `rose to ${peak}; the observer threw`);
      // Later ticks still run: the level decays, and the observer throws again.
      await waitFor(() => c.bits < peak, 4000, "decay after the observer threw");
      assert.ok(calls >= 2, `the observer threw ${calls} times and the controller went on`);
      assert.deepEqual(rejections, []);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });

  test("per-client escalation: an address that asks often gets harder puzzles", async () => {
    await using srv = await testServer({ difficulty: 3, escalation_free_requests: 2, escalation_max_bits: 3, challenge_rate: 1000, challenge_burst: 1000, max_outstanding: 1000 });
    const bits: number[] = [];
    for (let i = 0; i < 10; i++) {
      const x = await firstMessage(srv.port);
      bits.push((x.m.body as Challenge).bits);
      x.conn.end();
    }
    assert.equal(bits[0], 3);
    assert.equal(bits[9], 6, bits.join());
    assert.ok(bits.every((b, i) => i === 0 || b >= bits[i - 1]!), bits.join());
  });

  test("per-client escalation counts a reconnect-mode fetch once: the answering connection's own challenge is refunded", async () => {
    await using srv = await testServer({ difficulty: 1, escalation_free_requests: 4, escalation_max_bits: 8, escalation_net_free_requests: 1000, challenge_rate: 1000, challenge_burst: 1000, max_outstanding: 1000 });
    for (let i = 0; i < 4; i++) {
      const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 3000, mode: "reconnect" });
      assert.equal(r.mode, "reconnect");
    }
    // Four fetches, eight challenges issued, four refunded: a count of 4, then this one makes 5 -> +1 bit
    // (without the refund: 9 -> +2).
    const x = await firstMessage(srv.port);
    assert.equal((x.m.body as Challenge).bits, 2);
    x.conn.end();
  });

  test("defence off: no caps, no limits, fixed difficulty", async () => {
    await using srv = await testServer({ defence: "off", max_connections_per_addr: 1, challenge_rate: 0.01, challenge_burst: 1, difficulty: 3 });
    assert.equal(srv.defence.admission, null);
    const xs = [];
    for (let i = 0; i < 5; i++) xs.push(await firstMessage(srv.port));
    assert.deepEqual(xs.map((x) => codeOf(x.m)), ["challenge", "challenge", "challenge", "challenge", "challenge"]);
    assert.ok(xs.every((x) => (x.m.body as Challenge).bits === 3));
    for (const x of xs) x.conn.end();
  });
});
