/** The shared admission tables (issue 15) on one thread: semantics against models, bounds, attach, Admission over them. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { halfSipHash64 } from "../../src/shared/store/halfsiphash.ts";
import { ADDR_CAP, CONN_CAP, NET_CAP, OPEN_OK, SharedConnectionCounts, TABLE_FULL } from "../../src/shared/store/shared-conns.ts";
import { SharedOutstanding } from "../../src/shared/store/shared-outstanding.ts";
import { SharedBuckets, SharedRateLimiter } from "../../src/shared/store/shared-limiter.ts";
import { SharedEscalation } from "../../src/shared/store/shared-escalation.ts";
import { SharedAdmissionState } from "../../src/shared/store/shared-admission.ts";
import { TokenBuckets, type BucketSpec, type Take } from "../../src/shared/defence/token-bucket.ts";
import { MemoryRateLimiter, type RateLimiter } from "../../src/shared/defence/rate-limiter.ts";
import { Escalation } from "../../src/shared/defence/escalation.ts";
import { Admission, type AdmissionSpec } from "../../src/shared/defence/admission.ts";
import { networkKey } from "../../src/shared/defence/client-key.ts";
import { createDefence, reconfigureDefence } from "../../src/shared/defence/from-config.ts";
import { SERVE_DEFAULTS } from "../../src/shared/config/schema.ts";

/** mulberry32: a seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BIG = { maxConnections: 1e9, maxConnectionsPerAddr: 1e9, maxConnectionsPerNet: 1e9 };

describe("halfSipHash64()", () => {
  test("depends on every character, the length and the key; spreads short keys evenly", () => {
    const out = new Int32Array(2), h = (s: string, k0 = 1, k1 = 2) => (halfSipHash64(s, k0, k1, out), `${out[0]},${out[1]}`);
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(h(`10.${i >> 8}.${i & 255}.7`));
    assert.equal(seen.size, 20_000, "no 64-bit collision among 20,000 addresses");
    assert.notEqual(h("a"), h("a\0"));
    assert.notEqual(h("ab"), h("ba"));
    assert.notEqual(h("203.0.113.7"), h("203.0.113.7", 1, 3), "another key, another hash");
    assert.notEqual(h("203.0.113.7"), h("203.0.113.7", 0, 2));
    // 64 buckets from the low bits: each within 30% of the mean over 64,000 keys
    const counts = new Array(64).fill(0);
    for (let i = 0; i < 64_000; i++) {
      halfSipHash64(`2001:db8::${i.toString(16)}`, 7, 9, out);
      counts[out[0]! & 63]++;
    }
    for (const c of counts) assert.ok(c > 700 && c < 1300, `bucket count ${c}`);
  });
});

describe("SharedConnectionCounts", () => {
  test("caps per address, per network and in all; frees on close; refusal order as Admission", () => {
    const t = SharedConnectionCounts.create({ maxConnections: 100 });
    const caps = { maxConnections: 7, maxConnectionsPerAddr: 3, maxConnectionsPerNet: 5 };
    const open = (a: string) => t.tryOpen(a, networkKey(a), caps);
    for (let i = 0; i < 3; i++) assert.equal(open("10.0.0.1"), OPEN_OK);
    assert.equal(open("10.0.0.1"), ADDR_CAP);
    assert.equal(open("10.0.0.2"), OPEN_OK);
    assert.equal(open("10.0.0.3"), OPEN_OK);
    assert.equal(open("10.0.0.4"), NET_CAP);
    assert.equal(open("10.0.1.1"), OPEN_OK);
    assert.equal(open("10.0.2.1"), OPEN_OK);
    assert.equal(open("10.0.3.1"), CONN_CAP);
    assert.equal(t.open, 7);
    assert.equal(t.perAddr("10.0.0.1"), 3);
    assert.equal(t.perNet("10.0.0.0/24"), 5);
    t.close("10.0.0.1", "10.0.0.0/24");
    assert.equal(open("10.0.0.1"), OPEN_OK, "its slot is free again");
    for (const a of ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.1", "10.0.2.1"]) t.close(a, networkKey(a));
    assert.equal(t.open, 0);
    assert.equal(t.size(), 0, "zero counts are no entries");
  });
  test("an address that is its own network key is counted once in each key space", () => {
    const t = SharedConnectionCounts.create({ maxConnections: 10 });
    const caps = { maxConnections: 10, maxConnectionsPerAddr: 2, maxConnectionsPerNet: 3 };
    assert.equal(t.tryOpen("unix", "unix", caps), OPEN_OK);
    assert.equal(t.tryOpen("unix", "unix", caps), OPEN_OK);
    assert.equal(t.tryOpen("unix", "unix", caps), ADDR_CAP);
    assert.equal(t.perAddr("unix"), 2);
    assert.equal(t.perNet("unix"), 2);
  });
  test("random opens and closes on a crowded single-stripe table match a Map model (backward-shift deletion)", () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const t = SharedConnectionCounts.create({ maxConnections: 60, stripes: 1 }); // 120 entries: long probe runs that wrap
      const addrs = Array.from({ length: 40 }, (_, i) => `192.0.${i % 7}.${i}`);
      const model = new Map<string, number>();
      const live: string[] = [];
      for (let step = 0; step < 20_000; step++) {
        if (live.length === 0 || (live.length < 60 && r() < 0.5)) {
          const a = addrs[Math.floor(r() * addrs.length)]!;
          assert.equal(t.tryOpen(a, networkKey(a), BIG), OPEN_OK);
          live.push(a);
          for (const k of [`a ${a}`, `n ${networkKey(a)}`]) model.set(k, (model.get(k) ?? 0) + 1);
        } else {
          const a = live.splice(Math.floor(r() * live.length), 1)[0]!;
          t.close(a, networkKey(a));
          for (const k of [`a ${a}`, `n ${networkKey(a)}`]) {
            const c = model.get(k)! - 1;
            if (c === 0) model.delete(k);
            else model.set(k, c);
          }
        }
        if (step % 97 === 0 || step > 19_900) {
          for (const a of addrs) {
            assert.equal(t.perAddr(a), model.get(`a ${a}`) ?? 0, `seed ${seed} step ${step}: ${a}`);
            assert.equal(t.perNet(networkKey(a)), model.get(`n ${networkKey(a)}`) ?? 0, `seed ${seed} step ${step}: net of ${a}`);
          }
          assert.equal(t.size(), model.size, `seed ${seed} step ${step}: entries`);
          assert.equal(t.open, live.length);
        }
      }
    }
  });
  test("stripes grow with their entries: few slots in use for few keys, every count kept across growth", () => {
    const t = SharedConnectionCounts.create({ maxConnections: 50_000 });
    const addrs = Array.from({ length: 3000 }, (_, i) => `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const first = t.slotsInUse();
    assert.ok(first * 16 <= t.totalSlots, `an empty table uses ${first} of ${t.totalSlots} slots`);
    for (const a of addrs) assert.equal(t.tryOpen(a, networkKey(a), BIG), OPEN_OK);
    for (const a of addrs.slice(0, 1000)) assert.equal(t.tryOpen(a, networkKey(a), BIG), OPEN_OK);
    // 3,000 addresses and their 12 networks: about 3,000 entries, stripes at most 3/4 full, so 4,000 to 12,000 slots.
    const used = t.slotsInUse();
    assert.ok(used >= (t.size() * 4) / 3 && used <= first + 4 * t.size(), `${used} slots in use for ${t.size()} entries (of ${t.totalSlots})`);
    for (const [i, a] of addrs.entries()) assert.equal(t.perAddr(a), i < 1000 ? 2 : 1, a);
    assert.equal(t.open, 4000);
    // The caps hold on grown stripes: an address at its cap is refused, whichever insert grew its stripe.
    const capped = { maxConnections: 1e9, maxConnectionsPerAddr: 2, maxConnectionsPerNet: 1e9 };
    for (const a of addrs.slice(0, 1000)) assert.equal(t.tryOpen(a, networkKey(a), capped), ADDR_CAP, `${a} at its cap`);
    assert.equal(t.open, 4000, "refusals count nothing");
    for (const a of addrs) t.close(a, networkKey(a));
    for (const a of addrs.slice(0, 1000)) t.close(a, networkKey(a));
    assert.equal(t.size(), 0);
    assert.equal(t.open, 0);
    assert.equal(t.perAddr(addrs[0]!), 0);
  });
  test("a stripe at its limit refuses a new key (TABLE_FULL) and never evicts a live count; the global count is rolled back", () => {
    const t = SharedConnectionCounts.create({ maxConnections: 4, stripes: 1 });
    let i = 0;
    for (; i < 10_000; i++) {
      const v = t.tryOpen(`198.51.${i}.1`, `198.51.${i}.0/24`, BIG);
      if (v !== OPEN_OK) {
        assert.equal(v, TABLE_FULL);
        break;
      }
    }
    assert.ok(i >= 4 && i <= t.capacity / 2, `${i} connections fit (capacity ${t.capacity} entries)`);
    assert.equal(t.open, i, "the refused one is not counted");
    for (let j = 0; j < i; j++) assert.equal(t.perAddr(`198.51.${j}.1`), 1, "nothing evicted");
    assert.equal(t.tryOpen("198.51.0.1", "198.51.0.0/24", BIG), OPEN_OK, "existing keys still count up");
  });
  test("tables with different hash keys never share a memoized hash (each thread memoizes the last two keys)", () => {
    const t1 = SharedConnectionCounts.create({ maxConnections: 10 }), t2 = SharedConnectionCounts.create({ maxConnections: 10 });
    const net = "203.0.113.0/24";
    assert.equal(t1.tryOpen("203.0.113.7", net, BIG), OPEN_OK);
    assert.equal(t2.tryOpen("203.0.113.7", net, BIG), OPEN_OK); // right after t1 hashed the same strings
    for (const k of ["a", "b", "c"]) t1.perAddr(k); // the memo moves on
    assert.equal(t2.perAddr("203.0.113.7"), 1, "found again under t2's own hash");
    assert.equal(t1.perAddr("203.0.113.7"), 1);
    t2.close("203.0.113.7", net);
    assert.equal(t2.size(), 0);
    assert.equal(t1.size(), 2);
  });
  test("attach() sees the same counts; a foreign buffer is refused", () => {
    const t = SharedConnectionCounts.create({ maxConnections: 10 });
    const u = SharedConnectionCounts.attach(t.buffer);
    assert.equal(t.tryOpen("203.0.113.7", "203.0.113.0/24", { ...BIG, maxConnectionsPerAddr: 1 }), OPEN_OK);
    assert.equal(u.tryOpen("203.0.113.7", "203.0.113.0/24", { ...BIG, maxConnectionsPerAddr: 1 }), ADDR_CAP);
    assert.notEqual(t.owner, u.owner);
    assert.throws(() => SharedConnectionCounts.attach(new SharedArrayBuffer(1024)), TypeError);
    assert.throws(() => SharedOutstanding.attach(t.buffer), TypeError, "a table of another kind");
  });
  test("a lock left held (a thread died inside) gives StoreUnavailableError within the spin bound, and releaseHeldBy frees it", () => {
    const t = SharedConnectionCounts.create({ maxConnections: 10, stripes: 16 });
    const w = new Int32Array(t.buffer);
    // layout (shared-table.ts): 32 header words, then per stripe 16 header words (lock first) and its slots
    const stripeWords = 16 + w[3]! * w[4]!;
    for (let s = 0; s < 16; s++) w[32 + s * stripeWords] = 99;
    const t0 = performance.now();
    assert.throws(() => t.tryOpen("203.0.113.7", "203.0.113.0/24", BIG), /stayed held/);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(t.releaseHeldBy(99), 16);
    assert.equal(t.tryOpen("203.0.113.7", "203.0.113.0/24", BIG), OPEN_OK);
  });
});

describe("SharedOutstanding", () => {
  const TTL = 7_000; // buckets of 1 s
  test("caps exactly; settle frees the oldest; undo the newest; expiry after ttl .. ttl + ttl/7", () => {
    const o = SharedOutstanding.create({ maxKeys: 1000 });
    assert.equal(o.tryAdd("x", 100, 3, TTL), 0);
    assert.equal(o.tryAdd("x", 1_100, 3, TTL), 0);
    assert.equal(o.tryAdd("x", 2_100, 3, TTL), 0);
    const wait = o.tryAdd("x", 2_200, 3, TTL);
    assert.equal(wait, 1_000 + TTL - 2_200, "until the oldest bucket (0..1 s) expires");
    assert.equal(o.count("x", 2_200, TTL), 3);
    o.settle("x", 1); // the one from t=100 goes
    assert.equal(o.tryAdd("x", 2_300, 3, TTL), 0);
    assert.ok(o.tryAdd("x", 2_300, 3, TTL) > 0);
    o.undo("x"); // the one from t=2,300 goes
    assert.equal(o.count("x", 2_400, TTL), 2);
    // the one from t=1,100 counts until 2 s + ttl, the one from t=2,100 until 3 s + ttl
    assert.equal(o.count("x", 1_100 + TTL - 1, TTL), 2, "never earlier than its ttl");
    assert.equal(o.count("x", 2_000 + TTL, TTL), 1);
    assert.equal(o.count("x", 3_000 + TTL, TTL), 0);
    assert.equal(o.size(), 0, "an address with none left is no entry");
  });
  test("settle of more than recorded, and of unknown addresses, is harmless", () => {
    const o = SharedOutstanding.create({ maxKeys: 1000 });
    o.settle("nobody", 2);
    assert.equal(o.tryAdd("y", 0, 5, TTL), 0);
    o.settle("y", 2);
    assert.equal(o.count("y", 0, TTL), 0);
    assert.equal(o.size(), 0);
  });
  test("a changed ttl keeps the live count (as if issued now)", () => {
    const o = SharedOutstanding.create({ maxKeys: 1000 });
    for (let i = 0; i < 4; i++) assert.equal(o.tryAdd("x", 100, 4, TTL), 0);
    assert.ok(o.tryAdd("x", 200, 4, 60_000) > 0, "still at the cap under the new ttl");
    assert.equal(o.count("x", 50_000, 60_000), 4);
  });
  test("random adds, settles and time steps match a model of bucketed expiry", () => {
    const r = rng(7);
    const o = SharedOutstanding.create({ maxKeys: 1000, stripes: 1 });
    const width = TTL / 7;
    const model = new Map<string, number[]>(); // bucket numbers of live records, oldest first
    const addrs = Array.from({ length: 30 }, (_, i) => `2001:db8::${i}`);
    let now = 1_800_000_000_000;
    const live = (a: string) => {
      const l = (model.get(a) ?? []).filter((k) => (k + 1) * width + TTL > now);
      model.set(a, l);
      return l;
    };
    for (let step = 0; step < 20_000; step++) {
      now += Math.floor(r() * 200);
      const a = addrs[Math.floor(r() * addrs.length)]!;
      const x = r();
      if (x < 0.6) {
        const l = live(a);
        const got = o.tryAdd(a, now, 6, TTL);
        if (l.length >= 6) assert.equal(got, Math.max(1, Math.ceil((l[0]! + 1) * width + TTL - now)), `step ${step}`);
        else {
          assert.equal(got, 0, `step ${step}`);
          l.push(Math.floor(now / width));
        }
      } else if (x < 0.8) {
        const n = 1 + Math.floor(r() * 2);
        o.settle(a, n);
        // settle takes the oldest records, expired or not (as Admission's shift), from what the slot still holds
        model.get(a)?.splice(0, n);
      } else {
        assert.equal(o.count(a, now, TTL), live(a).length, `step ${step}`);
      }
    }
  });
  test("bounded: beyond its capacity the idlest address is forgotten, a busy one stays", () => {
    const o = SharedOutstanding.create({ maxKeys: 200, stripes: 16 });
    let now = 1_800_000_000_000;
    for (let i = 0; i < 5_000; i++) {
      now += 1;
      assert.equal(o.tryAdd(`10.1.${i >> 8}.${i & 255}`, now, 10, TTL), 0);
      if (i % 2 === 0) o.tryAdd("busy", now, 1e6, TTL);
    }
    assert.ok(o.size() <= o.capacity, `${o.size()} <= ${o.capacity}`);
    assert.equal(o.count("busy", now, TTL), 2_500);
  });
});

describe("SharedBuckets / SharedRateLimiter", () => {
  test("the same answers as TokenBuckets over a random run", () => {
    const r = rng(11);
    const spec = { ratePerSec: 3, burst: 5 };
    const local = new TokenBuckets(spec);
    const shared = SharedBuckets.create({ maxKeys: 1000 });
    let now = 1_800_000_000_000;
    for (let step = 0; step < 20_000; step++) {
      now += Math.floor(r() * 300);
      const key = `10.0.0.${Math.floor(r() * 20)}`;
      const n = r() < 0.9 ? 1 : 2;
      assert.deepEqual(shared.take(key, spec, now, n), local.take(key, now, n), `step ${step}`);
    }
  });
  test("a changed spec restarts the table once (the first thread to move), not for threads that follow or lag", () => {
    const a = SharedRateLimiter.create({ maxKeys: 100 });
    const b = SharedRateLimiter.attach(a.buffers());
    const c = SharedRateLimiter.attach(a.buffers());
    const s1 = { ratePerSec: 0.001, burst: 2 }, s2 = { ratePerSec: 0.001, burst: 3 };
    assert.equal(a.take("challenge", "x", s1, 0).ok, true);
    assert.equal(b.take("challenge", "x", s1, 0).ok, true);
    assert.equal(c.take("challenge", "x", s1, 0).ok, false, "one burst for all three views");
    assert.equal(a.take("challenge", "x", s2, 0).ok, true, "a moved to s2: the table restarts");
    assert.equal(b.take("challenge", "x", s2, 0).ok, true);
    assert.equal(b.take("challenge", "x", s2, 0).ok, true);
    assert.equal(b.take("challenge", "x", s2, 0).ok, false, "b's move to s2 did not restart it again");
    assert.equal(c.take("challenge", "x", s1, 0).ok, false, "c (not reloaded yet) does not restart it either");
    assert.deepEqual(a.table("challenge").tableSpec, s2);
    assert.equal(a.take("solution", "x", s1, 0).ok, true, "tables are independent");
    assert.throws(() => a.take("nope", "x", s1, 0), TypeError);
    assert.throws(() => a.take("challenge", "x", { ratePerSec: 0, burst: 1 }, 0), RangeError);
  });
  test("bounded: at its limit a refilled bucket or the idlest goes; a drained busy key keeps its state", () => {
    const t = SharedBuckets.create({ maxKeys: 300, stripes: 16 });
    const spec = { ratePerSec: 0.001, burst: 3 };
    let now = 1_800_000_000_000;
    for (let i = 0; i < 3; i++) t.take("busy", spec, now);
    for (let i = 0; i < 10_000; i++) {
      now += 1;
      t.take(`10.2.${i >> 8}.${i & 255}`, spec, now);
      if (i % 4 === 0) assert.equal(t.take("busy", spec, now).ok, false, `busy refused at ${i}`);
    }
    assert.ok(t.size() <= t.capacity, `${t.size()} <= ${t.capacity}`);
    assert.ok(t.capacity <= 300 * 1.125 + 16 * 5, `capacity ${t.capacity} near maxKeys`);
  });
});

describe("SharedEscalation", () => {
  test("the same extra bits as Escalation over a random run, hits and refunds", () => {
    const r = rng(5);
    const spec = { halfLifeMs: 2_000, freeRequests: 4, maxExtraBits: 3 };
    const local = new Escalation(spec);
    const shared = SharedEscalation.create(spec);
    let now = 1_800_000_000_000;
    for (let step = 0; step < 10_000; step++) {
      now += Math.floor(r() * 100);
      const key = `10.0.${Math.floor(r() * 5)}.0/24`;
      if (r() < 0.8) assert.equal(shared.hit(key, now), local.hit(key, now), `step ${step}`);
      else {
        shared.refund(key, now);
        local.refund(key, now);
      }
    }
  });
});

describe("Admission over SharedAdmissionState", () => {
  const spec = (over: Partial<AdmissionSpec> = {}): AdmissionSpec => ({
    maxConnections: 100, maxConnectionsPerAddr: 3, maxConnectionsPerNet: 5,
    challengesPerAddr: { ratePerSec: 1, burst: 100 }, challengesPerNet: { ratePerSec: 1, burst: 1000 },
    solutionsPerAddr: { ratePerSec: 1, burst: 2 }, maxOutstandingPerAddr: 1000, ttlMs: 60_000, ...over,
  });
  const pair = (over: Partial<AdmissionSpec> = {}) => {
    const st = SharedAdmissionState.create({ maxConnections: 100, maxKeys: 1000 });
    const other = SharedAdmissionState.attach(st.buffers());
    return [new Admission(spec(over), st.limiter, st), new Admission(spec(over), other.limiter, other)] as const;
  };
  test("two Admissions (two threads' views) share connection caps: the same refusals as one Admission", () => {
    const [a, b] = pair({ maxConnections: 7 });
    const one = new Admission(spec({ maxConnections: 7 }));
    const seq = ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.1.1", "10.0.2.1", "10.0.3.1"];
    seq.forEach((addr, i) => assert.deepEqual((i % 2 ? a : b).onOpen(addr), one.onOpen(addr), `${i}: ${addr}`));
    assert.equal(a.open + b.open, 7, "each view counts its own");
    a.onClose("10.0.0.1");
    one.onClose("10.0.0.1");
    assert.deepEqual(b.onOpen("10.0.0.1"), one.onOpen("10.0.0.1"));
    assert.equal(a.refused.addr_conn_cap + b.refused.addr_conn_cap, 1);
  });
  test("challenge and solution buckets and the outstanding cap are shared; a refused challenge gives its outstanding slot back", () => {
    const [a, b] = pair({ challengesPerAddr: { ratePerSec: 10, burst: 2 }, challengesPerNet: { ratePerSec: 10, burst: 3 }, maxOutstandingPerAddr: 3, ttlMs: 7_000 });
    assert.equal(a.allowChallenge("10.0.0.1", 0), null);
    assert.equal(b.allowChallenge("10.0.0.1", 0), null);
    const r = b.allowChallenge("10.0.0.1", 0) as { reason: string; retryAfterMs: number };
    assert.equal(r.reason, "challenge_rate");
    assert.equal(r.retryAfterMs, 100);
    assert.equal(a.outstanding("10.0.0.1", 0), 2, "the refused one is not outstanding");
    assert.equal(a.allowChallenge("10.0.0.2", 0), null);
    assert.equal((b.allowChallenge("10.0.0.3", 0) as { reason: string }).reason, "net_challenge_rate");
    assert.equal(b.outstanding("10.0.0.3", 0), 0);
    assert.equal(a.allowChallenge("10.0.0.1", 1000), null, "refilled: third outstanding");
    assert.equal((b.allowChallenge("10.0.0.1", 1000) as { reason: string }).reason, "outstanding_cap");
    b.settle("10.0.0.1");
    assert.equal(a.allowChallenge("10.0.0.1", 1000), null);
    assert.equal(a.allowSolution("x", 0), null);
    assert.equal(b.allowSolution("x", 0), null);
    assert.equal((a.allowSolution("x", 0) as { reason: string }).reason, "solution_rate");
  });
  test("with an asynchronous limiter (Redis): a refused or failed challenge gives its outstanding slot back", async () => {
    const st = SharedAdmissionState.create({ maxConnections: 10, maxKeys: 100 });
    const mem = new MemoryRateLimiter();
    let fail = false;
    const slow: RateLimiter = { name: "slow", take: (t: string, k: string, s: BucketSpec, now: number): Promise<Take> => fail ? Promise.reject(new Error("down")) : Promise.resolve(mem.take(t, k, s, now)) };
    const a = new Admission(spec({ challengesPerAddr: { ratePerSec: 0.001, burst: 1 }, maxOutstandingPerAddr: 5 }), slow, st);
    assert.equal(await a.allowChallenge("10.0.0.1", 0), null);
    assert.equal((await a.allowChallenge("10.0.0.1", 0))?.reason, "challenge_rate");
    assert.equal(a.outstanding("10.0.0.1", 0), 1);
    fail = true;
    await assert.rejects(async () => await a.allowChallenge("10.0.0.2", 0), /down/);
    assert.equal(a.outstanding("10.0.0.2", 0), 0);
  });
  test("buffers() survive structured cloning (what postMessage does) and stay shared", () => {
    const st = SharedAdmissionState.create({ maxConnections: 10, escalation: { addr: { halfLifeMs: 1e9, freeRequests: 1, maxExtraBits: 4 }, net: { halfLifeMs: 1e9, freeRequests: 2, maxExtraBits: 4 } } });
    const cloned = structuredClone(st.buffers());
    assert.throws(() => SharedAdmissionState.attach(cloned), TypeError, "escalation specs are required");
    const other = SharedAdmissionState.attach(cloned, { addr: st.escalation!.spec, net: st.netEscalation!.spec });
    st.escalation!.hit("x", 0);
    assert.equal(other.escalation!.hit("x", 0), 1, "two requests: above 1 free");
    assert.equal(other.owners.length, 7);
    assert.notDeepEqual(other.owners, st.owners);
    assert.equal(st.releaseHeldBy(other.owners), 0);
  });
});

describe("createDefence() with SharedAdmissionState", () => {
  test("two threads' defences built from one configuration share caps and escalation, and keep sharing after a reload", () => {
    const c = { ...SERVE_DEFAULTS, max_connections_per_addr: 2, escalation_max_bits: 4, escalation_free_requests: 2 };
    const st = SharedAdmissionState.forConfig(c, 1000);
    const other = SharedAdmissionState.attachForConfig(structuredClone(st.buffers()), c);
    const d1 = createDefence(c, undefined, st), d2 = createDefence(c, undefined, other);
    assert.equal(d1.admission!.onOpen("203.0.113.7"), null);
    assert.equal(d2.admission!.onOpen("203.0.113.7"), null);
    assert.equal(d1.admission!.onOpen("203.0.113.7")?.reason, "addr_conn_cap");
    assert.equal(d1.admission!.limiter, st.limiter, "token buckets are the shared ones");
    const base = d1.controller!.bits;
    assert.equal(d1.policy.bitsFor("203.0.113.7", 0), base);
    assert.equal(d2.policy.bitsFor("203.0.113.7", 0), base);
    assert.equal(d1.policy.bitsFor("203.0.113.7", 0), base + 1, "the third request of the address, whichever thread saw the others");
    // a reload that changes the mode rebuilds the defence: on the same shared state
    const next = { ...c, adaptive: c.adaptive === "on" ? "off" as const : "on" as const, max_connections_per_addr: 3 };
    const r1 = reconfigureDefence(d1, c, next, undefined, st);
    assert.notEqual(r1.admission, d1.admission);
    assert.equal(r1.admission!.onOpen("203.0.113.7"), null, "the new cap (3), counted with the two still open");
    assert.equal(d2.admission!.onOpen("203.0.113.7")?.reason, "addr_conn_cap", "the old admission sees the same count");
    assert.equal(r1.escalation, st.escalation);
    // without shared state: each thread its own, as before
    const own = createDefence(c);
    assert.ok(own.escalation instanceof Escalation);
  });
});
