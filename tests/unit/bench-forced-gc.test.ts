/**
 * What the benches read of a gate's forced collections (bench/_forced-gc.ts): the counts by trigger and
 * the loop time from a real /metrics text, and a server's SIGUSR2 line checked before it is used.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { addForcedGc, forcedGcOf, parseForcedGc } from "../../bench/_forced-gc.ts";
import { Metrics } from "../../src/shared/observe/metrics.ts";

describe("bench/_forced-gc.ts", () => {
  test("reads /metrics: each trigger's count and the loop time; a missing series throws", async () => {
    const m = new Metrics({ version: "t", commit: "t", runtime: "t" });
    m.bindGovernor({ budgetBytes: 1, pausedMs: 345.5, byTrigger: { heap: 2, rss: 3, period: 7 } });
    assert.deepEqual(forcedGcOf(await m.render()), { heap: 2, rss: 3, period: 7, ms: 345.5 });
    m.bindGovernor(null);
    assert.deepEqual(forcedGcOf(await m.render()), { heap: 0, rss: 0, period: 0, ms: 0 });
    assert.throws(() => forcedGcOf("wisdom_forced_gc_seconds_total 1\n"), /no wisdom_forced_gc_total\{trigger="heap"\}/);
  });

  test("a SIGUSR2 line: every field a finite number, else a clear error", () => {
    assert.deepEqual(parseForcedGc('{"heap":1,"rss":0,"period":4,"ms":12.5}'), { heap: 1, rss: 0, period: 4, ms: 12.5 });
    for (const bad of ["40123", "", '{"heap":1}', '{"error":"boom"}', '{"heap":1,"rss":0,"period":"4","ms":1}', "null"]) {
      assert.throws(() => parseForcedGc(bad), /forced collections/, bad);
    }
    assert.deepEqual(addForcedGc({ heap: 5, rss: 4, period: 9, ms: 30 }, { heap: 1, rss: 4, period: 2, ms: 10 }, -1), { heap: 4, rss: 0, period: 7, ms: 20 });
  });
});
