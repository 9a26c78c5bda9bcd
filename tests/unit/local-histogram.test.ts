/**
 * LocalHistogram (src/shared/observe/local-histogram.ts) against prom-client's own Histogram: the
 * same observations give the same exposition text, and the counters that read plain numbers at
 * scrape time report what the gate's events counted.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Histogram, type Metric, Registry } from "prom-client";
import { LocalHistogram } from "../../src/shared/observe/local-histogram.ts";
import { Metrics } from "../../src/shared/observe/metrics.ts";
import { rngU32 } from "../helpers/rng.ts";

const BOUNDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

describe("LocalHistogram", () => {
  test("writes the same text as prom-client's Histogram, before and after the same 2,000 observations", async () => {
    const r = rngU32(11);
    const ours = new Registry(), theirs = new Registry();
    const local = new LocalHistogram("h_seconds", "A histogram.", BOUNDS);
    ours.registerMetric(local as unknown as Metric);
    const reference = new Histogram({ name: "h_seconds", help: "A histogram.", buckets: BOUNDS, registers: [theirs] });
    assert.equal(await ours.metrics(), await theirs.metrics(), "before any observation: zero buckets, sum and count");
    for (let i = 0; i < 2000; i++) {
      // Values on both sides of every bound, exact bounds included, and some above the last one.
      const v = i % 10 === 0 ? BOUNDS[i % BOUNDS.length]! : (r() / 2 ** 32) * 8;
      local.observe(v);
      reference.observe(v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
  });

  test("rejects bounds that are not finite and increasing, and ignores non-finite values", async () => {
    assert.throws(() => new LocalHistogram("x", "x", []), RangeError);
    assert.throws(() => new LocalHistogram("x", "x", [1, 1]), RangeError);
    assert.throws(() => new LocalHistogram("x", "x", [1, Infinity]), RangeError);
    const h = new LocalHistogram("x", "x", [1]);
    h.observe(Number.NaN);
    h.observe(0.5);
    const count = (await h.get()).values.find((v) => v.metricName === "x_count")!;
    assert.equal(count.value, 1);
  });
});

describe("Metrics counters read at scrape time", () => {
  test("report what the events counted, by label, and the open gauge follows opens and closes", async () => {
    const m = new Metrics({ version: "t", commit: "t", runtime: "t" });
    for (let i = 0; i < 5; i++) m.connOpened();
    m.connClosed("served", 12);
    m.connClosed("served", 3);
    m.connClosed("timeout", 5000);
    for (let i = 0; i < 4; i++) m.challengeIssued();
    m.proofAccepted(8, 0.02, 150);
    m.quoteServed("embedded");
    m.quoteServed("embedded");
    m.quoteServed("http");
    const text = await m.render();
    const line = (re: RegExp) => assert.match(text, re);
    line(/^wisdom_connections_accepted_total 5$/m);
    line(/^wisdom_connections_open 2$/m);
    line(/^wisdom_connections_closed_total\{reason="served"\} 2$/m);
    line(/^wisdom_connections_closed_total\{reason="timeout"\} 1$/m);
    line(/^wisdom_challenges_issued_total 4$/m);
    line(/^wisdom_proofs_verified_total 1$/m);
    line(/^wisdom_quotes_served_total\{source="embedded"\} 2$/m);
    line(/^wisdom_quotes_served_total\{source="http"\} 1$/m);
    line(/^wisdom_handshake_duration_seconds_count 3$/m);
    line(/^wisdom_handshake_duration_seconds_bucket\{le="0\.005"\} 1$/m);
    line(/^wisdom_handshake_duration_seconds_bucket\{le="0\.05"\} 2$/m);
    line(/^wisdom_handshake_duration_seconds_bucket\{le="5"\} 3$/m);
    line(/^wisdom_handshake_duration_seconds_bucket\{le="10"\} 3$/m);
    // A second scrape reports the same totals (collect() resets before it adds).
    assert.equal(await m.render().then((t) => t.match(/^wisdom_connections_accepted_total .*$/m)?.[0]), "wisdom_connections_accepted_total 5");
  });
});
