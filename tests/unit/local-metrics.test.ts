/**
 * LocalCounter and LocalGauge (src/shared/observe/local-metrics.ts) against prom-client's own Counter
 * and Gauge: the same calls give the same exposition text and the same JSON (what a gate thread sends
 * the main thread to add up), and Metrics without prom-client's registry reports what the registry does.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AggregatorRegistry, Counter, Gauge, type Metric, Registry } from "prom-client";
import { LocalCounter, LocalGauge, type LocalMetric } from "../../src/shared/observe/local-metrics.ts";
import { Metrics } from "../../src/shared/observe/metrics.ts";
import { rngU32 } from "../helpers/rng.ts";

/** Two registries: ours holds the local metrics, theirs prom-client's. */
function pair(): { ours: Registry; theirs: Registry; own: LocalMetric[] } {
  return { ours: new Registry(), theirs: new Registry(), own: [] };
}

describe("LocalCounter and LocalGauge", () => {
  test("write the same text and JSON as prom-client's, with and without labels, through 500 random calls", async () => {
    const r = rngU32(7);
    const { ours, theirs, own } = pair();
    const lc = new LocalCounter({ name: "c_total", help: "A counter.", registers: [own] });
    const ll = new LocalCounter<"reason">({ name: "l_total", help: "A labelled counter.", labelNames: ["reason"], registers: [own] });
    const lg = new LocalGauge({ name: "g", help: "A gauge.", aggregator: "max", registers: [own] });
    const lm = new LocalGauge<"source" | "state">({ name: "m", help: "A gauge with two labels.", labelNames: ["source", "state"], aggregator: "first", registers: [own] });
    for (const m of own) ours.registerMetric(m as unknown as Metric);
    const pc = new Counter({ name: "c_total", help: "A counter.", registers: [theirs] });
    const pl = new Counter({ name: "l_total", help: "A labelled counter.", labelNames: ["reason"], registers: [theirs] });
    const pg = new Gauge({ name: "g", help: "A gauge.", aggregator: "max", registers: [theirs] });
    const pm = new Gauge({ name: "m", help: "A gauge with two labels.", labelNames: ["source", "state"], aggregator: "first", registers: [theirs] });
    assert.equal(await ours.metrics(), await theirs.metrics(), "before any call: the unlabelled ones at 0, no labelled series");
    const reasons = ["timeout", "served", 'a "quoted"\nreason'];
    for (let i = 0; i < 500; i++) {
      const k = r() % 6, x = r() % 1000, reason = reasons[r() % reasons.length]!;
      if (k === 0) (lc.inc(), pc.inc());
      else if (k === 1) (lc.inc(x / 7), pc.inc(x / 7));
      else if (k === 2) (ll.inc({ reason }), pl.inc({ reason }));
      else if (k === 3) (ll.inc({ reason }, x), pl.inc({ reason }, x));
      else if (k === 4) (lg.set(x - 500), pg.set(x - 500));
      else (lm.set({ source: reason, state: String(x % 3) }, x), pm.set({ source: reason, state: String(x % 3) }, x));
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
    for (const m of own) m.reset();
    (pc.reset(), pl.reset(), pg.reset(), pm.reset());
    assert.equal(await ours.metrics(), await theirs.metrics(), "after reset");
  });

  test("run `collect` before each read, as prom-client does, and sum across registries like its own", async () => {
    let n = 3;
    const mk = (own: LocalMetric[]) => new LocalCounter({ name: "c_total", help: "h", registers: [own], collect() {
      this.reset();
      this.inc(n);
    } });
    const a: LocalMetric[] = [], b: LocalMetric[] = [];
    mk(a);
    mk(b);
    n = 5;
    const snap = async (own: LocalMetric[]) => Promise.all(own.map((m) => m.get()));
    const [sa, sb] = [await snap(a), await snap(b)];
    assert.equal(sa[0]!.values[0]!.value, 5);
    const text = await AggregatorRegistry.aggregate([sa, sb] as never).metrics();
    assert.match(text, /^c_total 10$/m);
  });

  test("refuse what prom-client refuses (a counter going down, an unknown label, a non-number) and a missing label, which it allows", async () => {
    const c = new LocalCounter<"reason">({ name: "x_total", help: "h", labelNames: ["reason"] });
    const g = new LocalGauge({ name: "g", help: "h" });
    assert.throws(() => c.inc({ reason: "a" }, -1), RangeError);
    assert.throws(() => c.inc(), /needs its labels/);
    assert.throws(() => c.inc({} as { reason: string }), /missing/);
    assert.throws(() => c.inc({ reason: "a", other: "b" } as { reason: string }), /labels must be/);
    assert.throws(() => g.set({ reason: "a" } as never, 1), /has no labels/);
    assert.throws(() => g.set("1" as unknown as number), TypeError);
    assert.throws(() => new LocalCounter({ name: "y_total", help: "h" }).inc(Infinity), TypeError);
    // NaN, which prom-client's Gauge stores, is stored and written the same.
    const { ours, theirs } = pair();
    ours.registerMetric(g as unknown as Metric);
    new Gauge({ name: "g", help: "h", registers: [theirs] }).set(Number.NaN);
    g.set(Number.NaN);
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /^g Nan$/m); // prom-client's spelling
  });
});

describe("Metrics without prom-client's registry (a gate thread)", () => {
  test("snapshot() gives the JSON that the registry made by the first render gives for the same events", async () => {
    const events = (m: Metrics) => {
      for (let i = 0; i < 4; i++) m.connOpened();
      m.connClosed("served", 12);
      m.connRefused("per_ip");
      m.proofRejected("REPLAY");
      m.frameRejected("BAD_FRAME");
      m.quoteServed("embedded");
      m.difficultyChanged(21);
      m.acceptFailed("EMFILE");
    };
    const info = { version: "t", commit: "t", runtime: "t", defaults: false, thread: 1 };
    const thread = await Metrics.create(info);
    events(thread);
    const local = await thread.snapshot(); // no registry yet: the plain numbers
    const rendered = new Metrics(info);
    events(rendered);
    const text = await rendered.render(); // makes the registry
    assert.match(text, /^wisdom_connections_refused_total\{reason="per_ip"\} 1$/m);
    assert.deepEqual(local, await rendered.snapshot(), "the same metrics, values and aggregators, in the same order");
    assert.throws(() => new Metrics(info).registry, /Metrics.create\(\) or the first render/);
  });
});
