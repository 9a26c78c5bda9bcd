import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CidrList } from "../../src/shared/net/cidr.ts";

describe("CidrList", () => {
  test("matches IPv4 and IPv6 networks at every prefix length", () => {
    const l = new CidrList("127.0.0.0/8, 10.1.2.0/23, ::1/128, 2001:db8::/33, 192.0.2.7");
    for (const a of ["127.0.0.1", "127.255.1.2", "10.1.2.9", "10.1.3.255", "::1", "2001:db8:7fff::1", "192.0.2.7"]) assert.equal(l.has(a), true, a);
    for (const a of ["128.0.0.1", "10.1.4.0", "::2", "2001:db8:8000::1", "192.0.2.8", "junk"]) assert.equal(l.has(a), false, a);
  });
  test("0.0.0.0/0 matches every IPv4 and no IPv6", () => {
    const l = new CidrList("0.0.0.0/0");
    assert.equal(l.has("8.8.8.8"), true);
    assert.equal(l.has("::1"), false);
  });
  test("rejects bad entries, naming them", () => {
    assert.throws(() => new CidrList("10.0.0.0/33"), /10\.0\.0\.0\/33/);
    assert.throws(() => new CidrList("nope/8"), /nope/);
    assert.throws(() => new CidrList("::/129"), /0\.\.128/);
    assert.throws(() => new CidrList("1.2.3.4/8/9"), RangeError);
  });
});
