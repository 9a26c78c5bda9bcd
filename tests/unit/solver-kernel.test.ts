/**
 * The hashcash kernels (src/shared/pow/solver/) against @noble/hashes and hashcash.ts: digests,
 * the difficulty test at every bit, first-hit order, and the edges of the counter space.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { leadingZeroBits, solveReference, writeCounter } from "../../src/shared/pow/hashcash.ts";
import { createJsKernel } from "../../src/shared/pow/solver/kernel-js.ts";
import { createWasmKernel, preferredShape, WASM_SHAPES, wasmSimdSupported } from "../../src/shared/pow/solver/kernel-wasm.ts";
import { createKernel, kernelAvailable, resolveKernel } from "../../src/shared/pow/solver/kernels.ts";
import { createNativeKernel } from "../../src/shared/pow/solver/kernel-native.ts";
import { NATIVE_STATE_WORDS, nativeSha256 } from "../../src/shared/runtime/native-sha256.ts";
import { compress, difficultyMask, digestBytes, FINAL_BLOCK_PAD, midstate } from "../../src/shared/pow/solver/sha256-core.ts";
import type { Kernel } from "../../src/shared/pow/solver/types.ts";
import { rngU32 as rng, randomBytes } from "../helpers/rng.ts";


function reference(prefix: Uint8Array, hi: number, lo: number): Uint8Array {
  const message = new Uint8Array(72);
  message.set(prefix);
  writeCounter(message, 64, hi * 2 ** 32 + lo);
  return sha256(message);
}
const firstWord = (digest: Uint8Array) => ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;

/** A first digest word with exactly `zeros` leading zero bits (0..32), the rest random. */
function wordWithZeros(r: () => number, zeros: number): number {
  if (zeros >= 32) return 0;
  const top = 0x8000_0000 >>> zeros;
  return (top | (r() & (top - 1))) >>> 0;
}

/** SHA-256's block function in JavaScript (sha256-core.ts), in the shape the native kernel calls. */
function jsBlockFunction(state: Uint32Array, block: Uint8Array): void {
  const w = new Int32Array(64);
  const view = new DataView(block.buffer, block.byteOffset, 64);
  for (let i = 0; i < 16; i++) w[i] = view.getInt32(4 * i);
  const s = Int32Array.from(state.subarray(0, 8));
  compress(s, w);
  for (let i = 0; i < 8; i++) state[i] = s[i]! >>> 0;
}

const kernels: [string, () => Kernel][] = [["js", createJsKernel], ["native over a JS block function", () => createNativeKernel(jsBlockFunction, "js")]];
if (wasmSimdSupported()) for (const shape of WASM_SHAPES) kernels.push([`wasm-simd (${shape})`, () => createWasmKernel(shape)]);
// This machine kind (Debian with libssl3) has libcrypto; on Deno the test command grants --allow-ffi.
const nativeExpected = ((globalThis as { process?: { platform?: string } }).process?.platform ?? "") === "linux";
if (nativeExpected) kernels.push(["native (system libcrypto)", () => createKernel("native")]);

describe("sha256-core", () => {
  test("midstate + compress of the final block equal @noble/hashes on random prefixes and counters", () => {
    const r = rng(1);
    const w = new Int32Array(64);
    for (let i = 0; i < 500; i++) {
      const prefix = randomBytes(r, 64), hi = r() & 0x1f_ffff, lo = r();
      const state = midstate(prefix);
      w.set([hi, lo, ...FINAL_BLOCK_PAD]);
      compress(state, w);
      assert.deepEqual(digestBytes(state), reference(prefix, hi, lo));
    }
  });

  test("difficultyMask() accepts a word exactly when it has `bits` leading zeros, for bits 0..32", () => {
    const r = rng(2);
    for (let bits = 0; bits <= 32; bits++) {
      for (let zeros = 0; zeros <= 32; zeros++) {
        const h0 = wordWithZeros(r, zeros);
        assert.equal((h0 & difficultyMask(bits)) === 0, zeros >= bits, `bits ${bits}, word ${h0.toString(16)}`);
      }
    }
  });
});

