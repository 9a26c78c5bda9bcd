import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRedisBackend, type RedisBackendOptions, type RedisEvent, RedisUrlError } from "../../src/shared/store/redis.ts";
import { redisClients } from "../../src/shared/runtime/redis-clients.ts";
import { ChallengeFencedError, StoreUnavailableError } from "../../src/shared/store/types.ts";
import { type RedisProcess, startRedis } from "../helpers/redis.ts";
import { runtimeName } from "../../src/shared/transport/index.ts";

const LIBRARIES = runtimeName() === "bun" ? (["bun", "ioredis"] as const) : (["ioredis"] as const);

const TIMEOUT_MS = 200;
const SPEC = { ratePerSec: 5, burst: 3 };
const SAMPLE = { openConnections: 1, acceptsPerSec: 2, challengesPerSec: 1.5, failedProofsPerSec: 3, validProofsPerSec: 4, loopDelayMs: 5, sourceSaturation: 0.25, bits: 10 };
let _n = 0;
/** An issue time after any fence: these tests are not about the failover fence (sentinel.test.ts and the tests below are). */
const FRESH = Number.MAX_SAFE_INTEGER;

/** A backend that records its events and closes itself at the end of the scope. */
async function backend(url: string, opts: Partial<RedisBackendOptions> = {}) {
  const events: RedisEvent[] = [];
  const b = await createRedisBackend(url, {
    connect: redisClients,
    failMode: "fail-closed",
    commandTimeoutMs: TIMEOUT_MS,
    instanceId: `test-${++_n}`,
    onEvent: (e) => void events.push(e),
    ...opts,
  });
  const count = (type: RedisEvent["type"]) => events.filter((e) => e.type === type).length;
  return Object.assign(b, { events, count, [Symbol.asyncDispose]: () => b.close() });
}

/** Poll `cond` every 50 ms; fail naming `what` after `ms`. */
async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long `p` takes to settle, and how. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

/** EVALSHA calls the Redis server has answered so far. */
async function evalshaCalls(b: { command(c: string, ...a: string[]): Promise<unknown> }): Promise<number> {
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(String(await b.command("INFO", "commandstats")))?.[1] ?? 0);
}

/** A unique key prefix, so tests sharing one server never see each other's keys. */
const prefix = () => `t${++_n}:`;

