/** The gate threads' pressure board in a SharedArrayBuffer (store/shared-pressure.ts). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SharedPressureBoard } from "../../src/shared/store/shared-pressure.ts";

const zero = { openConnections: 0, acceptsPerSec: 0, challengesPerSec: 0, failedProofsPerSec: 0, validProofsPerSec: 0, loopDelayMs: 0, sourceSaturation: 0, bits: 0 };

describe("SharedPressureBoard", () => {
  test("every live thread's sample is summed, the worst delay and saturation and the highest difficulty taken", () => {
    const a = SharedPressureBoard.create(3);
    const b = SharedPressureBoard.attach(a.buffer, 1);
    const c = a.forSlot(2);
    b.exchangeNow({ ...zero, openConnections: 10, acceptsPerSec: 100, validProofsPerSec: 5, loopDelayMs: 30, sourceSaturation: 0.2, bits: 22 }, 10_000);
    c.exchangeNow({ ...zero, openConnections: 1, acceptsPerSec: 50, validProofsPerSec: 7, loopDelayMs: 80, sourceSaturation: 0.1, bits: 20 }, 10_000);
    const r = a.exchangeNow({ ...zero, openConnections: 2, challengesPerSec: 9, failedProofsPerSec: 3, bits: 21 }, 10_000);
    assert.equal(r.instances, 3);
    assert.deepEqual(r.aggregate, { openConnections: 13, acceptsPerSec: 150, challengesPerSec: 9, failedProofsPerSec: 3, validProofsPerSec: 12, loopDelayMs: 80, sourceSaturation: 0.2 });
    assert.equal(r.maxBits, 22);
  });

  test("a thread that stopped publishing drops out after the ttl; non-finite values count as 0", async () => {
    const a = SharedPressureBoard.create(2);
    a.forSlot(1).exchangeNow({ ...zero, acceptsPerSec: 1000, bits: 30 }, 50);
    assert.equal(a.exchangeNow({ ...zero, acceptsPerSec: Number.NaN }, 50).aggregate.acceptsPerSec, 1000);
    await new Promise((r) => setTimeout(r, 80));
    const r = a.exchangeNow({ ...zero, acceptsPerSec: Infinity }, 50);
    assert.equal(r.instances, 1);
    assert.equal(r.aggregate.acceptsPerSec, 0);
    assert.equal(r.maxBits, 0);
  });

  test("rejects bad slots and foreign buffers", () => {
    assert.throws(() => SharedPressureBoard.create(0), RangeError);
    assert.throws(() => SharedPressureBoard.attach(SharedPressureBoard.create(2).buffer, 2), RangeError);
    assert.throws(() => SharedPressureBoard.attach(new SharedArrayBuffer(3), 0), TypeError);
  });

  test("a reader never sees a row torn by a thread writing it at the same time", async () => {
    const board = SharedPressureBoard.create(2);
    const stop = new SharedArrayBuffer(4);
    const w = new Worker(new URL("./fixtures/shared-pressure-worker.ts", import.meta.url), { type: "module" });
    try {
      const finished = new Promise<number>((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data as number);
        w.onerror = (e) => (e.preventDefault(), reject(new Error(e.message)));
      });
      w.postMessage({ buffer: board.buffer, stop });
      // Wait for the worker's first row (Deno type-checks the worker first: seconds under load).
      const deadline = performance.now() + 60_000;
      while (board.exchangeNow(zero, 60_000).instances < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      let reads = 0, torn = 0;
      const until = performance.now() + 300;
      while (performance.now() < until) {
        const r = board.exchangeNow(zero, 60_000);
        if (r.instances < 2) continue; // skipped this time: being written on every retry
        reads++;
        const g = r.aggregate;
        const vals = [g.openConnections, g.acceptsPerSec, g.challengesPerSec, g.failedProofsPerSec, g.validProofsPerSec, g.loopDelayMs, g.sourceSaturation, r.maxBits];
        if (vals.some((v) => v !== vals[0])) torn++;
      }
      Atomics.store(new Int32Array(stop), 0, 1);
      const rows = await finished;
      assert.ok(reads > 100 && rows > 1000, `reads ${reads}, rows written ${rows}`);
      assert.equal(torn, 0, `${torn} of ${reads} reads mixed two rows`);
    } finally {
      w.terminate();
    }
  });
});
