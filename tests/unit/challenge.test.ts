import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { challengePrefix, mintChallenge, signedBytes, verifySolution, type VerifyContext } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { KeyRing, KeyError, timingSafeEqual, deriveKeyId } from "../../src/shared/pow/keys.ts";
import type { Challenge, Solution } from "../../src/shared/protocol/messages.ts";

const enc = new TextEncoder();
const ring = new KeyRing([{ id: "a", secret: enc.encode("secret-a-0123456789abcdef") }, { id: "b", secret: enc.encode("secret-b-0123456789abcdef") }]);
const T0 = 1_800_000_000_000;
const nonce = new Uint8Array(16).fill(7);
const ctx = (over: Partial<VerifyContext> = {}): VerifyContext => ({ nowMs: T0 + 1000, addr: "192.0.2.1", skewMs: 2000, maxTtlMs: 60_000, ...over });

function solved(c: Challenge): Solution {
  const counter = solveReference(challengePrefix(c), c.bits, 0, 1 << 22);
  return { challenge: c, counter: bytesToHex(encodeCounter(counter)) };
}
const base = mintChallenge(ring, { bits: 8, nowMs: T0, ttlMs: 60_000, addr: "192.0.2.1", nonce });
const good = solved(base);

describe("verifySolution()", () => {
  test("accepts a correct proof and names the spent key and expiry", () => {
    const v = verifySolution(ring, good, ctx());
    assert.equal(v.ok, true);
    if (v.ok) {
      assert.equal(v.expiresAtMs, T0 + 60_000);
      assert.equal(v.spentKey, base.mac.slice(0, 32));
      assert.equal(v.bits, 8);
    }
  });
  test("accepts a proof for a challenge signed by a non-signing key still in the ring", () => {
    const other = new KeyRing([{ id: "b", secret: enc.encode("secret-b-0123456789abcdef") }]);
    const c = mintChallenge(other, { bits: 4, nowMs: T0, ttlMs: 60_000, addr: "192.0.2.1", nonce });
    assert.equal(verifySolution(ring, solved(c), ctx()).ok, true);
  });
  const rejects: [string, Solution, Partial<VerifyContext>, string][] = [
    ["expired", good, { nowMs: T0 + 60_000 }, "EXPIRED"],
    ["issued in the future beyond the skew", good, { nowMs: T0 - 2001 }, "NOT_YET_VALID"],
    ["from another client address", good, { addr: "192.0.2.2" }, "WRONG_ADDRESS"],
    ["with an unknown key id", { ...good, challenge: { ...base, kid: "zzz" } }, {}, "UNKNOWN_KEY"],
    ["with difficulty lowered", { ...good, challenge: { ...base, bits: 1 } }, {}, "BAD_SIGNATURE"],
    ["with difficulty raised", { ...good, challenge: { ...base, bits: 9 } }, {}, "BAD_SIGNATURE"],
    ["with iat tampered", { ...good, challenge: { ...base, iat: base.iat + 1 } }, {}, "BAD_SIGNATURE"],
    ["with exp extended", { ...good, challenge: { ...base, exp: base.exp + 1000 } }, {}, "BAD_SIGNATURE"],
    ["with a lifetime longer than the server signs", { ...good, challenge: { ...base, exp: base.iat + 600_000 } }, {}, "BAD_SIGNATURE"],
    ["with nonce tampered", { ...good, challenge: { ...base, nonce: "08".repeat(16) } }, {}, "BAD_SIGNATURE"],
    ["with addr rewritten to the presenter's", { ...good, challenge: { ...base, addr: "192.0.2.2" } }, { addr: "192.0.2.2" }, "BAD_SIGNATURE"],
    ["signed by key b but labelled a", { ...good, challenge: { ...base, kid: "b" } }, {}, "BAD_SIGNATURE"],
    ["with one bit of the tag flipped", { ...good, challenge: { ...base, mac: (parseInt(base.mac[0]!, 16) ^ 1).toString(16) + base.mac.slice(1) } }, {}, "BAD_SIGNATURE"],
    ["with another algorithm", { ...good, challenge: { ...base, alg: "scrypt" } }, {}, "UNSUPPORTED_PUZZLE"],
    ["with difficulty above 32", { ...good, challenge: { ...base, bits: 33 } }, {}, "UNSUPPORTED_PUZZLE"],
    ["with exp before iat", { ...good, challenge: { ...base, exp: base.iat - 1 } }, { nowMs: T0 - 5 }, "BAD_SIGNATURE"],
  ];
  for (const [name, s, over, code] of rejects) {
    test(`rejects a proof ${name} with ${code}`, () => {
      const v = verifySolution(ring, s, ctx(over));
      assert.equal(v.ok, false);
      if (!v.ok) assert.equal(v.code, code);
    });
  }
  test("rejects a counter that does not meet the difficulty with INSUFFICIENT_WORK", () => {
    // find a counter whose digest has fewer than 8 zero bits
    const prefix = challengePrefix(base);
    let bad = 0;
    while (solveReference(prefix, 8, bad, 1) === bad) bad++;
    const v = verifySolution(ring, { challenge: base, counter: bytesToHex(encodeCounter(bad)) }, ctx());
    assert.equal(v.ok, false);
    if (!v.ok) {
      assert.equal(v.code, "INSUFFICIENT_WORK");
      assert.match(v.message, /8 required/);
    }
  });
  test("accepts within the skew allowance", () => {
    assert.equal(verifySolution(ring, good, ctx({ nowMs: T0 - 2000 })).ok, true);
  });
});

