/** HttpQuoteSource with an injected fetch and clock: paths, validation, the cache. Real sockets: tests/integration/quotes-http.test.ts. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HttpQuoteSource, type HttpQuoteSourceOptions } from "../../src/shared/quotes/http.ts";
import { parsePath, valueAt } from "../../src/shared/quotes/json-path.ts";
import { MAX_AUTHOR_CHARS, MAX_QUOTE_CHARS, type Quote, QuoteSourceError } from "../../src/shared/quotes/types.ts";

type Answer = () => Response | Promise<Response>;

/** A fetch that answers from `answers` in turn (the last one repeats) and records its calls. */
function fakeFetch(...answers: Answer[]) {
  const calls: { url: string; init?: RequestInit }[] = [];
  const f = ((url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init });
    return Promise.resolve(answers[Math.min(calls.length - 1, answers.length - 1)]!());
  }) as typeof fetch;
  return { f, calls };
}
const json = (body: unknown, status = 200) => () => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const zen = (q: string, a = "Someone") => json([{ q, a, h: "<blockquote>...</blockquote>" }]);

function source(f: typeof fetch, extra: Partial<HttpQuoteSourceOptions> = {}) {
  let t = 0;
  const src = new HttpQuoteSource({ url: "http://quotes.test/api/random", textPath: "0.q", authorPath: "0.a", fetch: f, now: () => t, random: () => 0, ...extra });
  return { src, at: (ms: number) => void (t = ms) };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

async function errorOf(p: Quote | Promise<Quote>): Promise<QuoteSourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof QuoteSourceError, String(err));
    return err;
  }
  assert.fail("expected a QuoteSourceError");
}

describe("JSON paths", () => {
  test("parsePath() takes dots and [n] indexes, and rejects empty segments", () => {
    assert.deepEqual(parsePath("0.q"), ["0", "q"]);
    assert.deepEqual(parsePath("data.quote.text"), ["data", "quote", "text"]);
    assert.deepEqual(parsePath("items[2].text"), ["items", "2", "text"]);
    assert.deepEqual(parsePath("[0].q"), ["0", "q"]);
    for (const bad of ["", " ", "a..b", ".a", "a."]) assert.throws(() => parsePath(bad), RangeError, bad);
  });
  test("valueAt() walks objects and arrays, own keys only", () => {
    const data = { data: { items: [{ text: "x" }] }, arr: ["a", "b"] };
    assert.equal(valueAt(data, parsePath("data.items.0.text")), "x");
    assert.equal(valueAt(data, parsePath("arr.1")), "b");
    assert.equal(valueAt(data, parsePath("arr.length")), undefined);
    assert.equal(valueAt(data, parsePath("data.constructor")), undefined);
    assert.equal(valueAt(data, parsePath("data.items.5.text")), undefined);
    assert.equal(valueAt("str", parsePath("0")), undefined);
  });
});

