/**
 * Protocol v1 test vectors (tests/vectors/protocol-v1.json, shown in docs/PROTOCOL.md): checked against
 * this code byte for byte, and re-derived with node:crypto as an independent SHA-256/HMAC implementation,
 * the way a client in another language would from the document alone.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { challengePrefix, mintChallenge, signedBytes } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, leadingZeroBits, solveReference, workDigest } from "../../src/shared/pow/hashcash.ts";
import { KeyRing } from "../../src/shared/pow/keys.ts";
import { MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage, encodeChallenge, encodeError, encodeOpen, encodeQuote, encodeSolution } from "../../src/shared/protocol/messages.ts";

const V = JSON.parse(readFileSync(new URL("../vectors/protocol-v1.json", import.meta.url), "utf8"));
const secret = new TextEncoder().encode(V.key.secret_utf8);

describe("protocol v1 vectors: this implementation", () => {
  const ring = new KeyRing([{ id: V.key.id, secret }]);
  const ci = V.challenge_inputs;
  const ch = mintChallenge(ring, { bits: ci.bits, nowMs: ci.iat, ttlMs: ci.ttl_ms, addr: ci.addr, nonce: hexToBytes(ci.nonce_hex), windowMs: ci.window_ms });

  test("mintChallenge() reproduces the challenge and its tag", () => {
    assert.deepEqual(ch, V.challenge);
    assert.equal(ch.mac, V.mac_hex);
  });
  test("signedBytes() reproduces the canonical encoding", () => {
    const got = signedBytes({ v: 1, alg: ch.alg, bits: ch.bits, iat: ch.iat, exp: ch.exp, nonce: hexToBytes(ch.nonce), addr: ch.addr, kid: ch.kid });
    assert.equal(bytesToHex(got), V.signed_bytes_hex);
  });
  test("challengePrefix() and the first solution", () => {
    const prefix = challengePrefix(ch);
    assert.equal(bytesToHex(prefix), V.prefix_hex);
    assert.equal(solveReference(prefix, ch.bits, 0, 1 << 24), V.first_solution.counter);
    assert.equal(bytesToHex(workDigest(prefix, encodeCounter(V.first_solution.counter))), V.first_solution.digest_hex);
  });
  test("frames encode byte for byte", () => {
    assert.equal(bytesToHex(encodeChallenge(ch)), V.frames.challenge_hex);
    assert.equal(bytesToHex(encodeSolution({ challenge: ch, counter: V.first_solution.counter_hex })), V.frames.solution_hex);
    assert.equal(bytesToHex(encodeQuote(V.quote)), V.frames.quote_hex);
    assert.equal(bytesToHex(encodeError("REPLAY", "This challenge was already spent")), V.frames.error_hex);
  });
  test("the guard's Open frame and its upstream Error encode byte for byte and decode back", () => {
    assert.equal(bytesToHex(encodeOpen(V.open)), V.frames.open_hex);
    assert.equal(bytesToHex(encodeError("UPSTREAM_UNAVAILABLE", "Cannot reach the guarded service: connection refused", 1000)), V.frames.upstream_error_hex);
    const f = hexToBytes(V.frames.open_hex);
    assert.deepEqual(decodeMessage({ type: f[1] as typeof MessageType.Open, payload: f.subarray(4) }), { type: MessageType.Open, body: V.open });
  });
});

describe("protocol v1 vectors: independent re-derivation with node:crypto", () => {
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  const lp = (s: Buffer) => Buffer.concat([Buffer.from([s.length]), s]);
  test("signed bytes per the document's layout, tag by HMAC-SHA256", () => {
    const c = V.challenge;
    const signed = Buffer.concat([
      Buffer.from([c.v]), lp(Buffer.from(c.alg)), Buffer.from([c.bits]), u64(c.iat), u64(c.exp),
      lp(Buffer.from(c.nonce, "hex")), lp(Buffer.from(c.addr)), lp(Buffer.from(c.kid)),
    ]);
    assert.equal(signed.toString("hex"), V.signed_bytes_hex);
    assert.equal(createHmac("sha256", Buffer.from(V.key.secret_utf8)).update(signed).digest("hex"), V.mac_hex);
  });
  test("prefix and digest per the document, and the counter is the first that qualifies", () => {
    const c = V.challenge;
    const prefix = Buffer.concat([Buffer.from("wisdom/hashcash1"), Buffer.from([c.bits]), Buffer.alloc(15), Buffer.from(c.mac, "hex")]);
    assert.equal(prefix.toString("hex"), V.prefix_hex);
    const digest = (n: number) => createHash("sha256").update(prefix).update(u64(n)).digest();
    assert.equal(digest(V.first_solution.counter).toString("hex"), V.first_solution.digest_hex);
    assert.ok(leadingZeroBits(digest(V.first_solution.counter)) >= c.bits);
    for (let n = 0; n < V.first_solution.counter; n++) assert.ok(leadingZeroBits(digest(n)) < c.bits, `counter ${n} should not qualify`);
  });
  test("Open frame: type 5, its effort is the leading zero bits of the first solution's digest", () => {
    const f = Buffer.from(V.frames.open_hex, "hex");
    assert.deepEqual([f[0], f[1], f.readUInt16BE(2)], [1, 5, f.length - 4]);
    const body = JSON.parse(f.subarray(4).toString("utf8"));
    assert.deepEqual(body, V.open);
    assert.equal(body.effort, leadingZeroBits(Buffer.from(V.first_solution.digest_hex, "hex")));
    const e = Buffer.from(V.frames.upstream_error_hex, "hex");
    assert.deepEqual([e[0], e[1], e.readUInt16BE(2)], [1, 4, e.length - 4]);
    assert.equal(JSON.parse(e.subarray(4).toString("utf8")).code, "UPSTREAM_UNAVAILABLE");
  });
  test("frame header: version 1, type, big-endian length, then the JSON payload", () => {
    const f = Buffer.from(V.frames.challenge_hex, "hex");
    assert.equal(f[0], 1);
    assert.equal(f[1], MessageType.Challenge);
    assert.equal(f.readUInt16BE(2), f.length - 4);
    assert.deepEqual(JSON.parse(f.subarray(4).toString("utf8")), V.challenge);
  });
});

describe("HMAC-SHA256 known answers (RFC 4231)", () => {
  const cases = [
    { name: "case 1", key: "0b".repeat(20), data: bytesToHex(new TextEncoder().encode("Hi There")), mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
    { name: "case 3", key: "aa".repeat(20), data: "dd".repeat(50), mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
    {
      name: "case 6",
      key: "aa".repeat(131),
      data: bytesToHex(new TextEncoder().encode("Test Using Larger Than Block-Size Key - Hash Key First")),
      mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
  ];
  for (const c of cases) {
    test(`KeyRing.tagInto() matches RFC 4231 ${c.name}, twice in a row (state reuse)`, () => {
      const ring = new KeyRing([{ id: "k", secret: hexToBytes(c.key) }]);
      const out = new Uint8Array(32);
      for (let i = 0; i < 2; i++) {
        assert.ok(ring.tagInto("k", hexToBytes(c.data), out));
        assert.equal(bytesToHex(out), c.mac);
      }
    });
  }
});
