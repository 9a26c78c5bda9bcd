/**
 * The allocation-free SHA-256/HMAC of the verification path against @noble/hashes, the reference,
 * once per engine: WebAssembly (sha256-wasm.ts, the default) and the JavaScript fallback.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { FastHmac, type Sha256Engine, setSha256Engine, workFirstWord } from "../../src/shared/pow/sha256-fast.ts";
import { createSha256Wasm } from "../../src/shared/pow/sha256-wasm.ts";
import { rngU32 as rng, randomBytes as bytes } from "../helpers/rng.ts";

const tag = (key: Uint8Array, msg: Uint8Array, length = msg.length) => {
  const out = new Uint8Array(32);
  new FastHmac(key).tagInto(msg, length, out);
  return bytesToHex(out);
};

/** Longest message the WebAssembly engine hashes in one call; longer ones go block by block. */
const CAPACITY = createSha256Wasm()!.capacity;

for (const engine of ["wasm", "js"] as const satisfies readonly Sha256Engine[]) {
  describe(`sha256-fast.ts, engine "${engine}"`, () => {
    before(() => assert.equal(setSha256Engine(engine === "wasm" ? "auto" : "js"), engine));
    after(() => setSha256Engine("auto"));

    test("FastHmac matches @noble/hashes hmac for keys of 16..200 bytes and messages of 0..300 bytes (every padding case)", () => {
      const r = rng(11);
      for (let i = 0; i < 600; i++) {
        const key = bytes(r, 16 + (r() % 185));
        const msg = bytes(r, i < 300 ? i : r() % 301);
        assert.equal(tag(key, msg), bytesToHex(hmac(sha256, key, msg)), `key ${key.length} msg ${msg.length}`);
      }
    });
    test("FastHmac tags only the first `length` bytes", () => {
      const key = new Uint8Array(20).fill(3), msg = new Uint8Array(100).fill(9);
      assert.equal(tag(key, msg, 40), bytesToHex(hmac(sha256, key, msg.subarray(0, 40))));
    });
    test("FastHmac matches around and beyond the one-call capacity, and a short tag of a long buffer", () => {
      const r = rng(7), key = bytes(r, 32);
      for (const n of [CAPACITY - 56, CAPACITY - 1, CAPACITY, CAPACITY + 1, 3 * CAPACITY + 17]) {
        const msg = bytes(r, n);
        assert.equal(tag(key, msg), bytesToHex(hmac(sha256, key, msg)), `msg ${n}`);
      }
      const long = bytes(r, CAPACITY + 100);
      assert.equal(tag(key, long, 63), bytesToHex(hmac(sha256, key, long.subarray(0, 63))));
    });
    test("FastHmac gives the same tag twice in a row and across instances (no state left behind)", () => {
      const r = rng(3), a = new FastHmac(bytes(r, 32)), b = new FastHmac(bytes(r, 70)), msg = bytes(r, 63);
      const out = () => new Uint8Array(32);
      const [a1, b1, a2] = [out(), out(), out()];
      a.tagInto(msg, msg.length, a1); b.tagInto(msg, msg.length, b1); a.tagInto(msg, msg.length, a2);
      assert.deepEqual(a1, a2);
      assert.notDeepEqual(a1, b1);
    });
    test("workFirstWord() is the first word of SHA-256(prefix || counter) for 2000 random inputs", () => {
      const r = rng(5);
      for (let i = 0; i < 2000; i++) {
        const prefix = bytes(r, 64), counter = bytes(r, 8);
        const d = sha256(new Uint8Array([...prefix, ...counter]));
        const want = ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) | 0;
        assert.equal(workFirstWord(prefix, counter), want);
      }
    });
  });
}

describe("setSha256Engine()", () => {
  test("\"auto\" selects WebAssembly on this runtime", () => {
    assert.equal(setSha256Engine("auto"), "wasm");
  });
  test("a key's states computed under one engine tag the same under the other", () => {
    const key = new Uint8Array(40).fill(7), msg = new Uint8Array(63).fill(1), want = bytesToHex(hmac(sha256, key, msg));
    try {
      for (const [make, use] of [["js", "auto"], ["auto", "js"]] as const) {
        setSha256Engine(make);
        const h = new FastHmac(key);
        setSha256Engine(use);
        const out = new Uint8Array(32);
        h.tagInto(msg, msg.length, out);
        assert.equal(bytesToHex(out), want, `made under ${make}, used under ${use}`);
      }
    } finally {
      setSha256Engine("auto");
    }
  });
});
