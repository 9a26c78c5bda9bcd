/** The one-shot-hash kernel (pow/solver/kernel-hasher.ts) against the reference solver, and the solver's use of it for small puzzles. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { solveReference } from "../../src/shared/pow/hashcash.ts";
import { createHasherKernel } from "../../src/shared/pow/solver/kernel-hasher.ts";
import { createSolver, SMALL_BITS } from "../../src/shared/pow/solver/solver.ts";
import { runtimeSha256 } from "../../src/shared/runtime/runtime-sha256.ts";
import { runtimeName } from "../../src/shared/runtime/name.ts";
import { rngU32 } from "../helpers/rng.ts";

const nobleHash = (data: Uint8Array, out: Uint8Array) => out.set(sha256(data));

describe("createHasherKernel()", () => {
  const hashes: [string, NonNullable<ReturnType<typeof runtimeSha256>>][] = [["@noble/hashes", nobleHash]];
  const native = runtimeSha256();
  if (native) hashes.push(["the runtime's own", native]);

  test("runtimeSha256() is Bun's native hash on Bun and absent on Deno", () => {
    assert.equal(native !== null, runtimeName() === "bun");
  });

  for (const [label, hash] of hashes) {
    test(`with ${label} SHA-256, finds the same first counter as the reference solver, high word 0 and not`, () => {
      const k = createHasherKernel(hash);
      const next = rngU32(17);
      for (let round = 0; round < 24; round++) {
        const prefix = new Uint8Array(64).map(() => next() & 255);
        const bits = round % 11;
        const hi = round % 3 === 0 ? 0 : 1 + (round % 5);
        const want = solveReference(prefix, bits, hi * 2 ** 32, 1 << 16);
        const got = k.search(prefix, bits, hi, 0, 1 << 16);
        assert.equal(got.found < 0 ? -1 : hi * 2 ** 32 + got.found, want, `round ${round}`);
        assert.equal(got.attempts, want < 0 ? 1 << 16 : want - hi * 2 ** 32 + 1);
      }
    });

    test(`with ${label} SHA-256, a range without a solution reports every attempt, and bad arguments throw`, () => {
      const k = createHasherKernel(hash);
      const prefix = new Uint8Array(64).fill(7);
      const first = solveReference(prefix, 12, 0, 1 << 20);
      assert.deepEqual(k.search(prefix, 12, 0, 0, first), { found: -1, attempts: first });
      assert.throws(() => k.search(new Uint8Array(63), 8, 0, 0, 1), RangeError);
      assert.throws(() => k.search(prefix, 33, 0, 0, 1), RangeError);
    });
  }
});

describe("createSolver() with kernel auto", () => {
  test(`solves puzzles up to SMALL_BITS (${SMALL_BITS}) and above, every answer meeting its difficulty`, async () => {
    await using s = await createSolver({ threads: 1 });
    const next = rngU32(5);
    for (const bits of [0, 4, 8, SMALL_BITS, SMALL_BITS + 1]) {
      const prefix = new Uint8Array(64).map(() => next() & 255);
      const r = await s.solve(prefix, bits);
      assert.equal(r.counter, solveReference(prefix, bits), `bits ${bits}`);
    }
    assert.ok(["native", "wasm-simd", "js"].includes(s.kernel), s.kernel);
  });
});
