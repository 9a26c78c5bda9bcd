/**
 * The Prometheus text reader of `wisdom load --metrics` (src/shared/load/prom.ts) against the server's
 * own exposition: a Metrics registry's text parses back to what was observed, and quantile() of the
 * difference of two scrapes follows PromQL's histogram_quantile().
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Metrics } from "../../src/shared/observe/metrics.ts";
import { bucketsDelta, bucketsOf, parseSamples, quantile } from "../../src/shared/load/prom.ts";
import { DIFFICULTY_GAUGE, HANDSHAKE_HISTOGRAM } from "../../src/shared/load/server-watch.ts";

describe("load/prom.ts", () => {
  test("parseSamples() reads the server's handshake histogram and difficulty gauge", async () => {
    const m = new Metrics({ version: "t", commit: "t", runtime: "t" });
    m.difficultyChanged(17);
    for (const ms of [0.5, 3, 3, 40, 700]) m.connClosed("served", ms);
    const s = parseSamples(await m.render());
    assert.equal(s.get(DIFFICULTY_GAUGE), 17);
    const b = bucketsOf(s, HANDSHAKE_HISTOGRAM);
    assert.ok(b, "histogram present");
    assert.equal(b.bounds[b.bounds.length - 1], Infinity);
    assert.deepEqual(b.bounds.slice(0, 3), [0.001, 0.005, 0.01]);
    assert.equal(b.counts[b.counts.length - 1], 5);
    assert.equal(b.counts[0], 1, "0.5 ms is in le=0.001");
    assert.equal(b.counts[1], 3, "3 ms twice more in le=0.005");
  });

  test("parseSamples() skips comments, blanks and junk, and reads +Inf", () => {
    const s = parseSamples('# HELP x y\n\nx 3\nnot a sample\ny{le="+Inf"} +Inf\nz NaN\n');
    assert.deepEqual([...s], [["x", 3], ['y{le="+Inf"}', Infinity]]);
  });

  test("quantile() interpolates inside the bucket, as histogram_quantile() does", () => {
    const b = { bounds: [0.1, 0.2, 0.4, Infinity], counts: [50, 100, 100, 100] };
    assert.equal(quantile(b, 0.5), 0.1);
    assert.ok(Math.abs(quantile(b, 0.75)! - 0.15) < 1e-12);
    assert.equal(quantile(b, 0.99), 0.1 + 0.1 * (99 - 50) / 50);
    assert.equal(quantile({ bounds: [0.1, Infinity], counts: [1, 10] }, 0.99), 0.1, "in +Inf: the highest finite bound");
    assert.equal(quantile({ bounds: [0.1, Infinity], counts: [0, 0] }, 0.99), null, "no observation");
  });

  test("bucketsDelta() keeps only what happened between two scrapes, and survives a counter reset", () => {
    const before = { bounds: [0.1, Infinity], counts: [10, 12] };
    const after = { bounds: [0.1, Infinity], counts: [10, 20] };
    const d = bucketsDelta(before, after);
    assert.deepEqual(d.counts, [0, 8]);
    assert.equal(quantile(d, 0.99), 0.1, "every new observation above 0.1 s");
    assert.deepEqual(bucketsDelta({ bounds: [0.1, Infinity], counts: [30, 40] }, after), after, "a restart counts from zero");
    assert.deepEqual(bucketsDelta(null, after), after);
  });
});
