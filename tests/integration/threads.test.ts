/**
 * `serve --threads`: gate threads in Workers on one port, real sockets on loopback. A proof submitted on
 * several connections at once (spread by the kernel over the threads) gets exactly one quote; the caps
 * count every thread's connections; /metrics adds the threads up; a reload reaches every thread; a thread
 * that fails is started again and the server keeps serving.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex } from "@noble/hashes/utils.js";
import { SERVE_DEFAULTS, type ServeConfig } from "../../src/shared/config/schema.ts";
import { fetchQuote } from "../../src/shared/client/fetch.ts";
import { FrameReader } from "../../src/shared/client/frame-reader.ts";
import { createLogger } from "../../src/shared/observe/logger.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { MessageType } from "../../src/shared/protocol/frame.ts";
import { type Challenge, encodeSolution, type Message } from "../../src/shared/protocol/messages.ts";
import { startServer } from "../../src/server.ts";
import { governorBudgetBytes } from "../../src/shared/runtime/heap-governor.ts";
import { planThreads, startThreads, type ThreadedServer } from "../../src/shared/serve/threads.ts";
import { pickTransport, runtimeName } from "../../src/shared/transport/index.ts";
import { startRedis } from "../helpers/redis.ts";
import { NO_LIMITS, referenceSolver, TEST_SECRET, waitFor } from "../helpers/server.ts";

const t = await pickTransport();

async function threaded(config: Partial<ServeConfig>, threads = 2, keys = [{ id: "t1", secret: TEST_SECRET }]): Promise<ThreadedServer & { logs: string[] }> {
  const logs: string[] = [];
  const write = (line: string) => void logs.push(line);
  const srv = await startThreads(
    {
      config: { ...SERVE_DEFAULTS, listen: "127.0.0.1:0", metrics_listen: "127.0.0.1:0", difficulty: 1, log_level: "info", log_format: "json", threads, ...config },
      keys,
      logger: createLogger({ format: "json", level: "info", write }),
      threads,
    },
    startServer,
  );
  return Object.assign(srv, { logs });
}

async function scrape(srv: ThreadedServer): Promise<string> {
  return (await fetch(`http://127.0.0.1:${srv.http!.port}/metrics`)).text();
}
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? "NaN");

/** A connection that has read its challenge. */
async function challenged(port: number): Promise<{ reader: FrameReader; ch: Challenge; conn: Awaited<ReturnType<typeof t.connect>> }> {
  const reader = new FrameReader();
  const conn = await t.connect("127.0.0.1", port, reader);
  const m = await reader.next();
  assert.equal(m.type, MessageType.Challenge, JSON.stringify(m));
  return { reader, conn, ch: (m as { body: Challenge }).body };
}

const solve = (ch: Challenge) => bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits, 0, 1 << 24)));

/** `proofs` proofs, each sent on four connections at once: one quote each, the rest REPLAY, both threads busy. */
async function raceProofs(srv: ThreadedServer, PROOFS: number, COPIES = 4, fencedAllowed = false): Promise<void> {
    let quotes = 0, replays = 0, fenced = 0;
    const other: string[] = [];
    const perProof: number[] = [];
    const one = async () => {
      const first = await challenged(srv.port);
      first.conn.destroy();
      const sol = encodeSolution({ challenge: first.ch, counter: solve(first.ch) });
      const answers = await Promise.all(
        Array.from({ length: COPIES }, async () => {
          const c = await challenged(srv.port);
          c.conn.write(sol);
          const m: Message = await c.reader.next();
          c.conn.destroy();
          return m;
        }),
      );
      let got = 0, gotFenced = 0;
      for (const m of answers) {
        const code = m.type === MessageType.Error ? (m.body as { code: string }).code : "";
        if (m.type === MessageType.Quote) (quotes++, got++);
        else if (code === "REPLAY") replays++;
        else if (code === "EXPIRED" && fencedAllowed) (fenced++, gotFenced++);
        else other.push(JSON.stringify(m));
      }
      // Never two quotes for one proof; none only when the store refused it as fenced (EXPIRED).
      assert.ok(got === 1 || (got === 0 && gotFenced > 0), `a proof got ${got} quotes (${gotFenced} EXPIRED)`);
      perProof.push(got);
    };
    // 20 proofs in flight at a time.
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next++ < PROOFS) await one();
    }));
    assert.deepEqual(other, [], "every answer is a quote or REPLAY (or, with a new Redis server, EXPIRED)");
    const served = perProof.filter((g) => g === 1).length;
    assert.equal(quotes, served, "one quote per proof, never two");
    assert.equal(quotes + replays + fenced, PROOFS * COPIES);
    assert.ok(fencedAllowed ? served >= PROOFS * 0.95 : served === PROOFS, `${served} of ${PROOFS} proofs served (${fenced} EXPIRED answers)`);
    const text = await scrape(srv);
    const byThread = [0, 1].map((i) => metric(text, new RegExp(`^wisdom_thread_connections_accepted_total\\{thread="${i}"\\} (\\d+)`, "m")));
    const total = PROOFS * (COPIES + 1);
    assert.equal(byThread[0]! + byThread[1]!, total, `accepts by thread: ${byThread}`);
    // The kernel spreads connections by their ports: each thread took a real share, so most proofs met both.
    assert.ok(byThread.every((n) => n > total * 0.2), `both threads served: ${byThread}`);
    assert.equal(metric(text, /^wisdom_quotes_served_total\{source="embedded"\} (\d+)/m), quotes, "one /metrics adds the threads up");
    assert.equal(metric(text, /^wisdom_proofs_failed_total\{reason="replay"\} (\d+)/m), replays);
    assert.equal(metric(text, /^wisdom_threads (\d+)/m), 2);
    // The heap governor's budget is the process's: one thread's, and what a second one costs idle (Bun only).
    assert.equal(metric(text, /^wisdom_heap_budget_bytes (\d+)/m), runtimeName() === "bun" ? governorBudgetBytes(2) : 0);
    // Its forced collections by trigger come through the threads' sum with their labels (a count; 0 here, under the budget, or more).
    for (const t of ["heap", "rss", "period"]) assert.ok(metric(text, new RegExp(`^wisdom_forced_gc_total\\{trigger="${t}"\\} (\\d+)`, "m")) >= 0, `wisdom_forced_gc_total{trigger="${t}"}`);
}

