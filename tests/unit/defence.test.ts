import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Admission, type AdmissionSpec } from "../../src/shared/defence/admission.ts";
import { networkKey } from "../../src/shared/defence/client-key.ts";
import { DifficultyController, type PressureSample, pricePressureOf, solvingShare } from "../../src/shared/defence/controller.ts";
import { AdaptivePolicy } from "../../src/shared/defence/policy.ts";
import { AdaptiveWindows } from "../../src/shared/defence/windows.ts";
import { Escalation } from "../../src/shared/defence/escalation.ts";
import { TokenBuckets } from "../../src/shared/defence/token-bucket.ts";

describe("TokenBuckets", () => {
  test("a new key has the full burst, then refills at the rate", () => {
    const b = new TokenBuckets({ ratePerSec: 2, burst: 3 });
    for (let i = 0; i < 3; i++) assert.equal(b.take("k", 0).ok, true);
    const r = b.take("k", 0);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.retryAfterMs, 500);
    assert.equal(b.take("k", 499).ok, false);
    assert.equal(b.take("k", 1000).ok, true, "one token after 500 ms (the failed takes took nothing)");
    assert.equal(b.level("k", 100_000), 3, "never above the burst");
    // a long idle spell saves up at most the burst: 3 takes, then the 4th is refused
    for (let i = 0; i < 3; i++) assert.equal(b.take("k", 100_000).ok, true);
    assert.equal(b.take("k", 100_000).ok, false, "an idle key does not save up more than its burst");
  });
  test("keys are independent", () => {
    const b = new TokenBuckets({ ratePerSec: 1, burst: 1 });
    assert.equal(b.take("a", 0).ok, true);
    assert.equal(b.take("b", 0).ok, true);
    assert.equal(b.take("a", 0).ok, false);
  });
  test("when full, the least recently used key goes (recency kept to within a second)", () => {
    // Slow refill: no bucket is full (idle) again, so eviction must pick by recency.
    const b = new TokenBuckets({ ratePerSec: 0.001, burst: 5 }, 3);
    for (const k of ["a", "b", "c"]) b.take(k, 0);
    b.take("a", 1500); // a second or more since "a" last moved: it moves to the recent end
    b.take("d", 1600); // full: the oldest ("b") goes
    assert.ok(b.level("a", 1600) < 4, "a kept its state");
    assert.equal(b.level("b", 1600), 5, "b was evicted (unknown keys are full)");
    b.take("a", 1700); // under a second since it moved: stays where it is (no re-insert per take)
    b.take("e", 1800); // full again: "c" is now the oldest
    assert.equal(b.level("c", 1800), 5, "c was evicted");
    assert.ok(b.level("a", 1800) < 3 && b.level("d", 1800) < 5 && b.level("e", 1800) < 5);
    b.take("f", 1900); // "a" (moved at 1500) is older than "d" and "e"
    assert.equal(b.level("a", 1900), 5, "a was evicted after d and e were used more recently");
  });
  test("a wall clock stepped back does not leave a busy key at the old end of the table", () => {
    const b = new TokenBuckets({ ratePerSec: 0.001, burst: 5 }, 3);
    for (const k of ["a", "b", "c"]) b.take(k, 3_600_000);
    for (let t = 0; t <= 10_000; t += 100) b.take("a", t); // the clock went back an hour; "a" stays busy
    b.take("d", 10_050); // full: "b" goes, not the busy key
    assert.equal(b.level("b", 10_050), 5, "b was evicted");
    assert.ok(b.level("a", 10_050) < 1, "a kept its (empty) bucket");
  });
  test("memory stays bounded under many keys", () => {
    const b = new TokenBuckets({ ratePerSec: 1, burst: 5 }, 1000);
    for (let i = 0; i < 50_000; i++) b.take(`k${i}`, i);
    assert.ok(b.size <= 1000, `size ${b.size}`);
  });
});

