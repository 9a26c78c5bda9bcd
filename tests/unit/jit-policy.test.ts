/**
 * setJitPolicy (src/shared/runtime/jit-policy.ts): on Bun, GATE_JIT_SCALE keeps functions that run a
 * few thousand times out of the optimizing compiler (DFG), where the runtime's own policy compiles them;
 * each case runs in its own process, as the policy is per thread and would change this test runner's.
 * Elsewhere the call does nothing and says so. Bad scales are refused.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { GATE_JIT_SCALE, setJitPolicy } from "../../src/shared/runtime/jit-policy.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const policy = fileURLToPath(new URL("../../src/shared/runtime/jit-policy.ts", import.meta.url));

/** How many of 300 small functions called 3,000 times each DFG compiled, in a Bun process with `scale` set first. */
function dfgCompiled(scale: number): number {
  const script = `
    import { numberOfDFGCompiles } from "bun:jsc";
    import { setJitPolicy } from ${JSON.stringify(policy)};
    if (!setJitPolicy(${scale})) throw new Error("setJitPolicy did nothing");
    const fns = Array.from({ length: 300 }, (_, k) => new Function("x", "let s = " + k + "; s = (s * 31 + x) | 0; return s ^ (x >>> 3);"));
    let acc = 0;
    for (let r = 0; r < 3000; r++) for (const f of fns) acc += f(r);
    const count = () => fns.filter((f) => numberOfDFGCompiles(f) > 0).length;
    if (numberOfDFGCompiles(() => 0) >= 1000000) throw new Error("this Bun runs without its optimizing JIT (BUN_JSC_useJIT=0?)");
    // Compiles finish on the JIT's own thread and are installed at a later call: call each function
    // once more per pause (about 50 more calls in all, far below the thresholds) for up to 10 s.
    const until = Date.now() + 10_000;
    while (${scale} === 1 && count() < 300 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      for (const f of fns) acc += f(1);
    }
    console.log(JSON.stringify({ compiles: count(), acc }));
  `;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { compiles: number }).compiles;
}

describe("setJitPolicy()", () => {
  test("refuses a scale that is not a finite number >= 1", () => {
    for (const bad of [0, 0.5, -1, Number.NaN, Infinity]) assert.throws(() => setJitPolicy(bad), RangeError);
  });

  test(isBun ? "on Bun: the runtime's policy DFG-compiles (nearly) all of 300 functions called 3,000 times each; GATE_JIT_SCALE (nearly) none" : "elsewhere: does nothing and says so", () => {
    if (!isBun) {
      assert.equal(setJitPolicy(GATE_JIT_SCALE), false);
      return;
    }
    assert.ok(GATE_JIT_SCALE > 1);
    const plain = dfgCompiled(1), gate = dfgCompiled(GATE_JIT_SCALE);
    assert.ok(plain >= 290, `the runtime's own policy compiled only ${plain} of 300`);
    assert.ok(gate <= 10, `GATE_JIT_SCALE still compiled ${gate} of 300`);
  });
});
