import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { OFFENCES, Offenders } from "../../src/shared/defence/offenders.ts";

const spec = { refusals: 5, windowMs: 1000, banMs: 10_000 };

describe("Offenders", () => {
  test("refused() reports the /24 once, on the refusal that reaches the limit", () => {
    const o = new Offenders(spec);
    const got = [1, 2, 3, 4, 5, 6, 7].map((i) => o.refused(`198.51.100.${i}`, i * 10));
    assert.deepEqual(got, [null, null, null, null, "198.51.100.0/24", null, null]);
  });
  test("refused() keys IPv6 by /64", () => {
    const o = new Offenders({ ...spec, refusals: 2 });
    assert.equal(o.refused("2001:db8:1:2::1", 0), null);
    assert.equal(o.refused("2001:db8:1:2:ffff::9", 1), "2001:db8:1:2::/64");
    assert.equal(o.refused("2001:db8:1:3::1", 2), null, "the next /64 is another prefix");
  });
  test("refusals spread wider than the window do not ban; the sliding estimate forgets the old ones", () => {
    const o = new Offenders(spec);
    for (let t = 0; t < 10_000; t += 300) assert.equal(o.refused("203.0.113.1", t), null, `t=${t}`); // ~3.3 per window
    assert.ok(o.count("203.0.113.1", 9_900) < 5);
    assert.equal(o.count("203.0.113.1", 12_000), 0, "two windows of silence: nothing left");
  });
  test("the estimate weighs the previous window by its overlap", () => {
    const o = new Offenders({ ...spec, refusals: 100 });
    for (let i = 0; i < 10; i++) o.refused("192.0.2.1", 0); // windows start at a prefix's first refusal: [0, 1000)
    assert.equal(o.count("192.0.2.1", 1000), 10);
    assert.equal(o.count("192.0.2.1", 1500), 5, "half of the previous window still overlaps");
    assert.ok(Math.abs(o.count("192.0.2.1", 1999) - 0.01) < 1e-9, "a thousandth of it at the end");
  });
  test("no second report while banned; again after the ban ends only if it offends anew", () => {
    const o = new Offenders(spec);
    let t = 0;
    const burst = () => {
      const out: (string | null)[] = [];
      for (let i = 0; i < 5; i++) out.push(o.refused("10.9.8.7", t++));
      return out.filter((x) => x !== null);
    };
    assert.deepEqual(burst(), ["10.9.8.0/24"]);
    t = 5_000;
    assert.deepEqual([...burst(), ...burst(), ...burst()], [], "still banned until 10 004");
    t = 10_005;
    assert.equal(o.refused("10.9.8.7", t++), null, "the ban ended, but one refusal is not enough");
    assert.deepEqual(burst(), ["10.9.8.0/24"], "it kept offending: reported again");
  });
  test("a prefix overlapping the trusted list is never reported, whichever network is wider", () => {
    const o = new Offenders({ ...spec, refusals: 1, trusted: "127.0.0.0/8, 10.1.2.3/32, 2001:db8:0:1::/64, 2001:db8:ff00::/40" });
    assert.equal(o.refused("127.0.0.1", 0), null, "loopback /24 lies inside 127/8");
    assert.equal(o.refused("10.1.2.200", 0), null, "its /24 holds the trusted 10.1.2.3");
    assert.equal(o.refused("2001:db8:0:1::5", 0), null, "the trusted /64 itself");
    assert.equal(o.refused("2001:db8:ff12:3::5", 0), null, "inside the trusted /40");
    assert.equal(o.spared, 4);
    assert.equal(o.refused("10.1.3.200", 0), "10.1.3.0/24", "the neighbouring /24 is fair game");
    assert.equal(o.refused("2001:db8:0:2::5", 0), "2001:db8:0:2::/64");
  });
  test("setTrusted() (a reload of proxy_trusted): newly trusted networks are never reported, even mid-count", () => {
    const o = new Offenders(spec);
    for (let i = 1; i <= 4; i++) o.refused(`203.0.113.${i}`, i);
    o.setTrusted("203.0.113.10/32");
    for (let i = 5; i <= 20; i++) assert.equal(o.refused(`203.0.113.${i}`, i), null);
    assert.ok(o.spared >= 16);
    o.setTrusted("");
    const got = [1, 2, 3, 4, 5].map((i) => o.refused(`203.0.113.${i}`, 100 + i));
    assert.equal(got[4], "203.0.113.0/24", "untrusted again: counted from zero");
  });
  test("a per-address refusal bans the address alone (/32, /128); a per-network one the /24 or /64", () => {
    const o = new Offenders(spec);
    const host = [1, 2, 3, 4, 5].map((i) => o.refused("198.51.100.7", i, "challenge_rate"));
    assert.equal(host[4], "198.51.100.7/32");
    const neighbours = [1, 2, 3, 4].map((i) => o.refused(`198.51.100.${10 + i}`, 10 + i, "addr_conn_cap"));
    assert.deepEqual(neighbours, [null, null, null, null], "its neighbours are counted each on their own");
    const net = [1, 2, 3, 4, 5].map((i) => o.refused(`198.51.100.${20 + i}`, 20 + i, "net_challenge_rate"));
    assert.equal(net[4], "198.51.100.0/24");
    const v6 = [1, 2, 3, 4, 5].map((i) => o.refused("2001:db8::9", i, "solution_rate"));
    assert.equal(v6[4], "2001:db8::9/128");
  });
  test("memory is bounded: the least recently refused prefix is forgotten first", () => {
    const o = new Offenders({ ...spec, maxKeys: 3 });
    for (const n of [1, 2, 3]) for (let i = 0; i < 4; i++) o.refused(`10.0.${n}.1`, 0);
    o.refused("10.0.1.1", 2000); // moves 10.0.1.0/24 to the recent end (its count rolled to 1)
    o.refused("10.0.4.1", 2000); // full: 10.0.2.0/24 goes
    assert.equal(o.size, 3);
    assert.equal(o.count("10.0.2.9", 2000), 0, "evicted");
    assert.equal(o.count("10.0.1.9", 2000), 1, "kept");
  });
  test("non-IP peers (Unix socket paths) are never reported", () => {
    const o = new Offenders({ ...spec, refusals: 1 });
    assert.equal(o.refused("/run/wisdom.sock", 0), null);
    assert.equal(o.size, 0);
  });
  test("rejects a nonsensical spec, naming it", () => {
    assert.throws(() => new Offenders({ ...spec, refusals: 0 }), /refusals 0/);
    assert.throws(() => new Offenders({ ...spec, trusted: "nope/8" }), /nope/);
  });
  test("OFFENCES holds the per-client refusals, not the instance-wide ones", () => {
    for (const r of ["addr_conn_cap", "net_conn_cap", "outstanding_cap", "challenge_rate", "net_challenge_rate", "solution_rate"]) assert.equal(OFFENCES.has(r), true, r);
    for (const r of ["conn_cap", "store_unavailable"]) assert.equal(OFFENCES.has(r), false, r);
  });
});