describe("WebAssembly SIMD kernel", () => {
  test("WebAssembly SIMD128 is available on this runtime (Bun and Deno both have it)", () => {
    assert.equal(wasmSimdSupported(), true);
  });
  test("is what `auto` picks after the native kernel, in the build for this engine", () => {
    assert.equal(resolveKernel("auto"), kernelAvailable("native") ? "native" : "wasm-simd");
    assert.equal(createKernel("wasm-simd").name, "wasm-simd");
    assert.equal(createWasmKernel().shape, preferredShape());
    assert.throws(() => createWasmKernel("arm" as "v8"), RangeError);
  });
});

for (const shape of wasmSimdSupported() ? WASM_SHAPES : []) describe(`WebAssembly SIMD kernel, build "${shape}"`, () => {
  test("digest() equals @noble/hashes for 4000 random prefixes and counters", () => {
    const kernel = createWasmKernel(shape);
    const r = rng(3);
    for (let i = 0; i < 1000; i++) {
      const prefix = randomBytes(r, 64), hi = r() & 0x1f_ffff, lo = r() % (2 ** 32 - 3);
      const digests = kernel.digests(prefix, hi, lo);
      for (let lane = 0; lane < 4; lane++) assert.deepEqual(digests[lane], reference(prefix, hi, lo + lane), `prefix ${i} lane ${lane}`);
    }
  });

  test("search computes the same first digest words as @noble/hashes for every lane", () => {
    const kernel = createWasmKernel(shape);
    const r = rng(4);
    for (let i = 0; i < 1000; i++) {
      const prefix = randomBytes(r, 64), hi = r() & 0x1f_ffff, lo = r() % (2 ** 32 - kernel.lanes);
      const words = kernel.groupFirstWords(prefix, hi, lo);
      words.forEach((word, lane) => assert.equal(word, firstWord(reference(prefix, hi, lo + lane)), `prefix ${i} lane ${lane}`));
    }
  });

  test("meets() honours every difficulty 0..32 on synthetic first words", () => {
    const kernel = createWasmKernel(shape);
    const r = rng(5);
    for (let bits = 0; bits <= 32; bits++) {
      for (let zeros = 0; zeros <= 32; zeros++) {
        for (let k = 0; k < 4; k++) {
          const h0 = wordWithZeros(r, zeros);
          const digest = new Uint8Array(32);
          new DataView(digest.buffer).setUint32(0, h0);
          assert.equal(leadingZeroBits(digest) >= bits, zeros >= bits);
          assert.equal(kernel.meets(h0, bits), zeros >= bits, `bits ${bits}, word ${h0.toString(16)}`);
        }
      }
    }
  });
});

