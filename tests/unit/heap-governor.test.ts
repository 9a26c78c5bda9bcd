/**
 * The heap governor collects on Bun once the RSS is over budget and the heap grew, or the RSS grew by its
 * step (memory outside the heap's figures), or its period has passed; below the budget it never does;
 * Deno has none.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { forcedGcOf } from "../../bench/_forced-gc.ts";
import { Metrics } from "../../src/shared/observe/metrics.ts";
import { GOVERNOR_BUDGET_BYTES, GOVERNOR_THREAD_BYTES, GOVERNOR_TRIGGERS, governorBudgetBytes, startHeapGovernor } from "../../src/shared/runtime/heap-governor.ts";
import { runtimeName } from "../../src/shared/transport/index.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Live objects (kept until released), so the heap grows whatever the runtime's own collector does meanwhile. */
function grow(mb: number, into: unknown[]): void {
  for (let i = 0; i < mb * 10_000; i++) into.push({ i, pad: "x".repeat(80) + i });
}

describe("startHeapGovernor()", () => {
  test("on Bun: collects when over budget and the heap grew; never under budget. Elsewhere: null", async () => {
    if (runtimeName() !== "bun") {
      assert.equal(startHeapGovernor({ budgetBytes: 0, growthBytes: 1, everyMs: 20 }), null);
      return;
    }
    // Only the heap trigger can fire (no RSS step of 2^53 bytes, no period).
    const over = startHeapGovernor({ budgetBytes: 0, growthBytes: 1024 * 1024, everyMs: 20, rssStepBytes: Number.MAX_SAFE_INTEGER, periodMs: 0 })!;
    const under = startHeapGovernor({ budgetBytes: Number.MAX_SAFE_INTEGER, growthBytes: 1024 * 1024, everyMs: 20, periodMs: 1 })!;
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
      assert.deepEqual(over.byTrigger, { heap: over.collections, rss: 0, period: 0 }, "counted under the trigger that fired");
      assert.equal(under.collections, 0, "never under budget");
    } finally {
      over.stop();
      under.stop();
    }
  });

  test("on Bun: RSS growth alone (memory the heap's figures do not count) triggers a collection over budget", async () => {
    if (runtimeName() !== "bun") {
      assert.equal(startHeapGovernor({ budgetBytes: 0, growthBytes: 1, everyMs: 20, rssStepBytes: 1 }), null);
      return;
    }
    // The heap trigger can never fire here (growth of 2^53 bytes) and there is no period, so only the 1 MB RSS step can.
    const rssOnly = startHeapGovernor({ budgetBytes: 0, growthBytes: Number.MAX_SAFE_INTEGER, everyMs: 20, rssStepBytes: 1024 * 1024, periodMs: 0 })!;
    const under = startHeapGovernor({ budgetBytes: Number.MAX_SAFE_INTEGER, growthBytes: Number.MAX_SAFE_INTEGER, everyMs: 20, rssStepBytes: 1024 * 1024, periodMs: 1 })!;
    const held: Uint8Array[] = [];
    try {
      // Array buffers' bytes live outside the JS heap: written (so resident), they raise the RSS.
      for (let i = 0; i < 40 && rssOnly.collections === 0; i++) {
        held.push(new Uint8Array(2 * 1024 * 1024).fill(i + 1));
        await sleep(40);
      }
      held.length = 0;
      assert.ok(rssOnly.collections >= 1, "collected on RSS growth");
      assert.deepEqual(rssOnly.byTrigger, { heap: 0, rss: rssOnly.collections, period: 0 }, "counted under the RSS step");
      assert.equal(under.collections, 0, "never under budget");
    } finally {
      rssOnly.stop();
      under.stop();
    }
  });

  test("on Bun: over budget, the period collects (with churn, only while connections keep coming), no more often than the period; never under budget", async () => {
    if (runtimeName() !== "bun") {
      assert.equal(startHeapGovernor({ budgetBytes: 0, periodMs: 1 }), null);
      return;
    }
    // Neither the heap nor the RSS trigger can fire (steps of 2^53 bytes): only the 30 ms period can.
    const never = Number.MAX_SAFE_INTEGER;
    const quiet = { budgetBytes: 0, growthBytes: never, rssStepBytes: never, everyMs: 10 };
    let accepted = 0;
    const periodic = startHeapGovernor({ ...quiet, periodMs: 30 })!;
    const churning = startHeapGovernor({ ...quiet, periodMs: 30, churn: () => accepted, periodChurn: 100 })!;
    const idle = startHeapGovernor({ ...quiet, periodMs: 30, churn: () => 0, periodChurn: 100 })!;
    const noPeriod = startHeapGovernor({ ...quiet, periodMs: 0 })!;
    const under = startHeapGovernor({ ...quiet, budgetBytes: never, periodMs: 1 })!;
    try {
      const t0 = performance.now();
      while ((periodic.collections < 3 || churning.collections < 3) && performance.now() - t0 < 5_000) {
        accepted += 100;
        await sleep(20);
      }
      const elapsed = performance.now() - t0;
      assert.ok(periodic.collections >= 3, `collected on its period (${periodic.collections} in ${elapsed.toFixed(0)} ms)`);
      assert.ok(churning.collections >= 3, `collected on its period while connections came (${churning.collections})`);
      // One per 30 ms at most (less half a tick's jitter: 25 ms), the period counted from the start and then from each collection.
      for (const g of [periodic, churning]) assert.ok(g.collections <= Math.floor(elapsed / 25) + 1, `${g.collections} collections in ${elapsed.toFixed(0)} ms`);
      for (const g of [periodic, churning]) assert.deepEqual(g.byTrigger, { heap: 0, rss: 0, period: g.collections }, "counted under the period");
      assert.equal(idle.collections, 0, "no connections, no collection");
      assert.equal(noPeriod.collections, 0, "no trigger, no period: none");
      assert.equal(under.collections, 0, "never under budget");
    } finally {
      for (const g of [periodic, churning, idle, noPeriod, under]) g.stop();
    }
  });

  test("/metrics: wisdom_forced_gc_total (by trigger) and _seconds_total report the governor's collections, wisdom_heap_budget_bytes its budget (0 without one)", async () => {
    const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    const forced = (text: string) => Object.fromEntries(GOVERNOR_TRIGGERS.map((t) => [t, value(text, `wisdom_forced_gc_total\\{trigger="${t}"\\}`)]));
    const m = new Metrics({ version: "t", commit: "t", runtime: "t" });
    m.bindGovernor(null);
    let text = await m.render();
    assert.deepEqual(forced(text), { heap: 0, rss: 0, period: 0 }, "every trigger's series is there, at 0");
    assert.equal(value(text, "wisdom_forced_gc_seconds_total"), 0);
    assert.equal(value(text, "wisdom_heap_budget_bytes"), 0, "no governor, no budget");
    const g = startHeapGovernor({ budgetBytes: 0, everyMs: 10, periodMs: 20 });
    if (g === null) {
      assert.notEqual(runtimeName(), "bun");
      return;
    }
    try {
      m.bindGovernor(g);
      for (let i = 0; i < 250 && g.collections < 2; i++) await sleep(20);
      g.stop();
      assert.ok(g.collections >= 2, `collected ${g.collections} times`);
      text = await m.render();
      assert.deepEqual(forced(text), g.byTrigger);
      assert.equal(GOVERNOR_TRIGGERS.reduce((a, t) => a + g.byTrigger[t], 0), g.collections, "the triggers' counts sum to the collections");
      // What the benches read from a gate's /metrics (forced_gc_by_trigger) is the same.
      const read = forcedGcOf(text);
      assert.deepEqual({ heap: read.heap, rss: read.rss, period: read.period }, g.byTrigger);
      assert.ok(Math.abs(read.ms - g.pausedMs) < 1e-6);
      assert.ok(Math.abs(value(text, "wisdom_forced_gc_seconds_total") - g.pausedMs / 1000) < 1e-9, text.match(/^wisdom_forced_gc.*$/gm)?.join("; ") ?? "");
      const other = startHeapGovernor({ budgetBytes: 123_456_789, everyMs: 1000 })!;
      other.stop();
      m.bindGovernor(other);
      assert.equal(value(await m.render(), "wisdom_heap_budget_bytes"), 123_456_789);
    } finally {
      g.stop();
    }
  });

  test("the budget is the process's: 80 MB for one gate thread, 7 MB more for each further one (what a thread costs idle)", () => {
    const MB = 1024 * 1024;
    assert.equal(GOVERNOR_BUDGET_BYTES, 80 * MB);
    assert.equal(GOVERNOR_THREAD_BYTES, 7 * MB);
    assert.equal(governorBudgetBytes(1), 80 * MB);
    assert.equal(governorBudgetBytes(2), 87 * MB);
    assert.equal(governorBudgetBytes(64), (80 + 63 * 7) * MB);
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) assert.throws(() => governorBudgetBytes(bad), RangeError, String(bad));
    const g = startHeapGovernor({ budgetBytes: governorBudgetBytes(3), everyMs: 1000 });
    if (g === null) return assert.notEqual(runtimeName(), "bun");
    g.stop();
    assert.equal(g.budgetBytes, 94 * MB, "the governor reports the budget it runs under");
    const dflt = startHeapGovernor({ everyMs: 1000 })!;
    dflt.stop();
    assert.equal(dflt.budgetBytes, 80 * MB, "default: one thread's");
  });
});