// Each check on its own, with everything else valid: these fail if that one check is weakened
// (scripts/mutation/run.ts found them masked by the signature check or untested).
describe("verifySolution(): each check alone", () => {
  const code = (s: Solution, over: Partial<VerifyContext> = {}) => {
    const v = verifySolution(ring, s, ctx(over));
    return v.ok ? "ok" : v.code;
  };
  test("a correctly signed challenge with a longer lifetime than the server's maximum is refused", () => {
    const long = solved(mintChallenge(ring, { bits: 4, nowMs: T0, ttlMs: 60_001, addr: "192.0.2.1", nonce }));
    assert.equal(code(long), "BAD_SIGNATURE");
    assert.equal(code(long, { maxTtlMs: 60_001 }), "ok"); // the same proof within the maximum is fine
  });
  test("a correctly signed challenge with no lifetime (exp == iat) or a negative one is refused", () => {
    for (const ttlMs of [0, -5]) {
      const s = solved(mintChallenge(ring, { bits: 4, nowMs: T0, ttlMs, addr: "192.0.2.1", nonce }));
      assert.equal(code(s, { nowMs: T0 - 10 }), "BAD_SIGNATURE", `ttl ${ttlMs}`);
    }
  });
  test("a proof is refused from its expiry instant on and accepted one ms before", () => {
    assert.equal(code(good, { nowMs: base.exp - 1 }), "ok");
    assert.equal(code(good, { nowMs: base.exp }), "EXPIRED");
  });
  test("every byte of the tag is compared: a change in any one of the 32 is BAD_SIGNATURE", () => {
    for (let i = 0; i < 32; i++) {
      const flipped = (parseInt(base.mac.slice(2 * i, 2 * i + 2), 16) ^ 0x80).toString(16).padStart(2, "0");
      const mac = base.mac.slice(0, 2 * i) + flipped + base.mac.slice(2 * i + 2);
      assert.equal(code({ ...good, challenge: { ...base, mac } }), "BAD_SIGNATURE", `byte ${i}`);
    }
  });
  test("a proof with exactly one bit fewer than demanded is INSUFFICIENT_WORK", () => {
    // a counter whose digest has exactly 7 leading zero bits, at difficulty 8
    const prefix = challengePrefix(base);
    let c = 0;
    for (;; c++) {
      const seven = solveReference(prefix, 7, c, 1) === c;
      if (seven && solveReference(prefix, 8, c, 1) !== c) break;
    }
    assert.equal(code({ challenge: base, counter: bytesToHex(encodeCounter(c)) }), "INSUFFICIENT_WORK");
  });
});

describe("KeyRing", () => {
  test("refuses short secrets, bad ids, duplicates, an empty ring and a missing signing key", () => {
    assert.throws(() => new KeyRing([{ id: "a", secret: new Uint8Array(15) }]), KeyError);
    assert.throws(() => new KeyRing([{ id: "a b", secret: new Uint8Array(16) }]), KeyError);
    assert.throws(() => new KeyRing([{ id: "a", secret: new Uint8Array(16) }, { id: "a", secret: new Uint8Array(16) }]), KeyError);
    assert.throws(() => new KeyRing([]), KeyError);
    assert.throws(() => new KeyRing([{ id: "a", secret: new Uint8Array(16) }], "b"), KeyError);
  });
  test("never serializes a secret", () => {
    const r = new KeyRing([{ id: "a", secret: enc.encode("super-secret-value-123") }]);
    assert.doesNotMatch(JSON.stringify(r), /super-secret/);
    assert.doesNotMatch(JSON.stringify({ r }), /115,117,112/);
  });
  test("deriveKeyId() is stable for a secret and differs between secrets", () => {
    assert.equal(deriveKeyId(enc.encode("x".repeat(20))), deriveKeyId(enc.encode("x".repeat(20))));
    assert.notEqual(deriveKeyId(enc.encode("x".repeat(20))), deriveKeyId(enc.encode("y".repeat(20))));
    assert.match(deriveKeyId(enc.encode("x".repeat(20))), /^k[0-9a-f]{8}$/);
  });
  test("timingSafeEqual()", () => {
    assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
    assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
    assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1])), false);
    assert.equal(timingSafeEqual(new Uint8Array([1]), new Uint8Array([1, 2])), false); // a prefix is not equal
    assert.equal(timingSafeEqual(new Uint8Array(0), new Uint8Array([0])), false);
  });
});

