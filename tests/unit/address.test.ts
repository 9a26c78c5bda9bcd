import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { canonicalAddress, formatHostPort, parseHostPort } from "../../src/shared/net/address.ts";

describe("canonicalAddress()", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:7f00:1", "127.0.0.1"],
    ["::1", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["fe80::1%eth0", "fe80::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
  ];
  for (const [input, want] of cases) test(`${input} -> ${want}`, () => assert.equal(canonicalAddress(input), want));
  test("leaves non-IP text alone and rejects malformed IPs as non-IP", () => {
    assert.equal(canonicalAddress("/tmp/sock"), "/tmp/sock");
    assert.equal(canonicalAddress("1.2.3.256"), "1.2.3.256");
    assert.equal(canonicalAddress("1::2::3"), "1::2::3");
  });
});

describe("parseHostPort()", () => {
  test("parses v4, bracketed v6, and :PORT", () => {
    assert.deepEqual(parseHostPort("127.0.0.1:7077"), { host: "127.0.0.1", port: 7077 });
    assert.deepEqual(parseHostPort("[::]:0"), { host: "::", port: 0 });
    assert.deepEqual(parseHostPort(":9", "0.0.0.0"), { host: "0.0.0.0", port: 9 });
    assert.deepEqual(parseHostPort("localhost:80"), { host: "localhost", port: 80 });
  });
  test("rejects a missing port, a port over 65535 and an unbracketed v6", () => {
    assert.throws(() => parseHostPort("localhost"), /not HOST:PORT/);
    assert.throws(() => parseHostPort("a:65536"), /port/);
    assert.throws(() => parseHostPort("::1:80"), /brackets/);
  });
  test("formatHostPort() brackets v6", () => {
    assert.equal(formatHostPort("::1", 5), "[::1]:5");
    assert.equal(formatHostPort("1.2.3.4", 5), "1.2.3.4:5");
  });
});
