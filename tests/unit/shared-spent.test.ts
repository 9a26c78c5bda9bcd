/** The shared-memory spent set (issue 15): semantics on one thread, then real threads racing on it. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SharedSpentSet } from "../../src/shared/store/shared-spent.ts";
import { ChallengeFencedError, StoreUnavailableError } from "../../src/shared/store/types.ts";

const hex = (n: number) => n.toString(16).padStart(8, "0");
const key = (i: number) => hex(Math.imul(i + 1, 0x9e3779b1) >>> 0) + hex(i) + hex(i ^ 0x5a5a5a5a) + hex(7);
const T0 = 1_800_000_000_000;

describe("SharedSpentSet on one thread", () => {
  test("a key is fresh once, then spent; other keys are independent; a second view of the buffer agrees", () => {
    const s = SharedSpentSet.create({ maxEntries: 10_000, maxTtlMs: 60_000, nowMs: T0 });
    assert.equal(s.markSpent(key(1), T0 + 60_000, T0), true);
    assert.equal(s.markSpent(key(1), T0 + 60_000, T0 + 5), false);
    assert.equal(s.markSpent(key(2), T0 + 60_000, T0), true);
    const other = SharedSpentSet.attach(s.buffer);
    assert.equal(other.markSpent(key(1), T0 + 60_000, T0 + 10), false);
    assert.equal(other.markSpent(key(3), T0 + 30_000, T0 + 10), true);
    assert.equal(s.markSpent(key(3), T0 + 30_000, T0 + 20), false);
    assert.equal(s.size(), 3);
  });
  test("stays spent until its expiry, across the generation tables' reuse, and frees space after", () => {
    const s = SharedSpentSet.create({ maxEntries: 600, maxTtlMs: 8_000, nowMs: T0 }); // 8 tables of 2 s, 100 keys each
    const exp = T0 + 7_999;
    assert.equal(s.markSpent(key(9), exp, T0), true);
    // time moves on; other keys reuse the other tables; key 9 stays spent until its expiry
    for (let t = T0; t < exp; t += 500) {
      assert.equal(s.markSpent(key(1000 + t - T0), t + 8_000, t), true);
      assert.equal(s.markSpent(key(9), exp, t), false, `at +${t - T0} ms`);
    }
    // long after, the table that held it is reclaimed for a later generation
    const later = T0 + 100_000;
    for (let i = 0; i < 20; i++) assert.equal(s.markSpent(key(5000 + i), later + 8_000, later), true);
    assert.ok(s.size() < 40, `old generations cleared: ${s.size()}`);
  });
  test("refuses (StoreUnavailableError) when a generation is full, without evicting anything", () => {
    const s = SharedSpentSet.create({ maxEntries: 100, maxTtlMs: 8_000, nowMs: T0 });
    let i = 0;
    for (; i < 10_000; i++) {
      try {
        assert.equal(s.markSpent(key(i), T0 + 8_000, T0), true);
      } catch (err) {
        assert.ok(err instanceof StoreUnavailableError);
        break;
      }
    }
    assert.equal(i, s.perGeneration, "full at its share of maxEntries");
    for (let j = 0; j < i; j++) assert.equal(s.markSpent(key(j), T0 + 8_000, T0 + 1), false, "nothing was evicted");
  });
  test("a prefaulted set (every page touched at creation) keeps its header and works alike", () => {
    const s = SharedSpentSet.create({ maxEntries: 10_000, maxTtlMs: 60_000, nowMs: T0, prefault: true });
    assert.equal(s.markSpent(key(1), T0 + 60_000, T0), true);
    assert.equal(SharedSpentSet.attach(s.buffer).markSpent(key(1), T0 + 60_000, T0), false);
    assert.equal(s.size(), 1);
  });
  test("refuses challenges issued before its fence", () => {
    const s = SharedSpentSet.create({ maxEntries: 100, maxTtlMs: 60_000, nowMs: T0, fenceMs: T0 });
    assert.throws(() => s.markSpent(key(1), T0 + 60_000, T0 + 1, T0 - 1), ChallengeFencedError);
    assert.equal(s.markSpent(key(1), T0 + 60_000, T0 + 1, T0), true);
  });
  test("refuses an expiry further ahead than it covers, and bad keys", () => {
    const s = SharedSpentSet.create({ maxEntries: 100, maxTtlMs: 8_000, nowMs: T0 });
    assert.throws(() => s.markSpent(key(1), T0 + 60_000, T0), StoreUnavailableError);
    assert.throws(() => s.markSpent("abc", T0 + 1000, T0), TypeError);
    assert.throws(() => SharedSpentSet.attach(new SharedArrayBuffer(64)), TypeError);
  });
});

describe("SharedSpentSet storage", () => {
  test("a reused generation table never reaches the old generation's entries (stale links and keys left in place)", () => {
    // 16 buckets: long chains, so the old generation's entries link to each other everywhere
    const s = SharedSpentSet.create({ maxEntries: 3_000, maxTtlMs: 8_000, nowMs: T0, buckets: 16 });
    const w = new Int32Array(s.buffer);
    const [tables, window] = [w[1]!, w[4]!];
    const exp = T0 + 8_000;
    for (let i = 0; i < 400; i++) assert.equal(s.markSpent(key(i), exp, T0), true);
    const stale = s.allocatedBytes();
    // `tables` generations on, the same table holds a new generation; the first 100 entries are written again
    const later = exp + tables * window, now = later - 4_000;
    for (let i = 1000; i < 1100; i++) assert.equal(s.markSpent(key(i), later, now), true);
    assert.ok(s.allocatedBytes() < stale, `the bump pointer started again (${s.allocatedBytes()} < ${stale})`);
    // none of the old keys is found through a stale link or key: each is fresh once, then spent
    for (let i = 0; i < 400; i++) assert.equal(s.markSpent(key(i), later, now), true, `old key ${i} fresh in the new generation`);
    for (let i = 0; i < 400; i++) assert.equal(s.markSpent(key(i), later, now), false);
    for (let i = 1000; i < 1100; i++) assert.equal(s.markSpent(key(i), later, now), false);
  });
  test("the entry area handed out grows with the keys held (20 bytes each plus one open block), not with maxEntries", () => {
    const s = SharedSpentSet.create({ maxEntries: 2_000_000, maxTtlMs: 62_000, nowMs: T0 });
    assert.equal(s.allocatedBytes(), 0);
    assert.equal(s.markSpent(key(0), T0 + 60_000, T0), true);
    assert.ok(s.allocatedBytes() <= 20 * 32, `one key: ${s.allocatedBytes()} bytes`);
    // spread over the live generations (one block open in each)
    for (let i = 1; i < 50_000; i++) assert.equal(s.markSpent(key(i), T0 + 1 + (i % 60_000), T0), true);
    assert.ok(s.allocatedBytes() <= 20 * (50_000 + 8 * 32), `50,000 keys: ${s.allocatedBytes()} bytes`);
    // 333,334 keys a generation in 131,072 buckets of 4 bytes: 512 KB a table, about 2 bytes a key of maxEntries
    assert.equal(s.buckets, 131_072);
    assert.ok(s.directoryBytes <= 2.2 * 2_000_000, `the fixed part is small: ${s.directoryBytes} bytes`);
    assert.ok(s.buffer.byteLength > 20 * 1024 * 1024, "the buffer is sized for maxEntries (committed only as written)");
  });
  test("fewer than 5 generation tables are refused (4 would leave no table to reclaim)", () => {
    assert.throws(() => SharedSpentSet.create({ maxEntries: 1_000, maxTtlMs: 8_000, tables: 4 }), RangeError);
    assert.equal(SharedSpentSet.create({ maxEntries: 1_000, maxTtlMs: 8_000, tables: 5, nowMs: T0 }).markSpent(key(1), T0 + 8_000, T0), true);
  });
  test("by default a full generation has chains of 2 to 4 keys on average, for maxEntries 1,000 to 100,000,000", () => {
    for (const maxEntries of [1_000, 100_000, 2_000_000, 10_000_000, 100_000_000]) {
      const s = SharedSpentSet.create({ maxEntries, maxTtlMs: 62_000, nowMs: T0 });
      const load = s.perGeneration / s.buckets;
      assert.ok(load <= 4 && load > 2, `maxEntries ${maxEntries}: ${s.perGeneration} keys a generation in ${s.buckets} buckets`);
    }
  });
  test("issued() lowers the fence to an earlier issue time for every view, and never raises it", () => {
    const s = SharedSpentSet.create({ maxEntries: 100, maxTtlMs: 60_000, nowMs: T0, fenceMs: T0 });
    const other = SharedSpentSet.attach(s.buffer);
    s.issued(T0 + 5_000); // later than the fence: no change
    assert.equal(other.fenceMs, T0);
    assert.throws(() => s.markSpent(key(1), T0 + 57_000, T0 - 2_000, T0 - 3_000), ChallengeFencedError, "before it is lowered");
    other.issued(T0 - 3_000); // the wall clock stepped back 3 s and this process signed a challenge then (on another thread)
    assert.equal(s.fenceMs, T0 - 3_000);
    assert.equal(s.markSpent(key(1), T0 + 57_000, T0 - 2_000, T0 - 3_000), true, "this process's own challenge");
    assert.throws(() => s.markSpent(key(2), T0 + 57_000, T0 - 2_000, T0 - 3_001), ChallengeFencedError, "still fenced before it");
    s.issued(T0);
    s.issued(Number.NaN);
    assert.equal(other.fenceMs, T0 - 3_000, "never raised");
  });
});

describe("SharedSpentSet when a thread died inside a critical section", () => {
  test("a table still counted as written to cannot be reclaimed: refused within SPIN_MS, never a hang", () => {
    const s = SharedSpentSet.create({ maxEntries: 600, maxTtlMs: 8_000, nowMs: T0 });
    assert.equal(s.markSpent(key(1), T0 + 8_000, T0), true);
    // The layout (shared-spent.ts, the H_ header words): tables at 1, window at 4, base at 5, the lanes at
    // word w[8] with w[9] words each; a lane holds (writers, count) per table.
    const w = new Int32Array(s.buffer);
    const [tables, window, base, lanesAt, laneStride] = [w[1]!, w[4]!, w[5]!, w[8]!, w[9]!];
    const gen = Math.ceil((T0 + 8_000) / window) - base;
    const writers = lanesAt + 40 * laneStride + 2 * (gen % tables); // lane 40: no view holds it here
    Atomics.store(w, writers, 1); // a writer that never left
    const later = T0 + 8_000 + tables * window; // an expiry exactly `tables` generations on: the same table
    const t0 = performance.now();
    assert.throws(() => s.markSpent(key(2), later, later - 4_000), (e: unknown) => e instanceof StoreUnavailableError && /stayed busy/.test((e as Error).message));
    assert.ok(performance.now() - t0 < 1000, "gave up quickly");
    assert.equal(s.markSpent(key(1), T0 + 8_000, T0 + 1), false, "the old generation was left as it was");
    Atomics.store(w, writers, 0);
    assert.equal(s.markSpent(key(2), later, later - 4_000), true, "reclaimed once the writer left");
  });
});

/** 4 workers mark `keys` in `s` at once, each in its own order so they collide everywhere; what each won and was refused. */
async function race(s: SharedSpentSet, keys: string[], expiresAtMs: number, nowMs: number, times?: number[], lag = 0): Promise<{ won: string[][]; refused: string[][] }> {
  const start = new Int32Array(new SharedArrayBuffer(12));
  const url = new URL("./fixtures/shared-spent-worker.ts", import.meta.url);
  const workers = Array.from({ length: 4 }, () => new Worker(url, { type: "module" }));
  const half = keys.length >> 1;
  try {
    const results = workers.map((w, n) => new Promise<{ won: string[]; refused: string[] }>((resolve, reject) => {
      w.onmessage = (e: MessageEvent) => resolve(e.data as { won: string[]; refused: string[] });
      w.onerror = (e) => reject(new Error(String((e as ErrorEvent).message ?? e)));
      // One order, in steps of 200 keys that all workers finish before the next, so the clocks move on together;
      // workers 2 and 3 run `lag` keys behind, on keys the first two have spent.
      if (times) {
        const behind = n < 2 ? 0 : lag;
        return w.postMessage({ buffer: s.buffer, keys: keys.slice(0, keys.length - behind), times, start, step: 200, parties: workers.length, lagSteps: behind / 200 });
      }
      const order = n % 2 === 0 ? keys : [...keys].reverse();
      w.postMessage({ buffer: s.buffer, keys: n < 2 ? order : [...order.slice(half), ...order.slice(0, half)], expiresAtMs, nowMs, start });
    }));
    // Deno type-checks each worker module as it starts (10-20 s on this VM under load): a generous bound.
    const deadline = performance.now() + 90_000;
    while (Atomics.load(start, 1) < workers.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(Atomics.load(start, 1), workers.length, "all workers ready");
    Atomics.store(start, 0, 1);
    const out = await Promise.all(results);
    return { won: out.map((o) => o.won), refused: out.map((o) => o.refused) };
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** After a race with no refusal: every key won by exactly one worker, and every worker won some. */
function assertEachWonOnce(s: SharedSpentSet, keys: string[], won: string[][], refused: string[][]): void {
  const all = won.flat();
  assert.equal(refused.flat().length, 0);
  assert.equal(all.length, keys.length, `wins per worker: ${won.map((w) => w.length).join(",")}`);
  assert.equal(new Set(all).size, keys.length, "no key won twice");
  assert.equal(s.size(), keys.length);
  assert.ok(won.every((w) => w.length > 0), "every worker won some: they really raced");
}

describe("SharedSpentSet raced by threads", () => {
  test("4 workers each mark the same 20,000 keys at once: every key is won exactly once", async () => {
    const s = SharedSpentSet.create({ maxEntries: 1_000_000, maxTtlMs: 60_000, nowMs: T0 });
    const keys = Array.from({ length: 20_000 }, (_, i) => key(i));
    const { won, refused } = await race(s, keys, T0 + 60_000, T0);
    assertEachWonOnce(s, keys, won, refused);
    assert.ok(s.allocatedBytes() <= 20 * (keys.length + 5 * 32), `entry area: ${s.allocatedBytes()} bytes for ${keys.length} keys`);
  });
  test("4 workers on 8 buckets (chains of ~500, every insert races at a tail): every key is won exactly once", async () => {
    const s = SharedSpentSet.create({ maxEntries: 100_000, maxTtlMs: 60_000, nowMs: T0, buckets: 8 });
    const keys = Array.from({ length: 4_000 }, (_, i) => key(i));
    const { won, refused } = await race(s, keys, T0 + 60_000, T0);
    assertEachWonOnce(s, keys, won, refused);
    for (const k of keys) assert.equal(s.markSpent(k, T0 + 60_000, T0 + 1), false);
  });
  test("4 workers through 100 generations (every table reclaimed under them), 2 a table cycle behind replaying the others' keys: none won twice", async () => {
    const s = SharedSpentSet.create({ maxEntries: 60_000, maxTtlMs: 8_000, nowMs: T0, buckets: 64 }); // 8 tables of 2 s
    const keys = Array.from({ length: 40_000 }, (_, i) => key(i));
    const times = keys.flatMap((_, i) => {
      const now = T0 + i * 5; // 200 s in all
      return [now + 1_000 + (i % 7_000), now];
    });
    // 3,200 keys = 16 s = 8 generations: the laggards insert into generation g of a table as the others take it to g + 8
    const { won, refused } = await race(s, keys, 0, 0, times, 3_200);
    const all = won.flat();
    assert.equal(new Set(all).size, all.length, "no key won twice");
    assert.equal(won[2]!.length + won[3]!.length, 0, "the laggards won nothing: every key they try was spent (or its table reused)");
    assert.ok(refused[2]!.length + refused[3]!.length > 0, "the laggards met reclaimed tables");
    const decided = new Set([...won[0]!, ...won[1]!, ...refused[0]!, ...refused[1]!]);
    assert.equal(decided.size, keys.length, "the first two decided every key");
    assert.ok(won[0]!.length > 0 && won[1]!.length > 0, `the first two really raced: ${won[0]!.length}, ${won[1]!.length}`);
    const end = T0 + (keys.length - 1) * 5;
    let live = 0;
    for (let i = 0; i < keys.length; i++) {
      if (times[2 * i]! <= end) continue;
      live++;
      assert.equal(s.markSpent(keys[i]!, times[2 * i]!, end), false, `key ${i} still spent at the end`);
    }
    assert.ok(live >= 500, `${live} keys still live at the end`);
  });
  test("4 workers fill a generation past its share: refused beyond it, nothing won twice or evicted", async () => {
    const s = SharedSpentSet.create({ maxEntries: 12_000, maxTtlMs: 60_000, nowMs: T0 });
    const per = s.perGeneration; // 2,000 with a block of 31 entries per thread
    const keys = Array.from({ length: 3 * per }, (_, i) => key(i));
    const { won, refused } = await race(s, keys, T0 + 60_000, T0);
    const all = won.flat();
    assert.equal(new Set(all).size, all.length, "no key won twice");
    assert.ok(all.length <= per && all.length >= per - 4 * 32, `won ${all.length} of a share of ${per}`);
    assert.ok(refused.flat().length > 0, "refused once full");
    assert.equal(s.size(), all.length);
    for (const k of all) assert.equal(s.markSpent(k, T0 + 60_000, T0 + 1), false, "nothing was evicted");
    const lost = keys.filter((k) => !all.includes(k)).slice(0, 50);
    for (const k of lost) assert.throws(() => s.markSpent(k, T0 + 60_000, T0 + 1), StoreUnavailableError);
  });
});

describe("SharedSpentSet sizing", () => {
  test("the largest spent_max_entries (100,000,000) fits: the buffer is reserved, not resident", () => {
    const s = SharedSpentSet.create({ maxEntries: 100_000_000, maxTtlMs: 62_000, nowMs: T0 });
    assert.equal(s.markSpent(key(1), T0 + 60_000, T0), true);
    assert.equal(s.markSpent(key(1), T0 + 60_000, T0), false);
    assert.ok(s.allocatedBytes() <= 20 * 32);
  });
});
