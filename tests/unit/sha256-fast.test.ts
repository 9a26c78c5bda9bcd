/** The allocation-free SHA-256/HMAC of the verification path against @noble/hashes, the reference. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { FastHmac, workFirstWord } from "../../src/shared/pow/sha256-fast.ts";

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
}
const bytes = (r: () => number, n: number) => Uint8Array.from({ length: n }, () => r() & 255);

describe("FastHmac", () => {
  test("matches @noble/hashes hmac for keys of 16..200 bytes and messages of 0..300 bytes (every padding case)", () => {
    const r = rng(11);
    for (let i = 0; i < 600; i++) {
      const key = bytes(r, 16 + (r() % 185));
      const msg = bytes(r, i < 300 ? i : r() % 301);
      const out = new Uint8Array(32);
      new FastHmac(key).tagInto(msg, msg.length, out);
      assert.equal(bytesToHex(out), bytesToHex(hmac(sha256, key, msg)), `key ${key.length} msg ${msg.length}`);
    }
  });
  test("tags only the first `length` bytes", () => {
    const key = new Uint8Array(20).fill(3), msg = new Uint8Array(100).fill(9), out = new Uint8Array(32);
    new FastHmac(key).tagInto(msg, 40, out);
    assert.equal(bytesToHex(out), bytesToHex(hmac(sha256, key, msg.subarray(0, 40))));
  });
});

describe("workFirstWord()", () => {
  test("is the first word of SHA-256(prefix || counter) for 2000 random inputs", () => {
    const r = rng(5);
    for (let i = 0; i < 2000; i++) {
      const prefix = bytes(r, 64), counter = bytes(r, 8);
      const d = sha256(new Uint8Array([...prefix, ...counter]));
      const want = ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) | 0;
      assert.equal(workFirstWord(prefix, counter), want);
    }
  });
});