describe("networkKey()", () => {
  test("IPv4 /24 and IPv6 /64", () => {
    assert.equal(networkKey("192.0.2.77"), "192.0.2.0/24");
    assert.equal(networkKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert.equal(networkKey("::1"), "::/64");
  });
});

/** The memory limiter answers synchronously. */
function sync<T>(x: T | Promise<T>): T {
  assert.ok(!(x instanceof Promise), "expected a synchronous answer");
  return x as T;
}

const spec = (over: Partial<AdmissionSpec> = {}): AdmissionSpec => ({
  maxConnections: 100, maxConnectionsPerAddr: 3, maxConnectionsPerNet: 5,
  challengesPerAddr: { ratePerSec: 1, burst: 100 }, challengesPerNet: { ratePerSec: 1, burst: 1000 },
  solutionsPerAddr: { ratePerSec: 1, burst: 2 }, maxOutstandingPerAddr: 1000, ttlMs: 60_000, ...over,
});

describe("Admission", () => {
  test("caps connections per address, per network and in all, and frees slots on close", () => {
    const a = new Admission(spec({ maxConnections: 7 }));
    for (let i = 0; i < 3; i++) assert.equal(a.onOpen("10.0.0.1"), null);
    assert.equal(a.onOpen("10.0.0.1")?.reason, "addr_conn_cap");
    assert.equal(a.onOpen("10.0.0.2"), null);
    assert.equal(a.onOpen("10.0.0.3"), null);
    assert.equal(a.onOpen("10.0.0.4")?.reason, "net_conn_cap");
    assert.equal(a.onOpen("10.0.1.1"), null);
    assert.equal(a.onOpen("10.0.2.1"), null);
    const r = a.onOpen("10.0.3.1");
    assert.equal(r?.reason, "conn_cap");
    assert.equal(r?.code, "BUSY");
    a.onClose("10.0.0.1");
    assert.equal(a.open, 6);
    assert.equal(a.onOpen("10.0.0.1"), null, "its slot is free again");
    a.onClose("10.0.2.1");
    assert.equal(a.onOpen("10.0.0.5")?.reason, "net_conn_cap", "the /24 is full again");
    assert.equal(a.onOpen("10.0.4.1"), null);
    assert.equal(a.refused.conn_cap, 1);
  });
  test("rate-limits challenges per address and per network with a retry time", () => {
    const a = new Admission(spec({ challengesPerAddr: { ratePerSec: 10, burst: 2 }, challengesPerNet: { ratePerSec: 10, burst: 3 } }));
    assert.equal(sync(a.allowChallenge("10.0.0.1", 0)), null);
    assert.equal(sync(a.allowChallenge("10.0.0.1", 0)), null);
    const r = sync(a.allowChallenge("10.0.0.1", 0));
    assert.equal(r?.reason, "challenge_rate");
    assert.equal(r?.code, "RATE_LIMITED");
    assert.equal(r?.retryAfterMs, 100);
    assert.equal(sync(a.allowChallenge("10.0.0.2", 0)), null);
    assert.equal(sync(a.allowChallenge("10.0.0.3", 0))?.reason, "net_challenge_rate");
  });
  test("caps outstanding challenges; redemption and expiry free them", () => {
    const a = new Admission(spec({ maxOutstandingPerAddr: 2, ttlMs: 1000 }));
    assert.equal(sync(a.allowChallenge("x", 0)), null);
    assert.equal(sync(a.allowChallenge("x", 10)), null);
    const r = sync(a.allowChallenge("x", 20));
    assert.equal(r?.reason, "outstanding_cap");
    assert.equal(r?.retryAfterMs, 980);
    a.settle("x");
    assert.equal(sync(a.allowChallenge("x", 30)), null);
    assert.equal(a.outstanding("x", 30), 2);
    assert.equal(a.outstanding("x", 1010), 1, "the one from t=10 expired");
  });
  test("rate-limits solutions per address", () => {
    const a = new Admission(spec());
    assert.equal(sync(a.allowSolution("x", 0)), null);
    assert.equal(sync(a.allowSolution("x", 0)), null);
    assert.equal(sync(a.allowSolution("x", 0))?.reason, "solution_rate");
    assert.equal(sync(a.allowSolution("x", 1000)), null);
  });
});

const quiet: PressureSample = { openConnections: 0, acceptsPerSec: 0, challengesPerSec: 0, failedProofsPerSec: 0, validProofsPerSec: 0, loopDelayMs: 0, sourceSaturation: 0 };
const thresholds = { validProofsPerSec: 100, loopDelayMs: 100 };
/** Everything a flood that never solves can do: far over every connection threshold, loop swamped, no valid proof. */
const flood: PressureSample = { openConnections: 50_000, acceptsPerSec: 20_000, challengesPerSec: 20_000, failedProofsPerSec: 5_000, validProofsPerSec: 0, loopDelayMs: 2_000, sourceSaturation: 0 };

describe("DifficultyController", () => {
  test("dormant at the floor on a quiet day", () => {
    const c = new DifficultyController({ floor: 12, ceiling: 24, thresholds });
    for (let i = 0; i < 100; i++) assert.equal(c.update(quiet).bits, 12);
  });
  test("a flood that never solves (connections, accepts, failed proofs, loop delay) leaves the level alone", () => {
    const c = new DifficultyController({ floor: 12, ceiling: 24, thresholds });
    for (let i = 0; i < 50; i++) assert.equal(c.update(flood).bits, 12);
    // A few honest proofs inside the flood: the loop delay counts only by their share of the accepts.
    for (let i = 0; i < 50; i++) assert.equal(c.update({ ...flood, validProofsPerSec: 20 }).bits, 12);
    assert.ok(pricePressureOf({ ...flood, validProofsPerSec: 20 }, thresholds).pressure < 0.5);
  });
  test("valid proofs over capacity raise it quickly, in proportion, up to the ceiling, never from one spike", () => {
    const c = new DifficultyController({ floor: 12, ceiling: 20, thresholds });
    const hot = { ...quiet, validProofsPerSec: 150 }; // 1.5x capacity: one bit is enough
    assert.equal(c.update(hot).bits, 12, "one high tick is not sustained");
    assert.equal(c.update(quiet).bits, 12);
    assert.equal(c.update(hot).bits, 12);
    const s = c.update(hot);
    assert.deepEqual([s.bits, s.changed, s.driver], [13, true, "validProofsPerSec"]);
    const storm = { ...quiet, validProofsPerSec: 1000 }; // 10x: ceil(log2 10) = 4 bits at once
    c.update(storm);
    assert.equal(c.update(storm).bits, 17);
    for (let i = 0; i < 20; i++) c.update(storm);
    assert.equal(c.bits, 20, "clamped at the ceiling");
  });
  test("a raise is at most raiseStep bits", () => {
    const c = new DifficultyController({ floor: 0, ceiling: 32, thresholds, raiseStep: 2 });
    const s = { ...quiet, validProofsPerSec: 1e6 };
    c.update(s);
    assert.equal(c.update(s).bits, 2);
  });
  test("decays slowly (one bit per lowerAfter quiet ticks), with a dead band in between", () => {
    const c = new DifficultyController({ floor: 10, ceiling: 20, thresholds, lowerAfter: 5 });
    const hot = { ...quiet, validProofsPerSec: 500 };
    for (let i = 0; i < 10; i++) c.update(hot);
    assert.equal(c.bits, 20);
    const middling = { ...quiet, validProofsPerSec: 70 }; // pressure 0.7: inside the band
    for (let i = 0; i < 50; i++) c.update(middling);
    assert.equal(c.bits, 20, "hysteresis: no change between 0.5 and 1.0");
    for (let i = 0; i < 5; i++) c.update(quiet);
    assert.equal(c.bits, 19);
    for (let i = 0; i < 100; i++) c.update(quiet);
    assert.equal(c.bits, 10, "back to the floor");
  });
  test("each price signal can drive it: valid proofs, a loop swamped by solvers, a saturated quote source", () => {
    const cases: [PressureSample, string][] = [
      [{ ...quiet, validProofsPerSec: 200 }, "validProofsPerSec"],
      [{ ...quiet, validProofsPerSec: 50, acceptsPerSec: 60, challengesPerSec: 60, loopDelayMs: 400 }, "loopDelayMs"], // solving share 1
      [{ ...quiet, sourceSaturation: 1.5 }, "sourceSaturation"],
    ];
    for (const [s, driver] of cases) {
      const c = new DifficultyController({ floor: 1, ceiling: 9, thresholds });
      c.update(s);
      assert.equal(c.update(s).driver, driver);
      assert.ok(c.bits > 1, driver);
    }
  });
  test("solvingShare(): valid proofs per challenge, two per proof in reconnect mode; refused connections do not dilute it", () => {
    assert.equal(solvingShare(quiet), 0);
    assert.equal(solvingShare({ ...quiet, validProofsPerSec: 10, challengesPerSec: 20 }), 1);
    assert.equal(solvingShare({ ...quiet, validProofsPerSec: 10, challengesPerSec: 2000 }), 0.01);
    assert.equal(solvingShare({ ...quiet, validProofsPerSec: 10, challengesPerSec: 0 }), 1);
    // A solving flood hidden behind 100,000 refused connects per second still reads as solvers.
    assert.equal(solvingShare({ ...quiet, validProofsPerSec: 500, challengesPerSec: 1000, acceptsPerSec: 101_000 }), 1);
    const c = new DifficultyController({ floor: 10, ceiling: 20, thresholds: { validProofsPerSec: 10_000, loopDelayMs: 100 } });
    const swamped = { ...quiet, validProofsPerSec: 500, challengesPerSec: 1000, acceptsPerSec: 101_000, loopDelayMs: 400 };
    c.update(swamped);
    assert.equal(c.update(swamped).bits, 12, "the loop swamped by solvers raises the price despite the refused flood");
  });
  test("refuses bounds outside 0..32", () => {
    assert.throws(() => new DifficultyController({ floor: 5, ceiling: 40, thresholds }), RangeError);
    assert.throws(() => new DifficultyController({ floor: 9, ceiling: 8, thresholds }), RangeError);
  });
});

describe("AdaptiveWindows", () => {
  const spec = { minMs: 1000, thresholds: { openConnections: 1000, acceptsPerSec: 500, failedProofsPerSec: 100 } };
  test("whole when connections are few, at window_min_ms under a flood, and the Challenge's window follows", () => {
    const w = new AdaptiveWindows(spec);
    w.update({ ...quiet, openConnections: 100, acceptsPerSec: 50 });
    assert.equal(w.apply(5000), 5000);
    w.update({ ...quiet, openConnections: 5000 });
    assert.equal(w.apply(5000), 1000);
    assert.equal(w.apply(2000), 1000);
    assert.equal(w.apply(600), 600, "never longer than configured");
  });
  test("every connection signal tightens it; price signals do not", () => {
    for (const k of ["openConnections", "acceptsPerSec", "failedProofsPerSec"] as const) {
      const w = new AdaptiveWindows(spec);
      w.update({ ...quiet, [k]: spec.thresholds[k] });
      assert.equal(w.apply(5000), 1000, k);
    }
    const w = new AdaptiveWindows(spec);
    w.update({ ...quiet, validProofsPerSec: 1e6, loopDelayMs: 1e4, sourceSaturation: 5 });
    assert.equal(w.apply(5000), 5000);
  });
  test("tightens at once, loosens gradually", () => {
    const w = new AdaptiveWindows(spec);
    w.update({ ...quiet, acceptsPerSec: 10_000 });
    assert.equal(w.tightness, 1);
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(w.update(quiet));
    assert.deepEqual(seen, [0.75, 0.5, 0.25, 0, 0]);
    assert.equal(w.apply(5000), 5000);
  });
});

describe("Escalation", () => {
  test("a client that asks rarely pays nothing extra; one that asks often pays more, up to the cap", () => {
    const e = new Escalation({ halfLifeMs: 10_000, freeRequests: 4, maxExtraBits: 3 });
    for (let i = 0; i < 10; i++) assert.equal(e.hit("rare", i * 60_000), 0);
    const extras = [];
    for (let i = 0; i < 64; i++) extras.push(e.hit("busy", i));
    assert.deepEqual(extras.slice(0, 4), [0, 0, 0, 0]);
    assert.equal(extras[4], 1, "5th request: above 4 free");
    assert.equal(extras[8], 2, "9th: above 8");
    assert.equal(extras[63], 3, "capped");
  });
  test("refund() takes one request back, never below zero, and ignores unknown keys", () => {
    const e = new Escalation({ halfLifeMs: 1e12, freeRequests: 4, maxExtraBits: 8 });
    for (let i = 0; i < 9; i++) e.hit("x", 0);
    e.refund("x", 0);
    assert.equal(e.hit("x", 0), 2, "9 - 1 + 1 = 9 requests: above 8");
    for (let i = 0; i < 20; i++) e.refund("x", 0);
    assert.equal(e.hit("x", 0), 0, "floored at zero");
    e.refund("nobody", 0);
    assert.equal(e.size, 1);
  });
  test("the count decays with its half-life", () => {
    const e = new Escalation({ halfLifeMs: 1000, freeRequests: 4, maxExtraBits: 8 });
    for (let i = 0; i < 16; i++) e.hit("x", 0);
    assert.equal(e.hit("x", 0), 3);
    assert.equal(e.hit("x", 10_000), 0, "after ten half-lives the client is quiet again");
  });
});

describe("AdaptivePolicy", () => {
  const controller = () => new DifficultyController({ floor: 10, ceiling: 20, thresholds });
  const esc = () => new Escalation({ halfLifeMs: 30_000, freeRequests: 100, maxExtraBits: 2 });
  const netEsc = () => new Escalation({ halfLifeMs: 30_000, freeRequests: 800, maxExtraBits: 2 });
  test("one address shared by honest clients (NAT) at 3 fetches/s for 5 minutes pays at most +1 bit", () => {
    const p = new AdaptivePolicy(controller(), esc(), netEsc());
    let most = 0;
    for (let t = 0; t < 300_000; t += 333) most = Math.max(most, p.bitsFor("198.51.100.7", t));
    assert.equal(most, 11);
  });
  test("the same NAT address in reconnect mode (two challenges per quote, one refunded on redemption) still pays at most +1 bit", () => {
    const p = new AdaptivePolicy(controller(), esc(), netEsc());
    let most = 0;
    for (let t = 0; t < 300_000; t += 333) {
      most = Math.max(most, p.bitsFor("198.51.100.7", t)); // the connection that reads the challenge
      p.bitsFor("198.51.100.7", t + 100); // the connection that answers gets a challenge on open too
      p.refund("198.51.100.7", t + 101); // ... refunded once it redeemed the earlier one
    }
    assert.equal(most, 11);
    const noRefund = new AdaptivePolicy(controller(), esc(), netEsc());
    let worst = 0;
    for (let t = 0; t < 300_000; t += 333) worst = Math.max(worst, noRefund.bitsFor("198.51.100.7", t), noRefund.bitsFor("198.51.100.7", t + 100));
    assert.equal(worst, 12, "without the refund the second challenge counted as a request (+2)");
  });
  test("an attacker spread over 64 addresses of one /24 pays as one: the network's count escalates", () => {
    const p = new AdaptivePolicy(controller(), esc(), netEsc());
    let last = 0;
    for (let t = 0, i = 0; t < 60_000; t += 20, i++) last = p.bitsFor(`203.0.113.${i % 64}`, t); // 50/s in all, < 1/s per address
    assert.equal(last, 12, "the /24 reaches the cap");
    assert.equal(p.bitsFor("198.51.100.7", 60_000), 10, "another network is not affected");
  });
  test("without the network table, spreading dodged escalation (the defect this fixes)", () => {
    const p = new AdaptivePolicy(controller(), esc(), null);
    let last = 0;
    for (let t = 0, i = 0; t < 60_000; t += 20, i++) last = p.bitsFor(`203.0.113.${i % 64}`, t);
    assert.equal(last, 10);
  });
});
