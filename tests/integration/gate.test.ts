/**
 * End to end on real loopback sockets, the same contract checked on every transport this runtime has
 * (its native adapter and node:net): quotes in both answer modes, every refusal path, slowloris deadlines,
 * graceful shutdown and IPv6.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex } from "@noble/hashes/utils.js";
import { fetchQuote } from "../../src/shared/client/fetch.ts";
import { FetchError } from "../../src/shared/client/errors.ts";
import { FrameReader } from "../../src/shared/client/frame-reader.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { FrameDecoder, MessageType, encodeFrame } from "../../src/shared/protocol/frame.ts";
import { decodeMessage, encodeSolution, type Challenge, type Message } from "../../src/shared/protocol/messages.ts";
import type { Transport } from "../../src/shared/transport/types.ts";
import { rawConnect, referenceSolver, testServer, waitFor } from "../helpers/server.ts";
import { availableTransports } from "../helpers/transports.ts";

const transports = await availableTransports();

function messages(bytes: Uint8Array): Message[] {
  return new FrameDecoder().push(bytes).map(decodeMessage);
}

async function challengeOn(t: Transport, port: number) {
  const reader = new FrameReader();
  const conn = await t.connect("127.0.0.1", port, reader);
  const m = await reader.next();
  assert.equal(m.type, MessageType.Challenge);
  return { conn, reader, ch: (m as { body: Challenge }).body };
}

/**
 * A node:net client that answers the challenge with `send(challenge)` and half-closes in the same call
 * (socket.end(data): the bytes, then a FIN), then reads until the server closes. Every message it got.
 */
async function halfClosing(port: number, send: (ch: Challenge) => Uint8Array): Promise<Message[]> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const dec = new FrameDecoder();
    const got: Message[] = [];
    const s = net.connect(port, "127.0.0.1");
    s.on("data", (d: Uint8Array) => {
      for (const f of dec.push(new Uint8Array(d))) {
        const m = decodeMessage(f);
        got.push(m);
        if (m.type === MessageType.Challenge) s.end(send(m.body));
      }
    });
    s.on("error", reject);
    s.on("close", () => resolve(got));
  });
}

function solve(ch: Challenge): string {
  return bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits, 0, 1 << 24)));
}