describe("createRedisBackend()", () => {
  test("\"auto\" carries the connection with Bun's own client on Bun, ioredis elsewhere", async () => {
    await using redis = await startRedis();
    await using b = await backend(redis.url);
    assert.equal(b.library, runtimeName() === "bun" ? "bun" : "ioredis");
    assert.equal(Number(await b.command("EXISTS", "nothing-here")), 0);
  });

  test("rejects a malformed URL, naming it", async () => {
    for (const url of ["localhost:6379", "http://h:1/0", "redis://h:6379/x", "redis://u:secret@h:1/0", "redis://h:1/0?tls=1", "redis://:1/0"]) {
      await assert.rejects(createRedisBackend(url, { connect: redisClients, failMode: "fail-closed", commandTimeoutMs: 100, instanceId: "a" }), (err: Error) => {
        assert.ok(err instanceof RedisUrlError, `${url}: ${err}`);
        assert.match(err.message, /Invalid Redis URL "/);
        assert.ok(!err.message.includes("secret"), "a password is never echoed");
        return true;
      });
    }
  });
});

// Every library the backend can use on this runtime: Bun's own client and ioredis on Bun, ioredis elsewhere.
for (const library of LIBRARIES) {
  describe(`Redis backend shared by two instances (${library})`, () => {
    let redis: RedisProcess;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await redis?.stop();
    });

    test("uses the library asked for and names its connection (CLIENT SETNAME)", async () => {
      const id = `named-${library}-${Math.random().toString(36).slice(2, 8)}`;
      await using a = await backend(redis.url, { library, keyPrefix: prefix(), instanceId: id });
      assert.equal(a.library, library);
      const list = String(await a.command("CLIENT", "LIST"));
      assert.ok(list.split("\n").some((line) => line.includes(` name=wisdom-${id} `)), list);
    });

    test("markSpent() is set-if-absent across instances: a key spent through one is refused through the other", async () => {
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix });
      await using b = await backend(redis.url, { library, keyPrefix });
      assert.equal(a.store.healthy(), true);
      assert.equal(a.store.ready(), true);
      const now = Date.now();
      assert.equal(await a.store.markSpent("k1", now + 60_000, now, FRESH), true);
      assert.equal(await b.store.markSpent("k1", now + 60_000, now, FRESH), false);
      assert.equal(await a.store.markSpent("k1", now + 60_000, now, FRESH), false);
      assert.equal(a.store.size(), 1, "size() counts this instance's live inserts");
      assert.equal(b.store.size(), 0);
      assert.equal(Number(await a.command("PTTL", `${keyPrefix}spent:k1`)) > 59_000, true, "expiry set with the key");
      // Many concurrent attempts on one key through both instances: exactly one wins.
      const tries = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).store.markSpent("race", now + 60_000, now, FRESH));
      assert.equal((await Promise.all(tries)).filter(Boolean).length, 1);
    });

    test("one event-loop turn's takes and spends travel as one script call, each answered in order", async () => {
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix });
      const now = Date.now();
      await a.store.markSpent("warm", now + 60_000, now, FRESH); // loads the script (EVALSHA, then EVAL once)
      const before = await evalshaCalls(a);
      // 40 distinct proofs, one of them twice; 5 takes from a burst-3 bucket; all issued in one turn.
      const spends = Array.from({ length: 40 }, (_, i) => a.store.markSpent(`p${i}`, now + 60_000, now, FRESH));
      const again = a.store.markSpent("p7", now + 60_000, now, FRESH);
      const takes = Array.from({ length: 5 }, () => a.limiter.take("batch", "10.0.0.1", SPEC, now));
      assert.deepEqual(await Promise.all(spends), Array(40).fill(true));
      assert.equal(await again, false, "the second spend of a proof in the same batch is refused");
      const t = await Promise.all(takes);
      assert.deepEqual(t.map((x) => x.ok), [true, true, true, false, false]);
      for (const x of t.slice(3)) assert.ok(!x.ok && x.retryAfterMs > 0 && x.retryAfterMs <= 1000 / SPEC.ratePerSec);
      assert.equal((await evalshaCalls(a)) - before, 1, "46 operations, one EVALSHA");
      const noscript = Number(/errorstat_NOSCRIPT:count=(\d+)/.exec(String(await a.command("INFO", "errorstats")))?.[1] ?? 0);
      assert.ok(noscript <= 2, `EVALSHA names the scripts Redis has (NOSCRIPT ${noscript} times: once per script at most)`);
    });

    test("a busy key is served from leased tokens: 300 takes in a row cost a handful of Redis calls", async () => {
      await using a = await backend(redis.url, { library, keyPrefix: prefix() });
      const spec = { ratePerSec: 10_000, burst: 8_000 }; // leases of up to 64
      await a.store.markSpent("warm", Date.now() + 60_000, Date.now(), FRESH);
      const before = await evalshaCalls(a);
      let sync = 0;
      for (let i = 0; i < 300; i++) {
        const t = a.limiter.take("busy", "10.0.0.2", spec, 0);
        if (!(t instanceof Promise)) sync++;
        assert.deepEqual(await t, { ok: true });
      }
      const calls = (await evalshaCalls(a)) - before;
      assert.ok(calls >= 7 && calls <= 12, `leases of 1, 2, 4 ... 64 tokens: ${calls} calls`);
      assert.equal(sync, 300 - calls, "every take not sent to Redis was answered at once");
      assert.equal(a.limiter.held("busy", "10.0.0.2") > 0, true);
    });

    test("a take issued while the key's request is on its way is not refused for lack of a share in it", async () => {
      await using a = await backend(redis.url, { library, keyPrefix: prefix() });
      const first = a.limiter.take("late", "k", SPEC, 0);
      await new Promise((r) => setTimeout(r, 0)); // the first request has left (the batch goes out after the turn)
      const second = a.limiter.take("late", "k", SPEC, 0);
      assert.deepEqual(await Promise.all([first, second]), [{ ok: true }, { ok: true }], "a fresh burst-3 bucket has both");
    });

    test("a stalled Redis does not drain a busy key's bucket: requests that time out carry no extra tokens", async () => {
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix, failMode: "fail-open" });
      await using probe = await backend(redis.url, { library, keyPrefix });
      const spec = { ratePerSec: 200, burst: 800 }; // leases of up to 20
      for (let i = 0; i < 100; i++) await a.limiter.take("stall", "net", spec, 0); // a busy key: its lease grows
      assert.equal(await probe.command("CLIENT", "PAUSE", "600"), "OK");
      for (let i = 0; i < 50; i++) {
        void a.limiter.take("stall", "net", spec, 0); // answered from memory once the request times out
        await sleep(10);
      }
      await sleep(700); // the pause is over and every request sent during it has run
      const raw = await probe.command("HGET", `${keyPrefix}rl:stall:net`, "tokens");
      const tokens = raw === null ? spec.burst : Number(raw); // no key: the bucket is full
      // 800 - 100 before - at most one lease (20) - one token per take during the stall (50), plus refill.
      assert.ok(tokens >= 600, `bucket left with ${tokens} tokens`);
    });

    test("leases never let two instances together take more than the shared bucket gives", async () => {
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix });
      await using b = await backend(redis.url, { library, keyPrefix });
      const spec = { ratePerSec: 1000, burst: 640 }; // leases of up to 64
      let ok = 0, refused = 0;
      const t0 = performance.now();
      const hammer = async (x: typeof a) => {
        for (let round = 0; round < 40; round++) {
          const ts = await Promise.all(Array.from({ length: 30 }, () => x.limiter.take("shared", "10.0.0.3", spec, 0)));
          for (const t of ts) t.ok ? ok++ : refused++;
        }
      };
      await Promise.all([hammer(a), hammer(b)]);
      const seconds = (performance.now() - t0) / 1000;
      const most = spec.burst + spec.ratePerSec * seconds;
      assert.ok(refused > 0, "the bucket ran dry");
      assert.ok(ok <= most + 2, `${ok} tokens taken in ${seconds.toFixed(3)} s: at most ${most.toFixed(0)} exist`);
      // Held and dropped leases refuse a little early, never much: at most a lease per instance.
      assert.ok(ok >= spec.burst - 2 * 64, `${ok} taken: leases strand at most 64 tokens per instance`);
    });

    test("leased tokens unused for the lease lifetime are dropped, and the next take asks Redis again", async () => {
      await using a = await backend(redis.url, { library, keyPrefix: prefix(), leaseTtlMs: 150 });
      const spec = { ratePerSec: 10_000, burst: 8_000 };
      for (let i = 0; i < 10 && a.limiter.held("idle", "k") === 0; i++) await a.limiter.take("idle", "k", spec, 0);
      assert.ok(a.limiter.held("idle", "k") > 0, "a lease with tokens to spare");
      await sleep(200);
      assert.equal(a.limiter.held("idle", "k"), 0, "dropped after its lifetime");
      const t = a.limiter.take("idle", "k", spec, 0);
      assert.ok(t instanceof Promise, "the next take goes to Redis");
      assert.deepEqual(await t, { ok: true });
    });

    test("a refusal is remembered until the time Redis gave: a client asking again meanwhile costs no Redis call", async () => {
      await using a = await backend(redis.url, { library, keyPrefix: prefix() });
      for (let i = 0; i < 3; i++) assert.deepEqual(await a.limiter.take("neg", "k", SPEC, 0), { ok: true });
      const first = await a.limiter.take("neg", "k", SPEC, 0);
      assert.ok(!first.ok && first.retryAfterMs > 0 && first.retryAfterMs <= 200);
      const before = await evalshaCalls(a);
      for (let i = 0; i < 20; i++) {
        const t = a.limiter.take("neg", "k", SPEC, 0);
        assert.ok(!(t instanceof Promise) && !t.ok && t.retryAfterMs <= first.retryAfterMs, `answered here: ${JSON.stringify(t)}`);
      }
      assert.equal((await evalshaCalls(a)) - before, 0);
      await sleep(first.retryAfterMs + 20);
      assert.deepEqual(await a.limiter.take("neg", "k", SPEC, 0), { ok: true }, "served once the bucket has a token again");
    });

    test("spent entries expire with their challenge", async () => {
      await using a = await backend(redis.url, { library, keyPrefix: prefix() });
      const now = Date.now();
      assert.equal(await a.store.markSpent("k", now + 150, now, FRESH), true);
      assert.equal(await a.store.markSpent("k", now + 150, now, FRESH), false);
      await sleep(250);
      assert.equal(await a.store.markSpent("k", Date.now() + 150, Date.now(), FRESH), true, "free again once expired");
    });

    test("a token bucket drained through one instance is empty for the other and refills at the rate (Redis clock)", async () => {
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix });
      await using b = await backend(redis.url, { library, keyPrefix });
      // The callers' clocks disagree wildly; only the Redis server's TIME counts.
      for (let i = 0; i < 3; i++) assert.deepEqual(await a.limiter.take("challenge", "1.2.3.4", SPEC, 0), { ok: true });
      const t = await b.limiter.take("challenge", "1.2.3.4", SPEC, 9e12);
      assert.equal(t.ok, false);
      assert.ok(!t.ok && t.retryAfterMs > 0 && t.retryAfterMs <= 200, `retryAfterMs ${!t.ok && t.retryAfterMs}`);
      assert.deepEqual(await b.limiter.take("challenge", "5.6.7.8", SPEC, 9e12), { ok: true }, "other keys unaffected");
      assert.deepEqual(await b.limiter.take("solution", "1.2.3.4", SPEC, 9e12), { ok: true }, "other tables unaffected");
      await sleep(250); // 5/s: one token back after 200 ms
      assert.deepEqual(await b.limiter.take("challenge", "1.2.3.4", SPEC, 0), { ok: true });
      assert.equal((await a.limiter.take("challenge", "1.2.3.4", SPEC, 0)).ok, false, "only one token came back");
      const ttl = Number(await a.command("PTTL", `${keyPrefix}rl:challenge:1.2.3.4`));
      assert.ok(ttl > 0 && ttl <= 600, `bucket key expires once full again (pttl ${ttl})`);
    });

    test("the pressure board sums live instances, takes the max delay and bits, and drops a dead instance", async () => {
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix });
      await using b = await backend(redis.url, { library, keyPrefix });
      const ra = await a.pressure.exchange("a", SAMPLE, 300);
      assert.equal(ra.instances, 1);
      assert.deepEqual(ra.aggregate, { openConnections: 1, acceptsPerSec: 2, challengesPerSec: 1.5, failedProofsPerSec: 3, validProofsPerSec: 4, loopDelayMs: 5, sourceSaturation: 0.25 });
      const rb = await b.pressure.exchange("b", { openConnections: 10, acceptsPerSec: 0.5, challengesPerSec: 0.5, failedProofsPerSec: 0, validProofsPerSec: 1.25, loopDelayMs: 2, sourceSaturation: 0.5, bits: 14 }, 2000);
      assert.equal(rb.instances, 2);
      assert.equal(rb.maxBits, 14);
      assert.deepEqual(rb.aggregate, { openConnections: 11, acceptsPerSec: 2.5, challengesPerSec: 2, failedProofsPerSec: 3, validProofsPerSec: 5.25, loopDelayMs: 5, sourceSaturation: 0.5 });
      await sleep(400); // a stops publishing: its sample expires
      const later = await b.pressure.exchange("b", { ...SAMPLE, bits: 8 }, 2000);
      assert.equal(later.instances, 1);
      assert.equal(later.maxBits, 8);
      assert.deepEqual(later.aggregate, { openConnections: 1, acceptsPerSec: 2, challengesPerSec: 1.5, failedProofsPerSec: 3, validProofsPerSec: 4, loopDelayMs: 5, sourceSaturation: 0.25 });
    });

    test("a paused (slow) Redis: every call settles within the command timeout, not after the pause", async () => {
      await using closed = await backend(redis.url, { library, keyPrefix: prefix() });
      await using open = await backend(redis.url, { library, keyPrefix: prefix(), failMode: "fail-open" });
      await redis.pause(1500);
      const now = Date.now();
      const bound = TIMEOUT_MS + 250;
      const r1 = await timed(closed.store.markSpent("p", now + 60_000, now, FRESH));
      assert.ok(r1.error instanceof StoreUnavailableError, `fail-closed rejects: ${r1.error}`);
      assert.ok(r1.ms < bound, `markSpent settled after ${r1.ms} ms`);
      const r2 = await timed((async () => closed.limiter.take("challenge", "p", SPEC, now))());
      assert.ok(r2.error instanceof StoreUnavailableError && r2.ms < bound, `limiter: ${r2.error} after ${r2.ms} ms`);
      const r3 = await timed(open.store.markSpent("p", now + 60_000, now, FRESH));
      assert.equal(r3.value, true, "fail-open answers from memory");
      assert.ok(r3.ms < bound, `fail-open markSpent after ${r3.ms} ms`);
      const r4 = await timed(open.pressure.exchange("x", SAMPLE, 1000));
      assert.equal(r4.value?.instances, 1, "pressure falls back to the local sample");
      assert.ok(r4.ms < bound, `exchange after ${r4.ms} ms`);
      assert.equal(closed.store.healthy(), false);
      assert.equal(closed.store.ready(), false);
      assert.equal(open.store.ready(), true);
      // Once the pause ends both answer from Redis again.
      // (A fresh key each try: a SET that timed out on our side may still be applied once Redis resumes.)
      let i = 0;
      await waitFor(async () => (await timed(closed.store.markSpent(`q${i++}`, Date.now() + 60_000, Date.now(), FRESH))).value === true, 4000, "fail-closed recovers after the pause");
      assert.equal(closed.store.healthy(), true);
      assert.equal(closed.count("up"), 2, "connected, then up again");
    });
  });

  describe(`Redis backend when Redis goes away (${library})`, () => {
    test("fail-closed: refuses with StoreUnavailableError within the timeout, not ready, and recovers by itself", async () => {
      await using redis = await startRedis();
      await using b = await backend(redis.url, { library, keyPrefix: prefix() });
      const now = Date.now();
      assert.equal(await b.store.markSpent("before", now + 60_000, now, FRESH), true);
      await redis.stop();
      for (let i = 0; i < 5; i++) {
        const r = await timed(b.store.markSpent(`k${i}`, now + 60_000, now, FRESH));
        assert.ok(r.error instanceof StoreUnavailableError, `rejects: ${r.error}`);
        assert.equal((r.error as StoreUnavailableError).code, "STORE_UNAVAILABLE");
        assert.match((r.error as Error).message, new RegExp(redis.url.replace(/[/.]/g, "\\$&")));
        assert.ok(r.ms < TIMEOUT_MS + 250, `within the timeout (${r.ms} ms)`);
      }
      await assert.rejects(async () => b.limiter.take("challenge", "a", SPEC, now), StoreUnavailableError);
      const p = await b.pressure.exchange("x", SAMPLE, 1000);
      assert.deepEqual(p, { aggregate: { openConnections: 1, acceptsPerSec: 2, challengesPerSec: 1.5, failedProofsPerSec: 3, validProofsPerSec: 4, loopDelayMs: 5, sourceSaturation: 0.25 }, maxBits: 10, instances: 1 });
      assert.equal(b.store.healthy(), false);
      assert.equal(b.store.ready(), false);
      assert.equal(b.count("down"), 1, "one down event per outage, not per command");
      await sleep(1500); // long enough for the reconnect backoff to grow
      assert.equal(b.count("down"), 1, "failed reconnects are not new outages");
      await redis.start();
      await waitFor(() => b.store.healthy(), 5000, "reconnect without a new backend");
      assert.equal(await b.store.markSpent("after", Date.now() + 60_000, Date.now(), FRESH), true);
      assert.deepEqual(await b.limiter.take("challenge", "a", SPEC, 0), { ok: true });
      assert.equal(b.store.ready(), true);
      const seen = b.events.filter((e) => e.type !== "fence");
      assert.deepEqual(seen.map((e) => e.type), ["up", "down", "fallback", "up"]);
      assert.equal(seen[2]!.source, "pressure", "only the pressure board falls back when fail-closed");
    });

    test("fail-open: answers from memory with a fallback event per answer, stays ready, and recovers by itself", async () => {
      await using redis = await startRedis();
      const keyPrefix = prefix();
      await using b = await backend(redis.url, { library, keyPrefix, failMode: "fail-open" });
      await redis.stop();
      const now = Date.now();
      const r = await timed(b.store.markSpent("m", now + 60_000, now, FRESH));
      assert.equal(r.value, true);
      assert.ok(r.ms < TIMEOUT_MS + 250);
      assert.equal(await b.store.markSpent("m", now + 60_000, now, FRESH), false, "a replay is still caught in memory");
      for (let i = 0; i < 3; i++) assert.deepEqual(await b.limiter.take("challenge", "a", SPEC, now), { ok: true });
      assert.equal((await b.limiter.take("challenge", "a", SPEC, now)).ok, false, "memory buckets still limit");
      assert.equal(b.count("fallback"), 6);
      assert.deepEqual(b.events.filter((e) => e.type === "fallback").map((e) => e.source), ["spent", "spent", "limiter", "limiter", "limiter", "limiter"]);
      assert.equal(b.count("down"), 1);
      assert.equal(b.store.healthy(), false);
      assert.equal(b.store.ready(), true);
      await redis.start();
      await waitFor(() => b.store.healthy(), 5000, "reconnect without a new backend");
      const fallbacks = b.count("fallback");
      // The same proof carries the same expiry (the memory store files keys by it).
      assert.equal(await b.store.markSpent("m", now + 60_000, Date.now(), FRESH), false, "spent during the outage stays spent here");
      assert.equal(await b.store.markSpent("n", Date.now() + 60_000, Date.now(), FRESH), true);
      assert.equal(Number(await b.command("EXISTS", `${keyPrefix}spent:n`)), 1, "written to Redis");
      assert.equal(b.count("fallback"), fallbacks, "answers come from Redis again");
      assert.deepEqual(b.events.filter((e) => e.type !== "fallback" && e.type !== "fence").map((e) => e.type), ["up", "down", "up"]);
    });

    test("starts while Redis is down (no throw) and connects once it is up", async () => {
      await using redis = await startRedis();
      await redis.stop();
      const t0 = performance.now();
      await using closed = await backend(redis.url, { library, keyPrefix: prefix() });
      await using open = await backend(redis.url, { library, keyPrefix: prefix(), failMode: "fail-open" });
      assert.ok(performance.now() - t0 < 3000, "starting does not wait long");
      assert.equal(closed.store.ready(), false);
      assert.equal(open.store.ready(), true);
      assert.deepEqual(closed.events.filter((e) => e.type !== "fence").map((e) => e.type), ["down"]);
      await redis.start();
      await waitFor(() => closed.store.healthy() && open.store.healthy(), 5000, "both connect by themselves");
      assert.equal(await closed.store.markSpent("k", Date.now() + 1000, Date.now(), FRESH), true);
    });
  });

  describe(`Redis backend: the fence against lost spent marks (${library})`, () => {
    const SKEW = 500;
    const fenceOf = (b: { events: RedisEvent[] }) => Math.max(0, ...b.events.flatMap((e) => (e.type === "fence" ? [e.fenceMs] : [])));
    const raisedBy = (b: { events: RedisEvent[] }) => b.events.filter((e) => e.type === "fence" && e.raised).length;

    test("a restart without the data fences older challenges: a proof spent before it is never accepted after it, through any instance", async () => {
      await using redis = await startRedis();
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW });
      // b's clock runs 400 ms ahead of a's (within the allowed skew): its challenges carry later issue times.
      await using b = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW, now: () => Date.now() + 400 });
      await waitFor(() => fenceOf(a) > 0 && fenceOf(b) > 0, 3000, "both learn the first fence");
      assert.equal(raisedBy(a) + raisedBy(b), 1, "the first server is fenced once, by whichever instance got there first");
      assert.equal(fenceOf(a), fenceOf(b));
      const first = fenceOf(a);
      const issuedByA = Math.max(first, Date.now());
      const issuedByB = Math.max(first, Date.now() + 400);
      assert.equal(await a.store.markSpent("pa", issuedByA + 60_000, Date.now(), issuedByA), true);
      assert.equal(await b.store.markSpent("pb", issuedByB + 60_000, Date.now(), issuedByB), true);
      assert.equal(await a.store.markSpent("pb", issuedByB + 60_000, Date.now(), issuedByB), false, "replay before the restart");
      await redis.stop(); // nothing persisted: the spent marks are gone
      await redis.start();
      await waitFor(() => fenceOf(a) > first && fenceOf(b) > first, 5000, "both learn the new fence");
      assert.equal(fenceOf(a), fenceOf(b), "one fence for the fleet");
      for (const [who, key, iat] of [[a, "pa", issuedByA], [b, "pa", issuedByA], [a, "pb", issuedByB], [b, "pb", issuedByB]] as const) {
        const r = await timed(who.store.markSpent(key, iat + 60_000, Date.now(), iat));
        assert.ok(r.error instanceof ChallengeFencedError, `replay of ${key} after the restart is refused as fenced, got ${r.error ?? r.value}`);
        assert.equal((r.error as ChallengeFencedError).code, "FENCED");
      }
      assert.ok(fenceOf(a) >= Date.now() - 5000 + SKEW - 1000, "the fence is about the time of the change plus the skew");
      // A challenge issued after the fence is served, once.
      const later = fenceOf(a);
      assert.equal(await b.store.markSpent("fresh", later + 60_000, Date.now(), later), true);
      assert.equal(await a.store.markSpent("fresh", later + 60_000, Date.now(), later), false);
    });

    test("an instance that starts later adopts the fence recorded for the same server instead of raising it", async () => {
      await using redis = await startRedis();
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW });
      await waitFor(() => fenceOf(a) > 0, 3000, "a fences the new server");
      await sleep(50);
      await using c = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW });
      await waitFor(() => fenceOf(c) > 0, 3000, "c reads the fence");
      assert.equal(fenceOf(c), fenceOf(a));
      assert.equal(raisedBy(c), 0, "same server, nothing lost: no new fence");
      assert.equal(c.store.fenceMs, a.store.fenceMs);
    });

    test("FLUSHALL (or an evicted record) counts as a new server: older challenges are refused", async () => {
      await using redis = await startRedis();
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW });
      await waitFor(() => fenceOf(a) > 0, 3000, "first fence");
      const iat = fenceOf(a);
      assert.equal(await a.store.markSpent("k", iat + 60_000, Date.now(), iat), true);
      await a.command("FLUSHALL");
      const r = await timed(a.store.markSpent("k", iat + 60_000, Date.now(), iat));
      assert.ok(r.error instanceof ChallengeFencedError, `refused as fenced, got ${r.error ?? r.value}`);
      assert.ok(a.store.fenceMs > iat);
    });

    test("fail-open across a restart: a proof accepted from memory while Redis could not be reached is not accepted again by the next process", async () => {
      await using redis = await startRedis();
      await using dead = await startRedis();
      await dead.stop(); // an address where no Redis answers: this instance's view of the outage
      const keyPrefix = prefix();
      let clock = Date.now() + 10_000;
      // Another instance of the fleet, on Redis all along: it sets the server's fence.
      await using other = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW, now: () => clock });
      await waitFor(() => fenceOf(other) > 0, 3000, "first fence");
      const iat = fenceOf(other) + 1; // after the server's fence: only this instance's start fence can refuse it later
      clock = iat;
      const first = await backend(dead.url, { library, keyPrefix, clockSkewMs: SKEW, failMode: "fail-open", now: () => clock });
      assert.equal(await first.store.markSpent("p", iat + 60_000, clock, iat), true, "accepted from memory only");
      assert.equal(first.count("fallback"), 1);
      await first.close(); // the process dies, and its memory with it
      clock += 1000;
      await using next = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW, failMode: "fail-open", now: () => clock });
      assert.equal(next.store.startFenceMs, clock);
      const r = await timed(next.store.markSpent("p", iat + 60_000, clock, iat));
      assert.ok(r.error instanceof ChallengeFencedError, `the proof from before the restart is refused, got ${r.error ?? r.value}`);
      assert.equal(Number(await next.command("EXISTS", `${keyPrefix}spent:p`)), 0, "Redis never had it: only the start fence stood in the way");
      assert.equal(await next.store.markSpent("q", clock + 60_000, clock, clock), true, "a challenge issued after the start is served");
      await using closed = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW, failMode: "fail-closed" });
      assert.equal(closed.store.startFenceMs, -Infinity, "fail-closed never answers from memory: no start fence");
    });

    test("fail-open does not answer a fenced proof from memory: the fence is Redis's answer, not an outage", async () => {
      await using redis = await startRedis();
      const keyPrefix = prefix();
      await using a = await backend(redis.url, { library, keyPrefix, clockSkewMs: SKEW, failMode: "fail-open" });
      await waitFor(() => fenceOf(a) > 0, 3000, "first fence");
      const r = await timed(a.store.markSpent("old", Date.now() + 60_000, Date.now(), fenceOf(a) - 1));
      assert.ok(r.error instanceof ChallengeFencedError, `refused, got ${r.error ?? r.value}`);
      assert.equal(a.count("fallback"), 0);
    });
  });

  describe(`Redis backend with a password (${library})`, () => {
    test("AUTH with the password given apart from the URL; without it, or with a wrong one, the store is down", async () => {
      await using redis = await startRedis({ password: "store-pw-0123" });
      await using good = await backend(redis.url, { library, keyPrefix: prefix(), password: { redis: "store-pw-0123" } });
      assert.equal(good.store.healthy(), true);
      assert.equal(await good.store.markSpent("k", Date.now() + 60_000, Date.now(), FRESH), true);
      for (const password of [undefined, { redis: "wrong" }]) {
        await using bad = await backend(redis.url, { library, keyPrefix: prefix(), password });
        const r = await timed(bad.store.markSpent("k2", Date.now() + 60_000, Date.now(), FRESH));
        assert.ok(r.error instanceof StoreUnavailableError, `refused without the right password: ${r.error ?? r.value}`);
        assert.ok(!String((r.error as Error).message).includes("store-pw-0123"), "the password is not in the message");
      }
    });
  });
}
