/** The heap governor collects on Bun once the RSS is over budget and the heap grew; below the budget it never does; Deno has none. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startHeapGovernor } from "../../src/shared/runtime/heap-governor.ts";
import { runtimeName } from "../../src/shared/transport/index.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Live objects (kept until released), so the heap grows whatever the runtime's own collector does meanwhile. */
function grow(mb: number, into: unknown[]): void {
  for (let i = 0; i < mb * 10_000; i++) into.push({ i, pad: "x".repeat(80) + i });
}

describe("startHeapGovernor()", () => {
  test("on Bun: collects when over budget and the heap grew; never under budget. Elsewhere: null", async () => {
    if (runtimeName() !== "bun") {
      assert.equal(startHeapGovernor(0, 1, 20), null);
      return;
    }
    const over = startHeapGovernor(0, 1024 * 1024, 20)!;
    const under = startHeapGovernor(Number.MAX_SAFE_INTEGER, 1024 * 1024, 20)!;
    const held: unknown[] = [];
    try {
      // The governor waits for growth of a quarter of the heap it last saw: in a long test run that heap
      // is large, so grow in steps sized to it (a fixed 2 MB step never got there in a full suite).
      const step = Math.max(2, Math.ceil(process.memoryUsage().heapUsed / 1e6 / 16));
      for (let i = 0; i < 40 && over.collections === 0; i++) {
        grow(step, held);
        await sleep(40);
      }
      held.length = 0;
      assert.ok(over.collections >= 1, "collected over budget");
      assert.ok(over.pausedMs > 0);
      assert.equal(under.collections, 0, "never under budget");
    } finally {
      over.stop();
      under.stop();
    }
  });
});
