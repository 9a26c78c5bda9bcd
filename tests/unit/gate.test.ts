import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Gate, type Redemption } from "../../src/shared/gate/gate.ts";
import { FixedDifficulty } from "../../src/shared/gate/types.ts";
import { KeyRing } from "../../src/shared/pow/keys.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference as solve } from "../../src/shared/pow/hashcash.ts";
import { FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage } from "../../src/shared/protocol/messages.ts";
import { MemorySpentStore as MemoryStore } from "../../src/shared/store/memory.ts";
import { ChallengeFencedError, type SpentStore, StoreUnavailableError } from "../../src/shared/store/types.ts";
import type { Quote, QuoteSource } from "../../src/shared/quotes/types.ts";
import { bytesToHex } from "@noble/hashes/utils.js";

function gateWith(quotes: QuoteSource): Gate {
  return new Gate({
    ring: new KeyRing([{ id: "t", secret: new TextEncoder().encode("gate-unit-test-secret-0123") }]),
    store: new MemoryStore(),
    quotes,
    policy: new FixedDifficulty(2),
    settings: { timeouts: { firstByteMs: 1000, frameMs: 1000, handshakeMs: 5000 }, ttlMs: 60_000, skewMs: 1000, maxTtlMs: 600_000, maxPayload: 4096 },
  });
}

function handshake(g: Gate): { quote: string; author: string } {
  const ch = g.issue("127.0.0.1");
  const counter = bytesToHex(encodeCounter(solve(challengePrefix(ch), ch.bits)));
  const r = g.redeem({ challenge: ch, counter }, "127.0.0.1");
  assert.ok(!(r instanceof Promise) && r.ok, "redeemed");
  const [f] = new FrameDecoder().push(r.frame);
  const m = decodeMessage(f!);
  assert.equal(m.type, MessageType.Quote);
  return m.body as { quote: string; author: string };
}

describe("Gate quote frames", () => {
  test("a quote object served again gives the same quote; each quote object its own (frames kept per object)", () => {
    const a: Quote = { text: "First.", author: "A", source: "embedded" };
    const b: Quote = { text: "Second, with ünïcode.", author: "B", source: "embedded" };
    const order = [a, b, a, a, b, { text: "Third.", author: "C", source: "embedded" }];
    let i = 0;
    const g = gateWith({ name: "list", next: () => order[i++]! });
    const got = order.map(() => handshake(g));
    assert.deepEqual(got.map((q) => q.quote), ["First.", "Second, with ünïcode.", "First.", "First.", "Second, with ünïcode.", "Third."]);
    assert.deepEqual(got.map((q) => q.author), ["A", "B", "A", "A", "B", "C"]);
  });
  test("a source that returns something other than a quote object gets INTERNAL, never a Quote frame (and no throw)", () => {
    for (const bad of ["a plain string", null, 42, {}, { text: 1, author: "A", source: "s" }, { text: "T", author: null, source: "s" }, { text: "T", author: "A" }]) {
      const g = gateWith({ name: "broken", next: () => bad as unknown as Quote });
      const ch = g.issue("127.0.0.1");
      const counter = bytesToHex(encodeCounter(solve(challengePrefix(ch), ch.bits)));
      const r = g.redeem({ challenge: ch, counter }, "127.0.0.1") as Redemption;
      assert.equal(r.ok, false, JSON.stringify(bad));
      assert.equal((r as { code: string }).code, "INTERNAL", JSON.stringify(bad));
    }
  });
  test("a quote too long for a frame is INTERNAL, every time (a failed encoding is not kept)", () => {
    const long: Quote = { text: "x".repeat(5000), author: "L", source: "embedded" };
    const g = gateWith({ name: "long", next: () => long });
    for (let k = 0; k < 2; k++) {
      const ch = g.issue("127.0.0.1");
      const counter = bytesToHex(encodeCounter(solve(challengePrefix(ch), ch.bits)));
      const r = g.redeem({ challenge: ch, counter }, "127.0.0.1");
      assert.ok(!(r instanceof Promise) && !r.ok && r.code === "INTERNAL");
    }
  });
});

