import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ResilientQuoteSource } from "../../src/shared/quotes/resilient.ts";
import { MAX_QUOTE_CHARS, type Quote, QuoteSourceError, type QuoteSource } from "../../src/shared/quotes/types.ts";
import { recorder } from "../helpers/quote-recorder.ts";

/** A source whose behaviour the test sets per call. */
function fake(name: string, behave: () => Quote | Promise<Quote> = () => quote(name)) {
  const src = {
    name,
    calls: 0,
    closed: false,
    behave,
    next() {
      src.calls++;
      return src.behave();
    },
    async close() {
      src.closed = true;
    },
  };
  return src;
}
const quote = (source: string, text = `from ${source}`): Quote => ({ text, author: "A", source });
const fallback = () => fake("fallback");


const sourceOf = async (r: Quote | Promise<Quote>) => (await r).source;

describe("ResilientQuoteSource", () => {
  test("chooses among sources by weight with the injected random()", async () => {
    let r = 0;
    const rs = new ResilientQuoteSource({
      sources: [{ source: fake("a"), weight: 1 }, { source: fake("b"), weight: 3 }],
      fallback: fallback(),
      random: () => r,
    });
    const picks = [];
    for (const x of [0, 0.24, 0.25, 0.99]) {
      r = x;
      picks.push(await sourceOf(rs.next()));
    }
    assert.deepEqual(picks, ["a", "a", "b", "b"]);
  });

  test("reports the initial breaker states, and which source served", async () => {
    const rec = recorder();
    const rs = new ResilientQuoteSource({ sources: [{ source: fake("a") }, { source: fake("b") }], fallback: fallback(), observer: rec.observer, random: () => 0 });
    assert.deepEqual(rec.take(), ["state a closed", "state b closed"]);
    const q = rs.next();
    assert.ok(!(q instanceof Promise), "a synchronous source answers synchronously");
    assert.equal((q as Quote).source, "a");
    assert.deepEqual(rec.take(), ["served a"]);
  });

  test("a throwing source is answered by the fallback and opens after K failures; then it is skipped", async () => {
    const rec = recorder();
    const a = fake("a", () => {
      throw new Error("boom");
    });
    const rs = new ResilientQuoteSource({
      sources: [{ source: a, breaker: { failures: 2, cooldownMs: 1000 } }],
      fallback: fallback(),
      observer: rec.observer,
      now: () => 0,
    });
    rec.take();
    assert.equal(await sourceOf(rs.next()), "fallback");
    assert.equal(await sourceOf(rs.next()), "fallback");
    assert.deepEqual(rec.take(), ["failed a error", "served fallback", "state a open", "failed a error", "served fallback"]);
    assert.equal(await sourceOf(rs.next()), "fallback");
    assert.equal(a.calls, 2, "not called while open");
    assert.deepEqual(rec.take(), ["failed a open", "served fallback"]);
    assert.deepEqual(rs.states(), { a: "open" });
  });

  test("an open source leaves the choice to the others", async () => {
    const a = fake("a", () => {
      throw new Error("down");
    });
    const rs = new ResilientQuoteSource({
      sources: [{ source: a, weight: 100, breaker: { failures: 1, cooldownMs: 1000 } }, { source: fake("b"), weight: 1 }],
      fallback: fallback(),
      random: () => 0,
      now: () => 0,
    });
    assert.equal(await sourceOf(rs.next()), "fallback");
    for (let i = 0; i < 5; i++) assert.equal(await sourceOf(rs.next()), "b");
  });

  test("invalid quotes and QuoteSourceError codes map to reasons", async () => {
    const rec = recorder();
    const answers: (() => Quote | Promise<Quote>)[] = [
      () => ({ text: "", author: "x", source: "a" }),
      () => ({ text: "x".repeat(MAX_QUOTE_CHARS + 1), author: "x", source: "a" }),
      () => ({ text: "ok" }) as unknown as Quote,
      () => Promise.reject(new QuoteSourceError("QUOTE_INVALID", "a", "junk")),
      () => Promise.reject(new QuoteSourceError("QUOTE_UNAVAILABLE", "a", "500")),
      () => Promise.reject(new TypeError("fetch failed")),
    ];
    const a = fake("a");
    const rs = new ResilientQuoteSource({ sources: [{ source: a, breaker: { failures: 100, cooldownMs: 1 } }], fallback: fallback(), observer: rec.observer });
    rec.take();
    for (const answer of answers) {
      a.behave = answer;
      assert.equal(await sourceOf(rs.next()), "fallback");
    }
    assert.deepEqual(rec.take().filter((e) => e.startsWith("failed")), [
      "failed a invalid",
      "failed a invalid",
      "failed a invalid",
      "failed a invalid",
      "failed a error",
      "failed a error",
    ]);
  });

  test("a timeout costs its deadline once, opens the breaker at once, then the fallback answers synchronously", async () => {
    const rec = recorder();
    const a = fake("a", () => new Promise<Quote>(() => {}));
    const rs = new ResilientQuoteSource({
      sources: [{ source: a, timeoutMs: 50, breaker: { failures: 5, cooldownMs: 60_000 } }],
      fallback: fallback(),
      observer: rec.observer,
    });
    rec.take();
    const t0 = performance.now();
    assert.equal(await sourceOf(rs.next()), "fallback");
    const took = performance.now() - t0;
    assert.ok(took >= 45 && took < 1000, `first call took ${took} ms`);
    assert.deepEqual(rec.take(), ["state a open", "failed a timeout", "served fallback"]);
    const second = rs.next();
    assert.ok(!(second instanceof Promise), "no waiting at all once open");
    assert.equal(a.calls, 1);
  });

  test("after the cool-down the trial runs in the background; its success closes the breaker", async () => {
    let t = 0;
    const rec = recorder();
    let release!: (q: Quote) => void;
    const a = fake("a", () => Promise.reject(new QuoteSourceError("QUOTE_UNAVAILABLE", "a", "down")));
    const rs = new ResilientQuoteSource({
      sources: [{ source: a, breaker: { failures: 1, cooldownMs: 1000 } }],
      fallback: fallback(),
      observer: rec.observer,
      now: () => t,
    });
    await rs.next();
    assert.deepEqual(rs.states(), { a: "open" });
    t = 1000;
    a.behave = () => new Promise<Quote>((r) => (release = r));
    rec.take();
    const q = rs.next();
    assert.ok(!(q instanceof Promise), "the client that triggers the trial does not wait for it");
    assert.equal((q as Quote).source, "fallback");
    assert.equal(await sourceOf(rs.next()), "fallback", "others do not pile onto the trial");
    assert.equal(a.calls, 2);
    release(quote("a"));
    a.behave = () => quote("a");
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(rs.states(), { a: "closed" });
    assert.equal(await sourceOf(rs.next()), "a");
    assert.deepEqual(rec.take(), ["state a half_open", "served fallback", "failed a open", "served fallback", "state a closed", "served a"]);
  });

  test("a failed trial reopens the breaker", async () => {
    let t = 0;
    const a = fake("a", () => Promise.reject(new Error("down")));
    const rs = new ResilientQuoteSource({ sources: [{ source: a, breaker: { failures: 1, cooldownMs: 1000 } }], fallback: fallback(), now: () => t });
    await rs.next();
    t = 1000;
    assert.equal(await sourceOf(rs.next()), "fallback");
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(rs.states(), { a: "open" });
  });

  test("a synchronous trial is simply served", async () => {
    let t = 0;
    let fail = true;
    const a = fake("a", () => {
      if (fail) throw new Error("down");
      return quote("a");
    });
    const rs = new ResilientQuoteSource({ sources: [{ source: a, breaker: { failures: 1, cooldownMs: 1000 } }], fallback: fallback(), now: () => t });
    await rs.next();
    t = 1000;
    fail = false;
    assert.equal(await sourceOf(rs.next()), "a");
    assert.deepEqual(rs.states(), { a: "closed" });
  });

  test("rejects only when the fallback fails too", async () => {
    const broken = fake("fallback", () => {
      throw new Error("no quotes");
    });
    const rs = new ResilientQuoteSource({ sources: [{ source: fake("a", () => Promise.reject(new Error("x"))) }], fallback: broken });
    await assert.rejects(Promise.resolve(rs.next()), (err: unknown) => err instanceof QuoteSourceError && err.code === "QUOTE_UNAVAILABLE");
  });

  test("the default fallback is the embedded collection, and with no sources it serves alone", async () => {
    const rs = new ResilientQuoteSource({ sources: [] });
    assert.equal(await sourceOf(rs.next()), "embedded");
  });

  test("a throwing observer does not cost the client its quote", async () => {
    const boom = () => {
      throw new Error("observer");
    };
    const rs = new ResilientQuoteSource({ sources: [{ source: fake("a") }], fallback: fallback(), observer: { served: boom, failed: boom, breakerState: boom } });
    assert.equal(await sourceOf(rs.next()), "a");
  });

  test("rejects duplicate names and non-positive weights; close() closes every source", async () => {
    assert.throws(() => new ResilientQuoteSource({ sources: [{ source: fake("a") }, { source: fake("a") }] }), RangeError);
    assert.throws(() => new ResilientQuoteSource({ sources: [{ source: fake("a"), weight: 0 }] }), RangeError);
    const a = fake("a");
    const fb = fallback();
    await new ResilientQuoteSource({ sources: [{ source: a as QuoteSource }], fallback: fb }).close();
    assert.deepEqual([a.closed, fb.closed], [true, true]);
  });
});
