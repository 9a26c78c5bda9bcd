/** pow/solver/small-first.ts: small puzzles without solver.ts, larger ones through it, abort and close. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildPrefix, encodeCounter, meetsDifficulty } from "../../src/shared/pow/hashcash.ts";
import { createSmallFirstSolver } from "../../src/shared/pow/solver/small-first.ts";
import { SMALL_BITS } from "../../src/shared/pow/solver/solver.ts";

const prefix = (seed: number) => buildPrefix(0, new Uint8Array(32).fill(seed));
const withBits = (p: Uint8Array, bits: number) => {
  const q = p.slice();
  q[16] = bits;
  return q;
};

describe("createSmallFirstSolver()", () => {
  test("puzzles up to SMALL_BITS are solved without loading solver.ts; each answer meets the difficulty", async () => {
    const solver = await createSmallFirstSolver({ threads: 2 });
    try {
      assert.equal(solver.threads, 2);
      for (let bits = 0; bits <= SMALL_BITS; bits += 3) {
        const p = withBits(prefix(bits + 1), bits);
        const s = await solver.solve(p, bits);
        assert.ok(meetsDifficulty(p, encodeCounter(s.counter), bits), `${bits} bits: counter ${s.counter}`);
        assert.ok(s.attempts >= 1 && s.attempts === s.counter + 1, `attempts ${s.attempts} for counter ${s.counter}`);
      }
      assert.equal(solver.loaded, false);
      assert.ok(["runtime-sha256", "js"].includes(solver.kernel), solver.kernel);
    } finally {
      await solver.close();
    }
  });

  test("a puzzle above SMALL_BITS loads solver.ts, which then solves every puzzle", async () => {
    const solver = await createSmallFirstSolver({ threads: 1 });
    try {
      const p = withBits(prefix(7), SMALL_BITS + 2);
      const s = await solver.solve(p, SMALL_BITS + 2);
      assert.ok(meetsDifficulty(p, encodeCounter(s.counter), SMALL_BITS + 2));
      assert.equal(solver.loaded, true);
      assert.ok(["native", "wasm-simd", "js"].includes(solver.kernel), solver.kernel);
      const q = withBits(prefix(8), 4);
      assert.ok(meetsDifficulty(q, encodeCounter((await solver.solve(q, 4)).counter), 4));
    } finally {
      await solver.close();
    }
  });

  test("bad arguments, an aborted solve and a closed solver are refused", async () => {
    const solver = await createSmallFirstSolver({ threads: 1 });
    await assert.rejects(solver.solve(new Uint8Array(10), 4), RangeError);
    await assert.rejects(solver.solve(prefix(1), 33), RangeError);
    const ac = new AbortController();
    ac.abort(new Error("stop"));
    await assert.rejects(solver.solve(prefix(1), 4, { signal: ac.signal }), /stop/);
    await solver.close();
    await assert.rejects(solver.solve(prefix(1), 4), /closed/);
    await assert.rejects(createSmallFirstSolver({ threads: 0 }), RangeError);
  });
});

describe("small-first.ts's reference digest", () => {
  test("the scalar JavaScript SHA-256 it checks with after the native hash equals @noble/hashes on random prefixes and counters", async () => {
    const { workDigest } = await import("../../src/shared/pow/hashcash.ts");
    const { _referenceDigestForTest } = await import("../../src/shared/pow/solver/small-first.ts");
    for (let i = 0; i < 200; i++) {
      const p = crypto.getRandomValues(new Uint8Array(64));
      const c = encodeCounter(Math.floor(Math.random() * Number.MAX_SAFE_INTEGER));
      for (const kernel of ["runtime-sha256", "js"] as const) {
        assert.deepEqual(await _referenceDigestForTest(kernel, p, c), workDigest(p, c), `${kernel} #${i}`);
      }
    }
  });
});