describe("HttpQuoteSource answers", () => {
  test("a good answer becomes a quote named http:<host>; the request asks for JSON with the configured headers", async () => {
    const { f, calls } = fakeFetch(zen("  Know thyself. ", "Socrates"));
    const { src } = source(f, { headers: { "x-api-key": "k" } });
    assert.deepEqual(await src.next(), { text: "Know thyself.", author: "Socrates", source: "http:quotes.test" });
    assert.equal(calls[0]!.url, "http://quotes.test/api/random");
    const h = calls[0]!.init!.headers as Record<string, string>;
    assert.deepEqual([h.accept, h["x-api-key"]], ["application/json", "k"]);
    assert.ok(calls[0]!.init!.signal instanceof AbortSignal);
  });

  test("a missing or null author reads as Unknown; without authorPath every author is Unknown", async () => {
    assert.equal((await source(fakeFetch(json([{ q: "x", a: null }])).f).src.next()).author, "Unknown");
    assert.equal((await source(fakeFetch(json([{ q: "x" }])).f).src.next()).author, "Unknown");
    assert.equal((await source(fakeFetch(zen("x", "Y")).f, { authorPath: undefined }).src.next()).author, "Unknown");
  });

  const bad: [string, Answer, QuoteSourceError["code"], RegExp][] = [
    ["status 500", json({ error: "x" }, 500), "QUOTE_UNAVAILABLE", /status 500/],
    ["status 404", json({ error: "x" }, 404), "QUOTE_UNAVAILABLE", /status 404/],
    ["status 204", () => new Response(null, { status: 204 }), "QUOTE_UNAVAILABLE", /status 204/],
    ["not JSON", () => new Response("<html>oops</html>"), "QUOTE_INVALID", /not JSON/],
    ["nothing at the text path", json({ quote: "x" }), "QUOTE_INVALID", /nothing at text path "0.q"/],
    ["a number for the text", json([{ q: 5, a: "x" }]), "QUOTE_INVALID", /text must be a string, not number/],
    ["an object for the author", json([{ q: "x", a: { name: "y" } }]), "QUOTE_INVALID", /author must be a string, not object/],
    ["an empty text", json([{ q: "  ", a: "x" }]), "QUOTE_INVALID", /text is empty/],
    ["an overlong text", zen("x".repeat(MAX_QUOTE_CHARS + 1)), "QUOTE_INVALID", /over the limit of 1000/],
    ["an overlong author", zen("x", "a".repeat(MAX_AUTHOR_CHARS + 1)), "QUOTE_INVALID", /over the limit of 120/],
    ["a body over the limit", () => new Response(JSON.stringify([{ q: "x".repeat(3000), a: "y" }])), "QUOTE_INVALID", /exceeds the limit of 2048/],
    ["a declared body over the limit", () => new Response("[]", { headers: { "content-length": "100000" } }), "QUOTE_INVALID", /100000 bytes exceeds/],
  ];
  for (const [what, answer, code, message] of bad) {
    test(`rejects ${what} with ${code}`, async () => {
      const { src } = source(fakeFetch(answer).f, { maxBodyBytes: 2048 });
      const err = await errorOf(src.next());
      assert.equal(err.code, code);
      assert.equal(err.source, "http:quotes.test");
      assert.match(err.message, message);
    });
  }

  test("a network failure is QUOTE_UNAVAILABLE with the cause", async () => {
    const f = (() => Promise.reject(new TypeError("connection refused"))) as typeof fetch;
    const err = await errorOf(source(f).src.next());
    assert.equal(err.code, "QUOTE_UNAVAILABLE");
    assert.match(err.message, /connection refused/);
    assert.ok(err.cause instanceof TypeError);
  });

  test("a fetch that never answers is QUOTE_TIMEOUT after timeoutMs, and its request is aborted", async () => {
    let signal: AbortSignal | undefined;
    const f = ((_u: unknown, init?: RequestInit) => ((signal = init?.signal ?? undefined), new Promise<Response>(() => {}))) as typeof fetch;
    const t0 = performance.now();
    const err = await errorOf(source(f, { timeoutMs: 50 }).src.next());
    assert.equal(err.code, "QUOTE_TIMEOUT");
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(signal?.aborted, true);
  });

  test("rejects a bad url, path or limits at construction", () => {
    const f = fakeFetch(zen("x")).f;
    assert.throws(() => new HttpQuoteSource({ url: "ftp://x/", textPath: "q", fetch: f }), RangeError);
    assert.throws(() => new HttpQuoteSource({ url: "not a url", textPath: "q", fetch: f }), TypeError);
    assert.throws(() => new HttpQuoteSource({ url: "http://x/", textPath: "a..b", fetch: f }), RangeError);
    assert.throws(() => new HttpQuoteSource({ url: "http://x/", textPath: "q", cacheSize: 0, fetch: f }), RangeError);
  });
});