describe("planThreads()", () => {
  test("0 asks for one thread per core; 1 is one; a platform that cannot share a port runs one and says why", () => {
    const c = { ...SERVE_DEFAULTS };
    assert.deepEqual(planThreads({ ...c, threads: 0 }, 8, null), { threads: 8, reason: null });
    assert.deepEqual(planThreads({ ...c, threads: 1 }, 8, null), { threads: 1, reason: null });
    assert.deepEqual(planThreads({ ...c, threads: 3 }, 2, null), { threads: 3, reason: null });
    assert.deepEqual(planThreads({ ...c, threads: 4 }, 8, "no SO_REUSEPORT here"), { threads: 1, reason: "no SO_REUSEPORT here" });
    assert.equal(planThreads({ ...c, threads: 2, firewall: "nft" }, 8, null).threads, 1);
  });
});

describe("wisdom serve with two gate threads", () => {
  test("1,000 proofs, each submitted on four connections at once: exactly one quote per proof, whatever thread took it", async () => {
    await using srv = await threaded({ ...NO_LIMITS, adaptive: "off" });
    await raceProofs(srv, 1000);
  });

  test("with store: redis://, each thread its own client: 200 proofs raced over the threads get one quote each", async () => {
    await using redis = await startRedis();
    // clock_skew_ms 0: a new Redis server fences the challenges issued up to clock_skew_ms after it was
    // found (store/redis-spent.ts); here every challenge is issued after the first thread found it.
    // store_timeout_ms 2000: a thread whose first Redis command outlasts the timeout (a loaded test machine)
    // starts with the store down and answers BUSY (fail-closed) until it reconnects; wait until every
    // thread's store is up (wisdom_store_up is the lowest over the threads).
    await using srv = await threaded({ ...NO_LIMITS, adaptive: "off", store: redis.url, clock_skew_ms: 0, store_timeout_ms: 2000 });
    const up = async () => metric(await scrape(srv), /^wisdom_store_up (\d+)/m) === 1;
    for (let i = 0; i < 100 && !(await up()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await up(), "every thread's store is up");
    // A fresh Redis server is a new server to the store's failover fence (store/redis-spent.ts): a proof
    // whose challenge one thread issued before another thread's first script found the server may be
    // refused as EXPIRED (seen once on Deno under a full test run). That is a refusal, never a second quote.
    await raceProofs(srv, 200, 4, true);
  });

  test("a thread that fails is started again and counted, its connections leave the caps, and the server keeps serving", async () => {
    await using srv = await threaded({ ...NO_LIMITS, max_connections_per_addr: 10, first_byte_timeout_ms: 20_000, handshake_timeout_ms: 30_000 });
    // Ten held connections fill the address's cap, spread over both threads.
    const held = await Promise.all(Array.from({ length: 10 }, () => challenged(srv.port)));
    const onThread1 = metric(await scrape(srv), /^wisdom_thread_connections_accepted_total\{thread="1"\} (\d+)/m);
    assert.ok(onThread1 > 0 && onThread1 < 10, `thread 1 holds some of them: ${onThread1}`);
    srv.failThread(1);
    await waitFor(() => srv.logs.some((l) => l.includes("gate thread failed")), 10_000, "the failure logged");
    const failed = JSON.parse(srv.logs.find((l) => l.includes("gate thread failed"))!);
    assert.equal(failed.connections_released, onThread1, "the dead thread's connections no longer count");
    await waitFor(() => srv.logs.some((l) => l.includes("gate thread restarted")), 60_000, "the restart");
    assert.equal(srv.running(), 2);
    // Exactly the released places are free again: the main thread's held connections still count.
    let admitted = 0;
    const more = await Promise.all(Array.from({ length: 12 }, async () => {
      const reader = new FrameReader();
      const conn = await t.connect("127.0.0.1", srv.port, reader);
      if ((await reader.next()).type === MessageType.Challenge) admitted++;
      return conn;
    }));
    assert.equal(admitted, onThread1);
    for (const c of [...more, ...held.map((h) => h.conn)]) c.destroy();
    const text = await scrape(srv);
    assert.equal(metric(text, /^wisdom_thread_restarts_total (\d+)/m), 1);
    await waitFor(() => false, 300).catch(() => {}); // the closes reach the server
    for (let i = 0; i < 10; i++) assert.ok((await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 5000 })).quote.length > 0);
    const after = await scrape(srv);
    assert.ok(metric(after, /^wisdom_thread_connections_accepted_total\{thread="1"\} (\d+)/m) > 0, "the new thread 1 takes connections");
  });

  test("a reload reaches every thread: a raised difficulty is asked by all of them", async () => {
    await using srv = await threaded({ ...NO_LIMITS, adaptive: "off", difficulty: 2 });
    const bitsSeen = async () => {
      const seen = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const c = await challenged(srv.port);
        seen.add(c.ch.bits);
        c.conn.destroy();
      }
      return seen;
    };
    assert.deepEqual([...(await bitsSeen())], [2]);
    const report = await srv.reload({ ...srv.config, difficulty: 3 }, [{ id: "t1", secret: TEST_SECRET }]);
    assert.ok(report.changed.includes("difficulty"));
    assert.deepEqual([...(await bitsSeen())], [3], "no thread kept the old difficulty");
    const text = await scrape(srv);
    assert.ok(metric(text, /^wisdom_thread_connections_accepted_total\{thread="1"\} (\d+)/m) > 0, "thread 1 answered some of them");
  });

  test("key rotation reaches every thread: after A -> A+B signing B, every thread signs with B and still verifies A", async () => {
    const A = { id: "kA", secret: new TextEncoder().encode("threads-rotation-secret-A-0123") };
    const B = { id: "kB", secret: new TextEncoder().encode("threads-rotation-secret-B-0123") };
    await using srv = await threaded({ ...NO_LIMITS, adaptive: "off" }, 2, [A]);
    const held = await Promise.all(Array.from({ length: 10 }, () => challenged(srv.port)));
    assert.ok(held.every((h) => h.ch.kid === "kA"));
    await srv.reload(srv.config, [A, B], "kB");
    const fresh = await Promise.all(Array.from({ length: 20 }, () => challenged(srv.port)));
    assert.deepEqual([...new Set(fresh.map((h) => h.ch.kid))], ["kB"], "every thread signs with the new key");
    // Proofs of challenges signed with A, answered on new connections (any thread), still buy quotes.
    for (const h of held) {
      h.conn.destroy();
      const c = await challenged(srv.port);
      c.conn.write(encodeSolution({ challenge: h.ch, counter: solve(h.ch) }));
      assert.equal((await c.reader.next()).type, MessageType.Quote);
      c.conn.destroy();
    }
    for (const f of fresh) f.conn.destroy();
  });

  test("the per-address cap is exact across threads: the N+1th connection is refused whatever thread takes it", async () => {
    await using srv = await threaded({ ...NO_LIMITS, max_connections_per_addr: 10, first_byte_timeout_ms: 20_000, handshake_timeout_ms: 30_000 });
    /** Open `n` connections at once; those that got a challenge (held open) and how many were refused. */
    const open = async (n: number) => {
      const got = await Promise.all(Array.from({ length: n }, async () => {
        const reader = new FrameReader();
        const conn = await t.connect("127.0.0.1", srv.port, reader);
        const m = await reader.next();
        if (m.type === MessageType.Challenge) return { conn };
        assert.equal((m.body as { code: string }).code, "RATE_LIMITED", JSON.stringify(m));
        conn.destroy();
        return null;
      }));
      return { held: got.filter((x) => x !== null), refused: got.filter((x) => x === null).length };
    };
    const first = await open(30);
    assert.equal(first.held.length, 10, "exactly the cap is admitted");
    assert.equal(first.refused, 20);
    const text = await scrape(srv);
    const byThread = [0, 1].map((i) => metric(text, new RegExp(`^wisdom_thread_connections_accepted_total\\{thread="${i}"\\} (\\d+)`, "m")));
    assert.ok(byThread.every((n) => n > 0), `both threads took some of the 30: ${byThread}`);
    for (const h of first.held.slice(0, 3)) h.conn.destroy();
    await waitFor(() => false, 300).catch(() => {}); // the closes reach the server
    const second = await open(12);
    assert.equal(second.held.length, 3, "three places freed, three admitted");
    for (const h of [...first.held, ...second.held]) h.conn.destroy();
  });
});
