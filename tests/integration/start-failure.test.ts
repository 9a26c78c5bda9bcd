/** A server whose start fails part-way releases what it had built: nothing is left open or listening. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { MemorySpentStore } from "../../src/shared/store/memory.ts";
import { EmbeddedQuoteSource } from "../../src/shared/quotes/embedded.ts";
import type { QuoteSource } from "../../src/shared/quotes/types.ts";
import { testServer } from "../helpers/server.ts";

/** A port held by another listener, a store and a quote source that record being closed. */
async function setup() {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
  const port = (taken.address() as net.AddressInfo).port;
  const closed: string[] = [];
  const store = new MemorySpentStore({ maxEntries: 1000 });
  const storeClose = store.close.bind(store);
  store.close = async () => {
    closed.push("store");
    await storeClose();
  };
  const embedded = new EmbeddedQuoteSource();
  const quotes: QuoteSource = { name: "spy", next: () => embedded.next(), close: async () => void closed.push("quotes") };
  return { port, closed, extra: { store, quotes }, [Symbol.dispose]: () => void taken.close() };
}

describe("startServer() failing part-way", () => {
  test("a taken metrics port: rejects naming it, and the store, the quote source and the main listener are released", async () => {
    using s = await setup();
    await assert.rejects(testServer({ metrics_listen: `127.0.0.1:${s.port}` }, s.extra), /Cannot listen for metrics on 127\.0\.0\.1:\d+/);
    assert.deepEqual(s.closed.sort(), ["quotes", "store"]);
  });

  test("a taken main port: rejects naming it, and the store and the quote source are released", async () => {
    using s = await setup();
    await assert.rejects(testServer({ listen: `127.0.0.1:${s.port}` }, s.extra), /Cannot listen on 127\.0\.0\.1:\d+/);
    assert.deepEqual(s.closed.sort(), ["quotes", "store"]);
  });

  test("a started server: close() releases the store and the quote source once, and stops listening", async () => {
    using s = await setup();
    const server = await testServer({}, s.extra);
    assert.deepEqual(s.closed, []);
    const first = server.close();
    assert.equal(server.close(), first, "close() twice is one shutdown");
    await first;
    assert.deepEqual(s.closed.sort(), ["quotes", "store"]);
    await assert.rejects(
      new Promise<void>((ok, fail) => {
        const sock = net.connect(server.port, "127.0.0.1", () => (sock.destroy(), ok()));
        sock.on("error", fail);
      }),
      /ECONNREFUSED/,
    );
  });
});
