/**
 * `wisdom guard` end to end on loopback, over every transport this runtime has (the guard's listener and
 * its upstream connections both on it): the relay both ways, half-close each way, pipelined bytes,
 * reconnect mode, the PROXY v2 header, the idle timeout against the handshake deadlines, an upstream
 * that is down, and the attacker's side: no proof (or a bad or replayed one) never reaches the upstream.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex } from "@noble/hashes/utils.js";
import { FetchError } from "../../src/shared/client/errors.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, leadingZeroBits, solveReference, workDigest } from "../../src/shared/pow/hashcash.ts";
import { FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { type Challenge, decodeMessage, encodeSolution, type Message } from "../../src/shared/protocol/messages.ts";
import { ProxyHeaderDecoder } from "../../src/shared/net/proxy-protocol.ts";
import type { Transport } from "../../src/shared/transport/types.ts";
import { guardedClient, startUpstream, testGuard } from "../helpers/guard.ts";
import { rawConnect, referenceSolver, waitFor } from "../helpers/server.ts";
import { openGuarded } from "../../src/shared/client/fetch.ts";
import { availableTransports } from "../helpers/transports.ts";

const transports = await availableTransports();

const solve = (ch: Challenge, extra = 0) => bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits + extra, 0, 1 << 26)));

/** Frames from the start of `bytes`, and the bytes after the first Open frame (the stream). */
function split(bytes: Uint8Array): { messages: Message[]; stream: Buffer } {
  const d = new FrameDecoder();
  const messages: Message[] = [];
  let off = 0;
  while (off < bytes.length) {
    const fs = d.push(bytes.subarray(off), 1);
    if (fs.length === 0) break;
    off += d.consumed;
    const m = decodeMessage(fs[0]!);
    messages.push(m);
    if (m.type === MessageType.Open) break;
  }
  return { messages, stream: Buffer.from(bytes.subarray(off)) };
}

/** Connect raw, wait for the Challenge (the first frame). */
async function challenged(t: Transport, port: number) {
  const raw = await rawConnect(t, port);
  await waitFor(() => split(raw.bytes()).messages.length > 0, 5000, "a challenge");
  const m = split(raw.bytes()).messages[0]!;
  assert.equal(m.type, MessageType.Challenge);
  return { raw, ch: (m as { body: Challenge }).body };
}

const NAMES: Record<number, string> = { 1: "Challenge", 2: "Solution", 3: "Quote", 4: "Error", 5: "Open" };
const codes = (ms: Message[]) => ms.map((m) => (m.type === MessageType.Error ? m.body.code : NAMES[m.type]!));