describe("Gate nonces (the default random source)", () => {
  test("every challenge gets its own nonce, across refills of the random pool, and earlier nonces do not change", () => {
    const g = gateWith({ name: "one", next: () => ({ text: "q", author: "a", source: "embedded" }) } as unknown as QuoteSource);
    const issued = Array.from({ length: 700 }, () => g.issue("127.0.0.1")); // 700 x 16 bytes: two refills of a 4 KiB pool
    const nonces = issued.map((c) => c.nonce);
    assert.equal(new Set(nonces).size, nonces.length, "no nonce repeats");
    for (const n of nonces) assert.match(n, /^[0-9a-f]{32}$/);
    assert.ok(!nonces.includes("0".repeat(32)), "no nonce is cut from unfilled memory");
    // Each challenge still verifies: its nonce is the one that was signed.
    for (const ch of issued.slice(0, 40).concat(issued.slice(-40))) {
      const counter = bytesToHex(encodeCounter(solve(challengePrefix(ch), ch.bits)));
      const r = g.redeem({ challenge: ch, counter }, "127.0.0.1");
      assert.ok(!(r instanceof Promise) && r.ok, "redeemed");
    }
  });
});

describe("Gate: a refused Solution spends nothing", () => {
  test("forged Solutions for a victim's challenge (wrong work, tampered fields, another address) do not burn it", () => {
    const store = new MemoryStore();
    const g = new Gate({
      ring: new KeyRing([{ id: "t", secret: new TextEncoder().encode("gate-unit-test-secret-0123") }]),
      store, quotes: { name: "one", next: () => ({ text: "Q.", author: "A", source: "embedded" }) }, policy: new FixedDifficulty(6),
      settings: { timeouts: { firstByteMs: 1000, frameMs: 1000, handshakeMs: 5000 }, ttlMs: 60_000, skewMs: 1000, maxTtlMs: 600_000, maxPayload: 4096 },
    });
    const ch = g.issue("127.0.0.1");
    const prefix = challengePrefix(ch);
    const good = solve(prefix, ch.bits);
    let bad = 0;
    while (solve(prefix, ch.bits, bad, 1) === bad) bad++;
    const code = (r: Redemption | Promise<Redemption>): string => {
      assert.ok(!(r instanceof Promise));
      return r.ok ? "QUOTE" : r.code;
    };
    const hex = (n: number) => bytesToHex(encodeCounter(n));
    assert.equal(code(g.redeem({ challenge: ch, counter: hex(bad) }, "127.0.0.1")), "INSUFFICIENT_WORK");
    assert.equal(code(g.redeem({ challenge: { ...ch, bits: 0 }, counter: hex(bad) }, "127.0.0.1")), "BAD_SIGNATURE");
    assert.equal(code(g.redeem({ challenge: ch, counter: hex(good) }, "127.0.0.2")), "WRONG_ADDRESS");
    assert.equal(store.size(), 0, "nothing was marked spent");
    assert.equal(code(g.redeem({ challenge: ch, counter: hex(good) }, "127.0.0.1")), "QUOTE", "the victim's proof still gets its quote");
    assert.equal(code(g.redeem({ challenge: ch, counter: hex(good) }, "127.0.0.1")), "REPLAY");
  });
});

