/**
 * The HTTP quote source behind the resilient source, against a real HTTP server on 127.0.0.1 port 0
 * (node:http, on Bun and Deno alike) that can be healthy, slow, failing, down or talking junk.
 * Whatever it does, every call must yield a quote.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { createQuoteSource, type QuoteSourcesSpec } from "../../src/shared/quotes/from-config.ts";
import type { Quote } from "../../src/shared/quotes/types.ts";
import { recorder } from "../helpers/quote-recorder.ts";

type Mode = "ok" | "slow" | "500" | "junk" | "fields" | "long";

/** A quote API whose behaviour the test switches; closed (sockets and timers too) by `await using`. */
async function quoteApi(slowMs = 3000) {
  let mode: Mode = "ok";
  let requests = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { "content-type": "application/json", "content-length": new TextEncoder().encode(body).length });
    res.end(body);
  };
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const n = requests;
    switch (mode) {
      case "ok":
        return send(res, 200, JSON.stringify([{ q: `Quote number ${n}.`, a: "The API" }]));
      case "slow": {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) send(res, 200, JSON.stringify([{ q: "Too late.", a: "Slowpoke" }]));
        }, slowMs);
        timers.add(t);
        return;
      }
      case "500":
        return send(res, 500, `{"error":"internal"}`);
      case "junk":
        return send(res, 200, "<html>not json</html>");
      case "fields":
        return send(res, 200, JSON.stringify({ quote: "Wrong shape.", author: "x" }));
      case "long":
        return send(res, 200, JSON.stringify([{ q: "x".repeat(5000), a: "Verbose" }]));
    }
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    url: `http://127.0.0.1:${port}/api/random`,
    name: `http:127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    set mode(m: Mode) {
      mode = m;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}


const spec = (url: string, extra: Record<string, unknown> = {}): QuoteSourcesSpec => ({
  sources: [{ type: "http", url, text_path: "0.q", author_path: "0.a", ...extra }],
});

async function timed(r: Quote | Promise<Quote>): Promise<{ q: Quote; ms: number }> {
  const t0 = performance.now();
  const q = await r;
  return { q, ms: performance.now() - t0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("HTTP quote source on loopback", () => {
  test("a healthy API serves its quotes; the observer names it; a fresh cache answers without a request", async () => {
    await using api = await quoteApi();
    const rec = recorder();
    const src = await createQuoteSource(spec(api.url, { cache_ttl_ms: 60_000 }), { observer: rec.observer });
    try {
      const first = await src.next();
      assert.deepEqual(first, { text: "Quote number 1.", author: "The API", source: api.name });
      const second = src.next();
      assert.ok(!(second instanceof Promise), "served from the cache, synchronously");
      assert.equal((second as Quote).source, api.name);
      for (let i = 0; i < 10; i++) assert.ok(!(src.next() instanceof Promise));
      assert.deepEqual(rec.take().slice(0, 3), [`state ${api.name} closed`, `served ${api.name}`, `served ${api.name}`]);
      await sleep(50);
      assert.equal(api.requests, 1, "a burst within the refresh interval costs the API nothing");
    } finally {
      await src.close();
    }
  });

  test("junk answers (non-JSON, wrong fields, overlong text, 500) still give the client a quote every time", async () => {
    await using api = await quoteApi();
    const rec = recorder();
    const src = await createQuoteSource(spec(api.url, { cache_ttl_ms: 0, breaker_failures: 100 }), { observer: rec.observer });
    try {
      rec.take();
      for (const mode of ["junk", "fields", "long", "500"] as const) {
        api.mode = mode;
        const q = await src.next();
        assert.equal(q.source, "embedded", mode);
        assert.ok(q.text.length > 0);
      }
      assert.deepEqual(rec.take(), [
        `failed ${api.name} invalid`,
        "served embedded",
        `failed ${api.name} invalid`,
        "served embedded",
        `failed ${api.name} invalid`,
        "served embedded",
        `failed ${api.name} error`,
        "served embedded",
      ]);
      api.mode = "ok";
      assert.equal((await src.next()).source, api.name, "back to the API once it answers well");
    } finally {
      await src.close();
    }
  });

  test("an API that is down costs nothing noticeable; its breaker opens after K failures and calls stop", async () => {
    const port = await closedPort();
    const name = `http:127.0.0.1:${port}`;
    const rec = recorder();
    const src = await createQuoteSource(spec(`http://127.0.0.1:${port}/q`, { breaker_failures: 2, breaker_cooldown_ms: 60_000 }), { observer: rec.observer });
    try {
      for (let i = 0; i < 5; i++) {
        const { q, ms } = await timed(src.next());
        assert.equal(q.source, "embedded");
        assert.ok(ms < 1000, `call ${i} took ${ms} ms`);
      }
      assert.deepEqual(rec.take(), [
        `state ${name} closed`,
        `failed ${name} error`,
        "served embedded",
        `state ${name} open`,
        `failed ${name} error`,
        "served embedded",
        ...Array.from({ length: 3 }, () => [`failed ${name} open`, "served embedded"]).flat(),
      ]);
    } finally {
      await src.close();
    }
  });

  test("a slow API costs its timeout once, then the fallback answers at once; recovery after the cool-down", async () => {
    const timeoutMs = 300;
    const cooldownMs = 600;
    await using api = await quoteApi(3000);
    api.mode = "slow";
    const rec = recorder();
    const src = await createQuoteSource(spec(api.url, { timeout_ms: timeoutMs, breaker_failures: 3, breaker_cooldown_ms: cooldownMs }), {
      observer: rec.observer,
    });
    try {
      rec.take();
      // Three clients arrive together while the API hangs: each pays at most the timeout, once.
      const first = await Promise.all([timed(src.next()), timed(src.next()), timed(src.next())]);
      for (const { q, ms } of first) {
        assert.equal(q.source, "embedded");
        assert.ok(ms >= timeoutMs * 0.8 && ms < timeoutMs + 1500, `first calls took ${ms} ms`);
      }
      assert.equal(api.requests, 1, "concurrent callers shared one request");
      const events = rec.take();
      assert.deepEqual(events.slice(0, 2), [`state ${api.name} open`, `failed ${api.name} timeout`], "one timeout opens the breaker");
      assert.ok(events.filter((e) => e === "served embedded").length === 3);

      // Open: the fallback answers at once, without touching the API.
      for (let i = 0; i < 20; i++) {
        const { q, ms } = await timed(src.next());
        assert.equal(q.source, "embedded");
        assert.ok(ms < 100, `while open a call took ${ms} ms`);
      }
      assert.equal(api.requests, 1);
      assert.deepEqual(rec.take().slice(0, 2), [`failed ${api.name} open`, "served embedded"]);

      // Still slow after the cool-down: the trial runs in the background, no client waits for it.
      await sleep(cooldownMs + 50);
      const trial = await timed(src.next());
      assert.equal(trial.q.source, "embedded");
      assert.ok(trial.ms < 100, `the client that triggered the trial waited ${trial.ms} ms`);
      await sleep(timeoutMs + 100);
      assert.equal(api.requests, 2, "one trial request");
      assert.deepEqual(rec.take().filter((e) => e.startsWith("state")), [`state ${api.name} half_open`, `state ${api.name} open`]);

      // The API recovers: after the next cool-down one trial succeeds and the API serves again.
      api.mode = "ok";
      await sleep(cooldownMs + 50);
      assert.equal((await src.next()).source, "embedded", "the trial's client is answered by the fallback");
      await sleep(100);
      assert.deepEqual(src.states(), { [api.name]: "closed" });
      const back = await timed(src.next());
      assert.equal(back.q.source, api.name);
      assert.ok(back.ms < 100, "the trial's quote was cached");
      assert.ok(rec.take().includes(`state ${api.name} closed`));
    } finally {
      await src.close();
    }
  });

  test("without a cache, every call hits the API and each quote is checked", async () => {
    await using api = await quoteApi();
    const src = await createQuoteSource(spec(api.url, { cache_ttl_ms: 0 }));
    try {
      const texts = [];
      for (let i = 0; i < 3; i++) texts.push((await src.next()).text);
      assert.deepEqual(texts, ["Quote number 1.", "Quote number 2.", "Quote number 3."]);
      assert.equal(api.requests, 3);
    } finally {
      await src.close();
    }
  });
});