for (const t of transports) {
  describe(`guard over the ${t.name} transport`, () => {
    test("relays both ways, and the client's half-close reaches the upstream, which still answers", async () => {
      await using up = await startUpstream((c) => void c.ended.then(() => c.socket.end(`got ${c.received().length} bytes`)));
      await using g = await testGuard(up.port, {}, t);
      const c = await guardedClient(t, g.port);
      assert.equal(c.open.effort >= 4, true);
      assert.equal(c.open.idle_timeout_ms, 600_000);
      c.conn.write(new TextEncoder().encode("a".repeat(70_000)));
      c.conn.closeWrite();
      await c.closed;
      assert.equal(c.received().toString(), "got 70000 bytes");
      assert.equal(up.conns.length, 1);
      await waitFor(() => g.connections.openCount === 0 && g.slots.active === 0, 2000, "both sides closed and the slot freed");
      assert.equal(g.stats.closed.forwarded, 1);
    });

    test("the upstream's half-close reaches the client, which keeps sending", async () => {
      await using up = await startUpstream((c) => {
        c.socket.end("bye, but I still listen");
        void c.ended.then(() => c.socket.destroy());
      });
      await using g = await testGuard(up.port, {}, t);
      const c = await guardedClient(t, g.port);
      await c.ended;
      assert.equal(c.received().toString(), "bye, but I still listen");
      c.conn.write(new TextEncoder().encode("late words"));
      c.conn.closeWrite();
      await up.conns[0]!.ended;
      assert.equal(up.conns[0]!.received().toString(), "late words");
      await c.closed;
    });

    test("a client that never solves gets nothing but its Challenge and a TIMEOUT, and the upstream sees no connection", async () => {
      await using up = await startUpstream();
      await using g = await testGuard(up.port, { first_byte_timeout_ms: 300, frame_timeout_ms: 300, handshake_timeout_ms: 600 }, t);
      const { raw } = await challenged(t, g.port);
      await raw.closed;
      assert.deepEqual(codes(split(raw.bytes()).messages), ["Challenge", "TIMEOUT"]);
      assert.equal(up.conns.length, 0);
    });

    test("an attacker's bad proof, replayed proof or foreign frame opens nothing, and bytes sent behind it never reach the upstream", async () => {
      await using up = await startUpstream();
      await using g = await testGuard(up.port, { difficulty: 8 }, t);
      const payload = new TextEncoder().encode("FLUSHALL\r\n");
      // Too little work: the first counter whose digest misses the 8 bits.
      {
        const { raw, ch } = await challenged(t, g.port);
        const prefix = challengePrefix(ch);
        let n = 0;
        while (leadingZeroBits(workDigest(prefix, encodeCounter(n))) >= ch.bits) n++;
        raw.conn.write(new Uint8Array([...encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(n)) }), ...payload]));
        await raw.closed;
        assert.deepEqual(codes(split(raw.bytes()).messages), ["Challenge", "INSUFFICIENT_WORK"]);
      }
      // A valid proof, used once (it opens a stream), then replayed on a new connection.
      const first = await challenged(t, g.port);
      const sol = encodeSolution({ challenge: first.ch, counter: solve(first.ch) });
      first.raw.conn.write(sol);
      await waitFor(() => up.conns.length === 1, 3000, "the first stream");
      const again = await challenged(t, g.port);
      again.raw.conn.write(new Uint8Array([...sol, ...payload]));
      await again.raw.closed;
      assert.deepEqual(codes(split(again.raw.bytes()).messages), ["Challenge", "REPLAY"]);
      // An Open frame sent by a client is not a Solution.
      const rogue = await challenged(t, g.port);
      rogue.raw.conn.write(new Uint8Array([1, 5, 0, 2, 0x7b, 0x7d, ...payload]));
      await rogue.raw.closed;
      assert.deepEqual(codes(split(rogue.raw.bytes()).messages), ["Challenge", "UNEXPECTED_MESSAGE"]);
      first.raw.conn.destroy();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(up.conns.length, 1, "only the valid proof reached the upstream");
      assert.equal(up.conns[0]!.received().length, 0, "and nothing of the attacker's payload");
    });

    test("stream bytes sent in the same write as the Solution reach the upstream after Open", async () => {
      await using up = await startUpstream();
      await using g = await testGuard(up.port, {}, t);
      const { raw, ch } = await challenged(t, g.port);
      raw.conn.write(new Uint8Array([...encodeSolution({ challenge: ch, counter: solve(ch) }), ...new TextEncoder().encode("PING\r\n")]));
      await waitFor(() => split(raw.bytes()).stream.toString() === "PING\r\n", 3000, "the echo");
      assert.deepEqual(codes(split(raw.bytes()).messages), ["Challenge", "Open"]);
      raw.conn.destroy();
    });

    test("reconnect mode: the Solution is the first frame of a new connection", async () => {
      await using up = await startUpstream();
      await using g = await testGuard(up.port, {}, t);
      const c = await guardedClient(t, g.port, { mode: "reconnect" });
      c.conn.write(new TextEncoder().encode("hello"));
      await waitFor(() => c.received().toString() === "hello", 3000, "the echo");
      c.conn.closeWrite();
      await c.closed;
      assert.equal(g.stats.accepted, 2);
    });

    test("an upstream that is down: UPSTREAM_UNAVAILABLE with a retry hint, counted in the metrics; the guard keeps serving", async () => {
      const up = await startUpstream();
      const port = up.port;
      await up[Symbol.asyncDispose]();
      await using g = await testGuard(port, {}, t);
      const { raw, ch } = await challenged(t, g.port);
      raw.conn.write(encodeSolution({ challenge: ch, counter: solve(ch) }));
      await raw.closed;
      const ms = split(raw.bytes()).messages;
      assert.deepEqual(codes(ms), ["Challenge", "UPSTREAM_UNAVAILABLE"]);
      assert.equal((ms[1] as { body: { retry_after_ms?: number } }).body.retry_after_ms, 1000);
      assert.match(await g.metrics.render(), /wisdom_guard_upstream_failures_total\{reason="refused"\} 1/);
      assert.equal(g.slots.active, 0);
      // A client retries (the code is retryable), then gives up with REFUSED once its timeout leaves no room.
      const retried: string[] = [];
      let last = "";
      await assert.rejects(
        openGuarded("127.0.0.1", g.port, { transport: t, solver: referenceSolver, timeoutMs: 1500, onRetry: ({ code }) => void retried.push(code) }),
        (e: unknown) => e instanceof FetchError && (e.code === "REFUSED" || e.code === "TIMEOUT") && Boolean((last = e.message)),
      );
      assert.ok(retried.every((c) => c === "UPSTREAM_UNAVAILABLE") && /UPSTREAM_UNAVAILABLE/.test([...retried, last].join()), `${retried.join()} ${last}`);
    });

    test("the handshake deadlines do not close an active stream; idle_timeout_ms closes a quiet one", async () => {
      await using up = await startUpstream();
      await using g = await testGuard(up.port, { first_byte_timeout_ms: 200, frame_timeout_ms: 200, handshake_timeout_ms: 300, idle_timeout_ms: 500 }, t);
      const c = await guardedClient(t, g.port);
      assert.equal(c.open.idle_timeout_ms, 500);
      const t0 = performance.now();
      let lastWrite = t0;
      for (let i = 0; i < 10; i++) {
        c.conn.write(new TextEncoder().encode(`${i};`));
        lastWrite = performance.now(); // the guard's last activity (this byte and its echo) is after this
        await new Promise((r) => setTimeout(r, 100)); // 1 s in all, three handshake deadlines
      }
      const active = performance.now();
      await waitFor(() => c.received().toString() === "0;1;2;3;4;5;6;7;8;9;", 400, "every echo");
      await Promise.race([c.ended, c.closed]); // the guard closed: a FIN (node:net, half-open) or a close (Bun terminates)
      // The guard runs in this process: one clock. Its idle timer counts from its last activity, which is
      // after the last write, so the close comes at least idle_timeout_ms (500) after that write.
      const quiet = performance.now() - lastWrite;
      c.conn.destroy();
      assert.ok(active - t0 >= 900 && quiet >= 500 && quiet < 2100, `closed after ${Math.round(quiet)} ms of quiet`);
      assert.match(await g.metrics.render(), /wisdom_guard_streams_idle_closed_total 1/);
    });

    test("upstream_proxy_protocol v2: the upstream reads the client's address from a PROXY v2 header, then the stream", async () => {
      await using up = await startUpstream(() => {});
      await using g = await testGuard(up.port, { upstream_proxy_protocol: "v2" }, t);
      const c = await guardedClient(t, g.port);
      c.conn.write(new TextEncoder().encode("after the header"));
      await waitFor(() => up.conns[0]?.received().toString().endsWith("after the header") ?? false, 3000, "the bytes");
      const r = new ProxyHeaderDecoder().push(new Uint8Array(up.conns[0]!.received()));
      assert.ok(r && r.kind === "proxy" && r.version === 2);
      assert.equal(r.source.address, "127.0.0.1");
      assert.equal(r.destination.port, g.port);
      assert.equal(Buffer.from(r.rest).toString(), "after the header");
      c.conn.destroy();
    });
  });
}