describe("mintChallenge()", () => {
  test("refuses difficulty outside 0..32 and a short nonce", () => {
    assert.throws(() => mintChallenge(ring, { bits: 33, nowMs: T0, ttlMs: 1000, addr: "x", nonce }), RangeError);
    assert.throws(() => mintChallenge(ring, { bits: 1, nowMs: T0, ttlMs: 1000, addr: "x", nonce: new Uint8Array(8) }), RangeError);
  });
  test("two challenges with different nonces have different tags", () => {
    const a = mintChallenge(ring, { bits: 1, nowMs: T0, ttlMs: 1000, addr: "x", nonce });
    const b = mintChallenge(ring, { bits: 1, nowMs: T0, ttlMs: 1000, addr: "x", nonce: new Uint8Array(16) });
    assert.notEqual(a.mac, b.mac);
  });
  test("scratch reused between calls and keys leaks nothing: each tag is its own key's over its own fields", () => {
    // mintChallenge and verifySolution share module scratch (the signed fields, the tag buffer) across calls.
    // Interleave two rings with different secrets and one shared kid, and check every tag against an
    // HMAC computed from scratch-free reference bytes.
    const ringA = new KeyRing([{ id: "k", secret: enc.encode("secret-one-0123456789abcdef") }]);
    const ringB = new KeyRing([{ id: "k", secret: enc.encode("secret-two-0123456789abcdef") }]);
    const nA = new Uint8Array(16).fill(1), nB = new Uint8Array(16).fill(2);
    const a = mintChallenge(ringA, { bits: 4, nowMs: T0, ttlMs: 60_000, addr: "192.0.2.1", nonce: nA });
    const b = mintChallenge(ringB, { bits: 4, nowMs: T0 + 7, ttlMs: 60_000, addr: "192.0.2.9", nonce: nB, windowMs: 5000 });
    const refTag = (secret: string, c: Challenge) =>
      bytesToHex(hmac(sha256, enc.encode(secret), signedBytes({ v: 1, alg: c.alg, bits: c.bits, iat: c.iat, exp: c.exp, nonce: hexToBytes(c.nonce), addr: c.addr, kid: c.kid })));
    assert.equal(a.mac, refTag("secret-one-0123456789abcdef", a));
    assert.equal(b.mac, refTag("secret-two-0123456789abcdef", b));
    assert.equal(a.nonce, bytesToHex(nA)); // the hex was copied out, not a view of scratch later overwritten
    assert.equal(b.window_ms, 5000);
    assert.equal(a.window_ms, undefined);
    const sa = solved(a), sb = solved(b);
    const ctxA = ctx({ addr: "192.0.2.1" }), ctxB = ctx({ addr: "192.0.2.9" });
    for (let i = 0; i < 3; i++) { // alternating: a verification never sees the previous call's fields or key
      assert.equal(verifySolution(ringA, sa, ctxA).ok, true);
      assert.equal(verifySolution(ringB, sb, ctxB).ok, true);
      const crossA = verifySolution(ringB, sa, ctxA), crossB = verifySolution(ringA, sb, ctxB);
      assert.equal(crossA.ok || crossB.ok, false, "a tag of one secret accepted under the other (same kid)");
      if (!crossA.ok) assert.equal(crossA.code, "BAD_SIGNATURE");
      if (!crossB.ok) assert.equal(crossB.code, "BAD_SIGNATURE");
      // An attacker splices b's tag onto a's fields right after b was verified (its fields in scratch): refused.
      const spliced = verifySolution(ringB, { ...sa, challenge: { ...a, mac: b.mac } }, ctxA);
      assert.equal(spliced.ok, false);
      if (!spliced.ok) assert.equal(spliced.code, "BAD_SIGNATURE");
    }
    // A mint between a mint and its use does not change the first challenge's tag or validity.
    mintChallenge(ringA, { bits: 4, nowMs: T0 + 1, ttlMs: 60_000, addr: "192.0.2.3", nonce: nB });
    assert.equal(a.mac, refTag("secret-one-0123456789abcdef", a));
    assert.equal(verifySolution(ringA, sa, ctxA).ok, true);
  });
});