for (const t of transports) {
  describe(`gate over the ${t.name} transport`, () => {
    test("fetchQuote() gets a quote answering on the same connection", async () => {
      await using srv = await testServer({}, { transport: t });
      const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, mode: "same", timeoutMs: 5000 });
      assert.ok(r.quote.length > 0 && r.author.length > 0);
      assert.equal(r.difficulty, 4);
      assert.equal(r.mode, "same");
      assert.equal(r.source, "embedded");
      assert.equal(srv.stats.proofsOk, 1);
    });

    test("fetchQuote() gets a quote closing while solving and answering on a new connection", async () => {
      await using srv = await testServer({}, { transport: t });
      const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, mode: "reconnect", timeoutMs: 5000 });
      assert.equal(r.mode, "reconnect");
      assert.ok(r.quote.length > 0);
      await waitFor(() => srv.stats.accepted === 2, 2000, "two connections");
      assert.equal(srv.stats.proofsOk, 1);
    });

    test("a replayed solution is refused with REPLAY, on a new connection as on the same", async () => {
      await using srv = await testServer({}, { transport: t });
      const { conn, reader, ch } = await challengeOn(t, srv.port);
      const sol = encodeSolution({ challenge: ch, counter: solve(ch) });
      conn.write(sol);
      assert.equal((await reader.next()).type, MessageType.Quote);
      const again = await challengeOn(t, srv.port);
      again.conn.write(sol);
      const m = await again.reader.next();
      assert.equal(m.type, MessageType.Error);
      assert.equal((m as { body: { code: string } }).body.code, "REPLAY");
      assert.equal(srv.stats.proofsFailed.REPLAY, 1);
    });

    test("a forged difficulty is refused with BAD_SIGNATURE and the server keeps serving", async () => {
      await using srv = await testServer({ difficulty: 6 }, { transport: t });
      const { conn, reader, ch } = await challengeOn(t, srv.port);
      const forged = { ...ch, bits: 0 };
      conn.write(encodeSolution({ challenge: forged, counter: "0000000000000000" }));
      const m = await reader.next();
      assert.deepEqual([m.type, (m as { body: { code: string } }).body.code], [MessageType.Error, "BAD_SIGNATURE"]);
      const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 5000 });
      assert.ok(r.quote);
    });

    test("a quote that cannot be sent (synchronous or async source) is answered INTERNAL and the server keeps serving", async () => {
      // Longer than a frame's payload: encoding it throws, which must become an Error frame, not a hang.
      const huge = { text: "x".repeat(10_000), author: "nobody", source: "test" };
      for (const next of [() => huge, () => Promise.resolve(huge)]) {
        let calls = 0;
        const quotes = { name: "test", next: () => (++calls === 1 ? next() : { text: "ok", author: "a", source: "test" }) };
        await using srv = await testServer({}, { transport: t, quotes });
        const { conn, reader, ch } = await challengeOn(t, srv.port);
        conn.write(encodeSolution({ challenge: ch, counter: solve(ch) }));
        const m = await reader.next();
        assert.deepEqual([m.type, (m as { body: { code: string } }).body.code], [MessageType.Error, "INTERNAL"]);
        const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 5000 });
        assert.equal(r.quote, "ok");
      }
    });

    test("a client that half-closes after its solution still gets the answer (synchronous and asynchronous quote source)", async () => {
      const late = { name: "test", next: () => new Promise<{ text: string; author: string; source: string }>((r) => setTimeout(() => r({ text: "late", author: "a", source: "test" }), 50)) };
      for (const quotes of [undefined, late]) {
        await using srv = await testServer({}, { transport: t, ...(quotes ? { quotes } : {}) });
        const got = await halfClosing(srv.port, (ch) => encodeSolution({ challenge: ch, counter: solve(ch) }));
        assert.deepEqual(got.map((m) => m.type), [MessageType.Challenge, MessageType.Quote], JSON.stringify(got));
        if (quotes) assert.equal((got[1] as { body: { quote: string } }).body.quote, "late");
        assert.equal(srv.stats.proofsOk, 1);
        await waitFor(() => srv.connections.openCount === 0, 2000, "the connection is closed on the server too");
      }
    });

    test("bytes after the Solution are ignored however TCP splits them: in the same write, or 20 ms later, the answer is the Quote", async () => {
      await using srv = await testServer({}, { transport: t });
      const junk = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 9, 9, 9]);
      for (const split of [false, true]) {
        const { conn, reader, ch } = await challengeOn(t, srv.port);
        const sol = encodeSolution({ challenge: ch, counter: solve(ch) });
        if (split) {
          conn.write(sol);
          await new Promise((r) => setTimeout(r, 20));
          conn.write(junk);
        } else {
          const both = new Uint8Array(sol.length + junk.length);
          both.set(sol);
          both.set(junk, sol.length);
          conn.write(both);
        }
        const m = await reader.next();
        assert.equal(m.type, MessageType.Quote, `split=${split}: ${JSON.stringify(m)}`);
        conn.end();
      }
      assert.equal(srv.stats.proofsOk, 2);
    });

    test("an attacker packing two valid Solutions into one write gets one quote: the second is ignored, not redeemed", async () => {
      await using srv = await testServer({}, { transport: t });
      const first = await challengeOn(t, srv.port);
      const other = await challengeOn(t, srv.port); // a second challenge, solved too
      const a = encodeSolution({ challenge: first.ch, counter: solve(first.ch) });
      const b = encodeSolution({ challenge: other.ch, counter: solve(other.ch) });
      const both = new Uint8Array(a.length + b.length);
      both.set(a);
      both.set(b, a.length);
      first.conn.write(both);
      assert.equal((await first.reader.next()).type, MessageType.Quote);
      await waitFor(() => srv.connections.openCount <= 1, 2000, "the first connection closed after its one answer");
      assert.equal(srv.stats.proofsOk, 1, "only the first Solution was redeemed");
      // The second challenge was never spent: it still redeems once on its own connection.
      other.conn.write(b);
      assert.equal((await other.reader.next()).type, MessageType.Quote);
      assert.equal(srv.stats.proofsOk, 2);
      first.conn.end();
      other.conn.end();
    });

    test("a client that half-closes in the middle of a Solution frame is answered BAD_FRAME and closed at once", async () => {
      await using srv = await testServer({}, { transport: t });
      const t0 = performance.now();
      const got = await halfClosing(srv.port, (ch) => encodeSolution({ challenge: ch, counter: solve(ch) }).subarray(0, 20));
      assert.ok(performance.now() - t0 < 1000, "not left to the first-byte or frame deadline");
      assert.deepEqual(got.map((m) => m.type), [MessageType.Challenge, MessageType.Error]);
      assert.equal((got[1] as { body: { code: string } }).body.code, "BAD_FRAME");
      await waitFor(() => srv.stats.framesRejected.BAD_FRAME === 1, 2000, "counted as a rejected frame");
      await waitFor(() => srv.connections.openCount === 0, 2000, "the connection is closed on the server too");
    });

    test("a client that closes after reading its challenge (reconnect flow, probes) is closed quietly, not counted as a bad frame", async () => {
      await using srv = await testServer({}, { transport: t });
      const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, mode: "reconnect", timeoutMs: 5000 });
      assert.ok(r.quote.length > 0);
      await waitFor(() => srv.connections.openCount === 0, 2000, "both connections closed");
      assert.deepEqual(srv.stats.framesRejected, {});
      assert.deepEqual(srv.stats.closed, { peer: 1, served: 1 });
    });

    test("junk bytes get a BAD_FRAME Error frame and a close", async () => {
      await using srv = await testServer({}, { transport: t });
      const c = await rawConnect(t, srv.port);
      c.conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
      await c.closed;
      const ms = messages(c.bytes());
      assert.equal(ms[0]!.type, MessageType.Challenge);
      assert.equal(ms[1]!.type, MessageType.Error);
      assert.equal((ms[1] as { body: { code: string } }).body.code, "BAD_FRAME");
      assert.equal(srv.stats.framesRejected.BAD_FRAME, 1);
    });

    test("an oversized length header gets FRAME_TOO_LARGE before any payload is sent", async () => {
      await using srv = await testServer({}, { transport: t });
      const c = await rawConnect(t, srv.port);
      c.conn.write(new Uint8Array([1, 2, 0xff, 0xff]));
      await c.closed;
      const ms = messages(c.bytes());
      assert.equal((ms[1] as { body: { code: string } }).body.code, "FRAME_TOO_LARGE");
    });

    test("a valid frame of the wrong type gets UNEXPECTED_MESSAGE", async () => {
      await using srv = await testServer({}, { transport: t });
      const c = await rawConnect(t, srv.port);
      c.conn.write(encodeFrame(MessageType.Quote, new TextEncoder().encode('{"quote":"x","author":"y"}')));
      await c.closed;
      assert.equal((messages(c.bytes())[1] as { body: { code: string } }).body.code, "UNEXPECTED_MESSAGE");
    });

    test("a Solution with a wrong field type gets BAD_FRAME", async () => {
      await using srv = await testServer({}, { transport: t });
      const c = await rawConnect(t, srv.port);
      c.conn.write(encodeFrame(MessageType.Solution, new TextEncoder().encode('{"challenge":1,"counter":"x"}')));
      await c.closed;
      assert.equal((messages(c.bytes())[1] as { body: { code: string } }).body.code, "BAD_FRAME");
    });

    test("slowloris: a silent connection, a byte drip and a stalled frame are closed by their deadlines while a client is served", async () => {
      await using srv = await testServer({ first_byte_timeout_ms: 400, frame_timeout_ms: 400, handshake_timeout_ms: 1500 }, { transport: t });
      const t0 = performance.now();
      const silent = await rawConnect(t, srv.port);
      const drip = await rawConnect(t, srv.port);
      const big = await rawConnect(t, srv.port);
      big.conn.write(new Uint8Array([1, 2, 0x0f, 0xff, 0x7b])); // header for 4095 bytes, then one byte and silence
      let dripping = true;
      void (async () => {
        // one byte of a valid header every 150 ms: each byte resets nothing, the frame deadline still applies
        const bytes = [1, 2, 0, 200, ...new Array(200).fill(0x20)];
        for (const b of bytes) {
          if (!dripping) return;
          drip.conn.write(new Uint8Array([b]));
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
      const r = await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 3000 });
      assert.ok(r.quote);
      await Promise.all([silent.closed, drip.closed, big.closed]);
      dripping = false;
      for (const c of [silent, drip, big]) {
        const took = c.closedAt - t0;
        assert.ok(took >= 380 && took < 1400, `closed after ${took.toFixed(0)} ms`);
        const ms = messages(c.bytes());
        assert.equal((ms.at(-1) as { body: { code: string } }).body.code, "TIMEOUT");
      }
      await waitFor(() => srv.stats.closed.timeout === 3, 2000, "three timeouts counted");
    });

    test("the whole-handshake deadline closes a connection that keeps sending", async () => {
      await using srv = await testServer({ first_byte_timeout_ms: 200, frame_timeout_ms: 5000, handshake_timeout_ms: 600 }, { transport: t });
      const c = await rawConnect(t, srv.port);
      c.conn.write(new Uint8Array([1, 2, 0x0f, 0x00]));
      const timer = setInterval(() => c.conn.write(new Uint8Array([0x20])), 50);
      await c.closed;
      clearInterval(timer);
      const ms = messages(c.bytes().subarray(0));
      assert.match((ms.at(-1) as { body: { message: string } }).body.message, /Handshake not finished within 600 ms/);
    });

    test("graceful shutdown finishes an in-flight handshake, refuses new connections, and resolves", async () => {
      const srv = await testServer({ shutdown_grace_ms: 3000 }, { transport: t });
      const { conn, reader, ch } = await challengeOn(t, srv.port);
      const closing = srv.close();
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(t.connect("127.0.0.1", srv.port, new FrameReader()));
      conn.write(encodeSolution({ challenge: ch, counter: solve(ch) }));
      const m = await reader.next();
      assert.equal(m.type, MessageType.Quote);
      await closing;
      assert.equal(srv.stats.closed.served, 1);
    });

    test("graceful shutdown closes what is still open after the grace period", async () => {
      const srv = await testServer({ shutdown_grace_ms: 200, first_byte_timeout_ms: 5000 }, { transport: t });
      const c = await rawConnect(t, srv.port);
      const t0 = performance.now();
      await srv.close();
      await c.closed;
      assert.ok(performance.now() - t0 < 1500);
      assert.equal(srv.stats.closed.shutdown, 1);
    });

    test("IPv6: listening on [::1] binds challenges to ::1 and serves", async () => {
      await using srv = await testServer({ listen: "[::1]:0" }, { transport: t });
      const reader = new FrameReader();
      const conn = await t.connect("::1", srv.port, reader);
      const m = await reader.next();
      assert.equal((m as { body: Challenge }).body.addr, "::1");
      conn.end();
      const r = await fetchQuote("::1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 5000 });
      assert.ok(r.quote);
    });

    test("fetchQuote() refuses a puzzle above maxDifficulty with TOO_HARD, and a closed port with CONNECT", async () => {
      await using srv = await testServer({ difficulty: 10 }, { transport: t });
      await assert.rejects(fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, maxDifficulty: 9 }), (e: unknown) => e instanceof FetchError && e.code === "TOO_HARD");
      const port = srv.port;
      await srv.close();
      await assert.rejects(fetchQuote("127.0.0.1", port, { transport: t, solver: referenceSolver, timeoutMs: 2000 }), (e: unknown) => e instanceof FetchError && e.code === "CONNECT");
    });
  });
}