describe("Gate: a store that cannot answer", () => {
  test("a full or failing spent store answers BUSY, never a quote (sync and async)", async () => {
    const mk = (store: ConstructorParameters<typeof Gate>[0]["store"]) => new Gate({
      ring: new KeyRing([{ id: "t", secret: new TextEncoder().encode("gate-unit-test-secret-0123") }]),
      store, quotes: { name: "one", next: () => ({ text: "Q.", author: "A", source: "embedded" }) }, policy: new FixedDifficulty(2),
      settings: { timeouts: { firstByteMs: 1000, frameMs: 1000, handshakeMs: 5000 }, ttlMs: 60_000, skewMs: 1000, maxTtlMs: 600_000, maxPayload: 4096 },
    });
    const proof = (g: Gate) => {
      const ch = g.issue("127.0.0.1");
      return { challenge: ch, counter: bytesToHex(encodeCounter(solve(challengePrefix(ch), ch.bits))) };
    };
    const full = mk(new MemoryStore({ maxEntries: 1 }));
    const first = full.redeem(proof(full), "127.0.0.1");
    assert.ok(!(first instanceof Promise) && first.ok);
    const second = full.redeem(proof(full), "127.0.0.1");
    assert.ok(!(second instanceof Promise) && !second.ok && second.code === "BUSY");
    const down = { name: "down", markSpent: () => Promise.reject(new StoreUnavailableError("Redis spent set at redis+sentinel://10.0.0.5:26379/main/0 did not answer")), size: () => 0, healthy: () => false, close: async () => {} };
    const g = mk(down);
    const r = await g.redeem(proof(g), "127.0.0.1");
    assert.ok(!r.ok && r.code === "BUSY");
    const text = new TextDecoder().decode(r.frame);
    assert.doesNotMatch(text, /10\.0\.0\.5|sentinel|redis/i, "the store's servers are not told to clients");
  });
});

describe("Gate and a fenced store", () => {
  /** A store fenced at `fenceMs` (as the Redis store after a failover): older challenges are refused. */
  function fencedStore(fenceMs: number): SpentStore & { seen: number[] } {
    const inner = new MemoryStore();
    const seen: number[] = [];
    return {
      name: "fenced",
      seen,
      markSpent(key, exp, now, iat) {
        seen.push(iat);
        if (iat < fenceMs) throw new ChallengeFencedError(fenceMs);
        return inner.markSpent(key, exp, now);
      },
      size: () => inner.size(),
      healthy: () => true,
      close: () => inner.close(),
    };
  }

  test("a proof of a challenge issued before the fence gets EXPIRED (retry with a fresh one), never a quote, and is not a failed proof", () => {
    let now = 1_000_000;
    const store = fencedStore(1_000_500);
    const rejected: string[] = [];
    const refused: string[] = [];
    const g = new Gate({
      ring: new KeyRing([{ id: "t", secret: new TextEncoder().encode("gate-unit-test-secret-0123") }]),
      store,
      quotes: { name: "one", next: () => ({ text: "Q.", author: "A", source: "embedded" }) },
      policy: new FixedDifficulty(2),
      settings: { timeouts: { firstByteMs: 1000, frameMs: 1000, handshakeMs: 5000 }, ttlMs: 60_000, skewMs: 1000, maxTtlMs: 600_000, maxPayload: 4096 },
      observer: { proofRejected: (c) => void rejected.push(c), connRefused: (r) => void refused.push(r) },
      now: () => now,
    });
    const solveFor = (ch: ReturnType<Gate["issue"]>) => ({ challenge: ch, counter: bytesToHex(encodeCounter(solve(challengePrefix(ch), ch.bits))) });
    const old = solveFor(g.issue("127.0.0.1"));
    now = 1_000_600;
    const r = g.redeem(old, "127.0.0.1") as Redemption;
    assert.equal(r.ok, false);
    assert.equal((r as { code: string }).code, "EXPIRED");
    const m = decodeMessage(new FrameDecoder().push(r.frame)[0]!);
    assert.equal(m.type, MessageType.Error);
    assert.match((m.body as { message: string }).message, /before the shared store's last change of server/);
    assert.deepEqual(store.seen, [1_000_000], "the store is given the challenge's issue time");
    assert.deepEqual(rejected, [], "not counted as a failed proof (that would raise the difficulty after every failover)");
    assert.deepEqual(refused, ["store_fenced"]);
    // A fresh challenge, issued after the fence, is served; and its replay is REPLAY.
    const fresh = solveFor(g.issue("127.0.0.1"));
    assert.equal((g.redeem(fresh, "127.0.0.1") as Redemption).ok, true);
    assert.equal((g.redeem(fresh, "127.0.0.1") as { code: string }).code, "REPLAY");
  });
});
