/**
 * The heap governor collects on Bun once the RSS is over budget and the heap grew, or the RSS grew by its
 * step (memory outside the heap's figures); below the budget it never does; Deno has none.
 */
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

  test("on Bun: RSS growth alone (memory the heap's figures do not count) triggers a collection over budget", async () => {
    if (runtimeName() !== "bun") {
      assert.equal(startHeapGovernor(0, 1, 20, 1), null);
      return;
    }
    // The heap trigger can never fire here (growth of 2^53 bytes), so only the 1 MB RSS step can.
    const rssOnly = startHeapGovernor(0, Number.MAX_SAFE_INTEGER, 20, 1024 * 1024)!;
    const under = startHeapGovernor(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 20, 1024 * 1024)!;
    const held: Uint8Array[] = [];
    try {
      // Array buffers' bytes live outside the JS heap: written (so resident), they raise the RSS.
      for (let i = 0; i < 40 && rssOnly.collections === 0; i++) {
        held.push(new Uint8Array(2 * 1024 * 1024).fill(i + 1));
        await sleep(40);
      }
      held.length = 0;
      assert.ok(rssOnly.collections >= 1, "collected on RSS growth");
      assert.equal(under.collections, 0, "never under budget");
    } finally {
      rssOnly.stop();
      under.stop();
    }
  });
});