for (const [name, make] of kernels) {
  describe(`${name} kernel search()`, () => {
    test("returns the first qualifying lo of the range, as solveReference does (bits 0..12)", () => {
      const kernel = make();
      const r = rng(6);
      for (let bits = 0; bits <= 12; bits++) {
        for (let k = 0; k < 3; k++) {
          const prefix = randomBytes(r, 64);
          const loStart = r() % 1000, count = 1 + (r() % (bits < 10 ? 3000 : 6000));
          const expected = solveReference(prefix, bits, loStart, count);
          const { found, attempts } = kernel.search(prefix, bits, 0, loStart, count);
          assert.equal(found, expected, `bits ${bits} start ${loStart} count ${count}`);
          assert.equal(attempts, found < 0 ? count : found - loStart + 1);
        }
      }
    });

    test("every returned lo meets the difficulty and none before it in the range does", () => {
      const kernel = make();
      const r = rng(7);
      for (let i = 0; i < 40; i++) {
        const prefix = randomBytes(r, 64), bits = 4 + (r() % 6), hi = r() % 3, loStart = r() % 100;
        const { found } = kernel.search(prefix, bits, hi, loStart, 5000);
        assert.ok(found >= loStart);
        assert.ok(leadingZeroBits(reference(prefix, hi, found)) >= bits);
        for (let lo = loStart; lo < found; lo++) assert.ok(leadingZeroBits(reference(prefix, hi, lo)) < bits);
      }
    });

    test("handles lo up to 2^32-1 and high words above 0", () => {
      const kernel = make();
      const r = rng(8);
      for (let i = 0; i < 30; i++) {
        const prefix = randomBytes(r, 64), hi = 1 + (r() % 0x1f_fffe), bits = 1 + (r() % 5);
        const count = 1 + (r() % 40), loStart = 2 ** 32 - count;
        const expected = solveReference(prefix, bits, hi * 2 ** 32 + loStart, count);
        const { found } = kernel.search(prefix, bits, hi, loStart, count);
        assert.equal(found < 0 ? -1 : hi * 2 ** 32 + found, expected, `hi ${hi} start ${loStart} count ${count}`);
      }
    });

    test("never reports a lo past the range, even when a lane beyond it would qualify", () => {
      const kernel = make();
      const prefix = new Uint8Array(64).fill(7);
      const full = kernel.search(prefix, 0, 0, 100, 1);
      assert.deepEqual(full, { found: 100, attempts: 1 });
      for (let count = 1; count <= 9; count++) {
        const expected = solveReference(prefix, 6, 0, count);
        assert.equal(kernel.search(prefix, 6, 0, 0, count).found, expected);
      }
      assert.deepEqual(kernel.search(prefix, 32, 0, 0, 0), { found: -1, attempts: 0 });
    });

    test("rejects malformed arguments with a RangeError", () => {
      const kernel = make();
      const prefix = new Uint8Array(64);
      assert.throws(() => kernel.search(new Uint8Array(63), 8, 0, 0, 1), RangeError);
      assert.throws(() => kernel.search(prefix, 33, 0, 0, 1), RangeError);
      assert.throws(() => kernel.search(prefix, -1, 0, 0, 1), RangeError);
      assert.throws(() => kernel.search(prefix, 8, 2 ** 21, 0, 1), RangeError);
      assert.throws(() => kernel.search(prefix, 8, 0, 2 ** 32 - 1, 2), RangeError);
      assert.throws(() => kernel.search(prefix, 8, 0, 0, 2 ** 31), RangeError);
    });
  });
}

describe("native kernel (system libcrypto through the runtime's FFI)", () => {
  test("loads here (Linux with libssl3; Deno with --allow-ffi), passes its known-answer test, and is what `auto` picks", () => {
    assert.ok(nativeExpected, "this suite runs on Linux, where libcrypto (Debian package libssl3) is expected");
    const native = nativeSha256();
    assert.ok(native, "no usable libcrypto SHA256_Transform: install libssl3 (apt-get install libssl3); on Deno run with --allow-ffi");
    assert.match(native.library, /libcrypto/);
    assert.equal(resolveKernel("auto"), "native");
    assert.equal(createKernel().name, "native");
  });

  test("its block function gives @noble/hashes' digests for 3000 random prefixes and counters", () => {
    const native = nativeSha256()!;
    const r = rng(10);
    const state = new Uint32Array(NATIVE_STATE_WORDS);
    const block = new Uint8Array(64);
    for (let i = 0; i < 3000; i++) {
      const prefix = randomBytes(r, 64), hi = r() & 0x1f_ffff, lo = r();
      state.set(Uint32Array.from(midstate(prefix), (x) => x >>> 0));
      block.fill(0);
      writeCounter(block, 0, hi * 2 ** 32 + lo);
      block[8] = 0x80;
      new DataView(block.buffer).setUint32(60, 576);
      native.transform(state, block);
      const digest = new Uint8Array(32);
      for (let k = 0; k < 8; k++) new DataView(digest.buffer).setUint32(4 * k, state[k]!);
      assert.deepEqual(digest, reference(prefix, hi, lo), `prefix ${i}`);
    }
  });
});

describe("js kernel", () => {
  test("firstWord() equals @noble/hashes for 3000 random prefixes and counters", () => {
    const kernel = createJsKernel();
    const r = rng(9);
    for (let i = 0; i < 3000; i++) {
      const prefix = randomBytes(r, 64), hi = r() & 0x1f_ffff, lo = r();
      assert.equal(kernel.firstWord(prefix, hi, lo), firstWord(reference(prefix, hi, lo)), `prefix ${i}`);
    }
  });
});