describe("HttpQuoteSource cache", () => {
  test("while fresh, next() answers synchronously and tops the cache up in the background, one fetch at a time", async () => {
    let n = 0;
    const { f, calls } = fakeFetch(() => zen(`q${n++}`)());
    const { src, at } = source(f, { cacheSize: 3, cacheTtlMs: 10_000, refreshIntervalMs: 100 });
    assert.equal((await src.next()).text, "q0", "a cold cache waits for one fetch");
    const q = src.next();
    assert.ok(!(q instanceof Promise), "a fresh cache answers at once");
    assert.equal(calls.length, 1, "the interval has not passed: no refresh yet");
    at(100);
    src.next();
    src.next();
    assert.equal(calls.length, 2, "one background fetch, not one per call");
    await tick();
    assert.equal(src.cached, 2);
    at(200);
    src.next();
    await tick();
    at(300);
    src.next();
    await tick();
    assert.equal(src.cached, 3);
    assert.equal(calls.length, 3, "full and young: no more fetches");
  });

  test("refreshes ahead once the oldest entry is past half its TTL, dropping the oldest", async () => {
    let n = 0;
    const { f, calls } = fakeFetch(() => zen(`q${n++}`)());
    const { src, at } = source(f, { cacheSize: 1, cacheTtlMs: 1000, refreshIntervalMs: 0 });
    await src.next();
    at(499);
    assert.equal((src.next() as Quote).text, "q0");
    assert.equal(calls.length, 1);
    at(500);
    assert.equal((src.next() as Quote).text, "q0", "still served while the refresh runs");
    await tick();
    assert.equal(calls.length, 2);
    assert.equal((src.next() as Quote).text, "q1");
    assert.equal(src.cached, 1);
  });

  test("expired entries are dropped; an empty cache makes concurrent callers share one fetch", async () => {
    let n = 0;
    const { f, calls } = fakeFetch(() => zen(`q${n++}`)());
    const { src, at } = source(f, { cacheTtlMs: 1000 });
    await src.next();
    at(1000);
    assert.equal(src.cached, 0);
    const [a, b, c] = await Promise.all([src.next(), src.next(), src.next()]);
    assert.deepEqual([a.text, b.text, c.text], ["q1", "q1", "q1"]);
    assert.equal(calls.length, 2);
  });

  test("an API that repeats itself refreshes its entry instead of filling the cache with copies", async () => {
    const { f } = fakeFetch(zen("same"));
    const { src, at } = source(f, { cacheSize: 5, refreshIntervalMs: 0 });
    await src.next();
    for (let i = 1; i <= 3; i++) {
      at(i);
      src.next();
      await tick();
    }
    assert.equal(src.cached, 1);
  });

  test("background failures go to onBackgroundError and keep the cache", async () => {
    const errors: string[] = [];
    const { f } = fakeFetch(zen("ok"), json({}, 503));
    const { src, at } = source(f, { cacheSize: 5, refreshIntervalMs: 0, onBackgroundError: (e) => errors.push(e.code) });
    await src.next();
    at(1);
    assert.equal((src.next() as Quote).text, "ok");
    await tick();
    await tick();
    assert.deepEqual(errors, ["QUOTE_UNAVAILABLE"]);
    assert.equal(src.cached, 1);
  });

  test("cacheTtlMs 0 fetches on every call", async () => {
    const { f, calls } = fakeFetch(zen("x"));
    const { src } = source(f, { cacheTtlMs: 0 });
    await src.next();
    await src.next();
    assert.equal(calls.length, 2);
  });

  test("close() aborts the request in flight and later calls reject", async () => {
    let signal: AbortSignal | undefined;
    const f = ((_u: unknown, init?: RequestInit) =>
      new Promise<Response>((_r, reject) => {
        signal = init!.signal!;
        signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      })) as typeof fetch;
    const { src } = source(f, { timeoutMs: 10_000 });
    const pending = src.next();
    await src.close();
    assert.equal(signal?.aborted, true);
    assert.equal((await errorOf(pending)).code, "QUOTE_UNAVAILABLE");
    assert.equal((await errorOf(src.next())).code, "QUOTE_UNAVAILABLE");
  });
});
