/**
 * `upstream_max_connections`: while the upstream is full, clients with an accepted proof wait and are
 * served by effort (the leading zero bits of their proof), highest first; and a full upstream is the
 * service's capacity for the difficulty controller (sourceSaturation), which raises the price.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { guardedClient, startUpstream, testGuard } from "../helpers/guard.ts";
import { TEST_SECRET, waitFor } from "../helpers/server.ts";

const t = await pickTransport();

describe(`guard upstream queue (${t.name} transport)`, () => {
  test("with the upstream full, waiting clients reach it by effort, highest first", async () => {
    const order: string[] = [];
    // Each connection: read the client's name up to its FIN, note it, then close.
    await using up = await startUpstream((c) => void c.ended.then(() => (order.push(c.received().toString()), c.socket.end())));
    await using g = await testGuard(up.port, { upstream_max_connections: 1, upstream_queue_max: 16, upstream_queue_timeout_ms: 20_000 }, t);
    const holder = await guardedClient(t, g.port);
    const efforts = [0, 6, 2, 4, 6, 0];
    const waiting = efforts.map((effort, i) => {
      const name = `c${i}+${effort}`;
      const p = guardedClient(t, g.port, { effort }).then((c) => {
        c.conn.write(new TextEncoder().encode(name));
        c.conn.closeWrite();
        return { name, arrival: i, work: c.open.effort, queuedMs: c.open.queued_ms, closed: c.closed };
      });
      return p;
    });
    // Solves take different times: wait until every client has proved and queued.
    await waitFor(() => g.slots.waiting === efforts.length, 20_000, "every client queued");
    holder.conn.closeWrite();
    const served = await Promise.all(waiting);
    await Promise.all(served.map((s) => s.closed));
    await waitFor(() => order.length === efforts.length + 1, 5000, "every client served");
    order.shift(); // the holder
    // By the effort each proof actually carries (a solve at b bits may find more), descending
    // (first come first served among equals is checked in tests/unit/upstream-slots.test.ts).
    const names = order.map((n) => served.find((s) => s.name === n)!);
    assert.deepEqual(names.map((s) => s.work), served.map((s) => s.work).sort((a, b) => b - a), `served ${order.join(" ")}`);
    for (let i = 1; i < names.length; i++) assert.ok(names[i - 1]!.work >= names[i]!.work, `served ${order.join(" ")}`);
    for (const s of served) assert.ok(s.work >= 4 + efforts[s.arrival]!, `${s.name} solved at least ${4 + efforts[s.arrival]!} bits`);
  });

  test("a client refused a slot gets BUSY with a retry hint (queue full), counted", async () => {
    await using up = await startUpstream();
    await using g = await testGuard(up.port, { upstream_max_connections: 1, upstream_queue_max: 0 }, t);
    const holder = await guardedClient(t, g.port);
    const { openGuarded } = await import("../../src/shared/client/fetch.ts");
    const { referenceSolver } = await import("../helpers/server.ts");
    const seen: string[] = [];
    await assert.rejects(openGuarded("127.0.0.1", g.port, { transport: t, solver: referenceSolver, timeoutMs: 800, onRetry: ({ code }) => void seen.push(code) }), (e: Error) => /BUSY|Timed out/.test(e.message));
    assert.ok(seen.every((c) => c === "BUSY"), seen.join());
    assert.match(await g.metrics.render(), /wisdom_guard_queue_refused_total\{reason="full"\} [1-9]/);
    assert.equal(up.conns.length, 1);
    holder.conn.destroy();
  });

  test("a full upstream raises the difficulty (the controller's sourceSaturation)", async () => {
    await using up = await startUpstream();
    await using g = await testGuard(up.port, { upstream_max_connections: 1, adaptive: "on", adaptive_tick_ms: 100, difficulty: 4, difficulty_max: 8 }, t);
    const holder = await guardedClient(t, g.port);
    await waitFor(() => (g.defence.controller?.bits ?? 0) >= 5, 3000, "a raised difficulty");
    assert.match(await g.metrics.render(), /wisdom_pressure_ratio 1/);
    holder.conn.destroy();
    await waitFor(() => g.slots.active === 0, 2000, "the slot freed");
  });

  test("a reload points new streams at the new upstream; a stream already relayed keeps its own", async () => {
    await using up1 = await startUpstream();
    await using up2 = await startUpstream();
    await using g = await testGuard(up1.port, {}, t);
    const before = await guardedClient(t, g.port);
    const r = await g.reload({ ...g.config, upstream: `127.0.0.1:${up2.port}`, idle_timeout_ms: 1234 }, [{ id: "t1", secret: TEST_SECRET }]);
    assert.ok(r.changed.includes("upstream") && !r.needRestart.includes("upstream"));
    const after = await guardedClient(t, g.port);
    assert.equal(after.open.idle_timeout_ms, 1234);
    before.conn.write(new TextEncoder().encode("one"));
    after.conn.write(new TextEncoder().encode("two"));
    await waitFor(() => before.received().toString() === "one" && after.received().toString() === "two", 3000, "both echoes");
    assert.deepEqual([up1.conns.length, up2.conns.length], [1, 1]);
    assert.equal(up1.conns[0]!.received().toString(), "one");
    assert.equal(up2.conns[0]!.received().toString(), "two");
    before.conn.destroy();
    after.conn.destroy();
  });

  test("shutdown closes relayed streams once shutdown_grace_ms has passed, and frees their upstream connections", async () => {
    await using up = await startUpstream();
    const g = await testGuard(up.port, { shutdown_grace_ms: 300 }, t);
    const c = await guardedClient(t, g.port);
    const t0 = performance.now();
    await g.close();
    await Promise.race([c.closed, c.ended]);
    const ms = performance.now() - t0;
    assert.ok(ms >= 250 && ms < 3000, `closed after ${Math.round(ms)} ms`);
    await up.conns[0]!.closed;
    assert.equal(g.slots.active, 0);
    c.conn.destroy();
  });
});

describe(`guard with a shared Redis store (${t.name} transport)`, () => {
  test("two guard instances on one Redis: a proof opens one stream, its replay at the other instance gets REPLAY", async () => {
    const { startRedis } = await import("../helpers/redis.ts");
    const { rawConnect } = await import("../helpers/server.ts");
    const { FrameDecoder, MessageType } = await import("../../src/shared/protocol/frame.ts");
    const { decodeMessage, encodeSolution } = await import("../../src/shared/protocol/messages.ts");
    const { challengePrefix } = await import("../../src/shared/pow/challenge.ts");
    const { encodeCounter, solveReference } = await import("../../src/shared/pow/hashcash.ts");
    const { bytesToHex } = await import("@noble/hashes/utils.js");
    await using redis = await startRedis();
    await using up = await startUpstream();
    await using a = await testGuard(up.port, { store: redis.url, clock_skew_ms: 0 }, t);
    await using b = await testGuard(up.port, { store: redis.url, clock_skew_ms: 0 }, t);
    const first = (bytes: Uint8Array) => new FrameDecoder().push(bytes, 2).map(decodeMessage);
    const ca = await rawConnect(t, a.port);
    await waitFor(() => first(ca.bytes()).length >= 1, 5000, "a challenge");
    const ch = (first(ca.bytes())[0] as { body: import("../../src/shared/protocol/messages.ts").Challenge }).body;
    const sol = encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits, 0, 1 << 24))) });
    ca.conn.write(sol);
    await waitFor(() => first(ca.bytes()).length === 2, 5000, "the answer at a");
    assert.equal(first(ca.bytes())[1]!.type, MessageType.Open);
    // The same proof at the other instance (reconnect mode: the Solution as the first frame).
    const cb = await rawConnect(t, b.port);
    cb.conn.write(sol);
    await cb.closed;
    const got = first(cb.bytes());
    assert.equal(got[1]!.type, MessageType.Error);
    assert.equal((got[1] as { body: { code: string } }).body.code, "REPLAY");
    assert.equal(up.conns.length, 1);
    ca.conn.destroy();
  });
});
