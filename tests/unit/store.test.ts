import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MemorySpentStore } from "../../src/shared/store/memory.ts";
import { ChallengeFencedError, StoreUnavailableError } from "../../src/shared/store/types.ts";

describe("MemorySpentStore", () => {
  test("markSpent() is true once, then false for the same key", () => {
    const s = new MemorySpentStore();
    assert.equal(s.markSpent("a", 10_000, 0), true);
    assert.equal(s.markSpent("a", 10_000, 1), false);
    assert.equal(s.markSpent("b", 10_000, 1), true);
    assert.equal(s.size(), 2);
  });
  test("entries are dropped once their expiry has passed, not before", () => {
    const s = new MemorySpentStore({ bucketMs: 1000 });
    s.markSpent("a", 5_000, 0);
    s.markSpent("b", 9_000, 0);
    s.sweep(4_999);
    assert.equal(s.size(), 2);
    s.sweep(5_000);
    assert.equal(s.size(), 1);
    assert.equal(s.markSpent("b", 9_000, 5_001), false, "b still spent");
    s.sweep(9_000);
    assert.equal(s.size(), 0);
  });
  test("a key whose expiry falls inside a bucket stays spent until that expiry, however time steps (no replay in the last second)", () => {
    for (const exp of [1500, 1001, 1999, 2000]) {
      const s = new MemorySpentStore({ bucketMs: 1000 });
      assert.equal(s.markSpent("k", exp, 0), true);
      for (let now = 1000; now < exp; now += 100) assert.equal(s.markSpent("k", exp, now), false, `exp ${exp}, now ${now}`);
      assert.equal(s.markSpent("k", exp, exp - 1), false, `exp ${exp}, now ${exp - 1}`);
    }
  });
  test("sweeps by itself as time passes", () => {
    const s = new MemorySpentStore({ bucketMs: 100 });
    for (let i = 0; i < 1000; i++) s.markSpent(`k${i}`, 1_000 + i, 0);
    s.markSpent("late", 100_000, 50_000);
    assert.equal(s.size(), 1);
  });
  test("when full, refuses new keys instead of evicting old ones (a flood cannot reopen replays)", () => {
    const s = new MemorySpentStore({ maxEntries: 3 });
    for (const k of ["a", "b", "c"]) s.markSpent(k, 60_000, 0);
    assert.throws(() => s.markSpent("d", 60_000, 1), StoreUnavailableError);
    assert.equal(s.markSpent("a", 60_000, 2), false, "old entries still spent");
    s.sweep(60_000);
    assert.equal(s.markSpent("d", 120_000, 60_000), true, "room again once entries expired");
  });
});

describe("MemorySpentStore fence (restart safety)", () => {
  test("a challenge issued before the fence is refused with ChallengeFencedError; at or after it, it is spent once", () => {
    const s = new MemorySpentStore({ fenceMs: 5000 });
    assert.throws(() => s.markSpent("old", 70_000, 6000, 4999), (e: unknown) => e instanceof ChallengeFencedError && e.fenceMs === 5000);
    assert.equal(s.size(), 0, "a fenced proof is not marked");
    assert.equal(s.markSpent("new", 70_000, 6000, 5000), true);
    assert.equal(s.markSpent("new", 70_000, 6001, 5000), false);
  });
  test("issued() lowers the fence to this process's own earliest challenge (a wall clock stepped back), never raises it", () => {
    const s = new MemorySpentStore({ fenceMs: 5000 });
    s.issued(9000);
    assert.equal(s.fenceMs, 5000);
    s.issued(4000); // the clock went back 1 s after the start: this process's own challenge stays valid
    assert.equal(s.fenceMs, 4000);
    assert.equal(s.markSpent("mine", 70_000, 4100, 4000), true);
    assert.throws(() => s.markSpent("older", 70_000, 4100, 3999), ChallengeFencedError);
  });
  test("without a fence (the default) nothing is refused for its age", () => {
    const s = new MemorySpentStore();
    assert.equal(s.markSpent("k", 70_000, 6000, 0), true);
  });
});
