/** UpstreamSlots: the guard's queue for upstream connections, by effort, bounded, with a timeout (pure, clock handed in). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { UpstreamSlots } from "../../src/shared/guard/upstream-slots.ts";

function recorder(slots: UpstreamSlots) {
  const events: string[] = [];
  const ask = (name: string, effort: number, now = 0) =>
    slots.request(effort, now, () => events.push(`grant ${name}`), (why) => events.push(`refuse ${name} ${why}`));
  return { events, ask };
}

describe("UpstreamSlots", () => {
  test("grants at once while slots are free, then queues; a release serves the highest effort first, FIFO among equals", () => {
    const slots = new UpstreamSlots({ max: 1, queueMax: 10, queueTimeoutMs: 1000 });
    const { events, ask } = recorder(slots);
    ask("first", 8);
    ask("low", 8);
    ask("high", 14);
    ask("mid-a", 11);
    ask("mid-b", 11);
    assert.deepEqual(events, ["grant first"]);
    assert.equal(slots.waiting, 4);
    for (let i = 0; i < 4; i++) slots.release();
    assert.deepEqual(events, ["grant first", "grant high", "grant mid-a", "grant mid-b", "grant low"]);
  });
  test("while every slot is taken, even the highest effort waits for a release", () => {
    const slots = new UpstreamSlots({ max: 2, queueMax: 10, queueTimeoutMs: 1000 });
    const { events, ask } = recorder(slots);
    ask("a", 1);
    ask("b", 1);
    ask("c", 20); // full: waits even with the most effort
    assert.deepEqual(events, ["grant a", "grant b"]);
    slots.release();
    assert.deepEqual(events, ["grant a", "grant b", "grant c"]);
  });
  test("a full queue refuses a newcomer with no more effort than its least, and evicts the least for one with more", () => {
    const slots = new UpstreamSlots({ max: 1, queueMax: 2, queueTimeoutMs: 1000 });
    const { events, ask } = recorder(slots);
    ask("holder", 0);
    ask("q10", 10);
    ask("q12", 12);
    ask("q10-late", 10); // ties the least: refused
    ask("q9", 9);
    ask("q13", 13); // evicts q10
    assert.deepEqual(events, ["grant holder", "refuse q10-late full", "refuse q9 full", "refuse q10 full"]);
    slots.release();
    assert.deepEqual(events.slice(4), ["grant q13"]);
  });
  test("waiters past the queue timeout are refused by the sweep; a cancelled one is never granted", () => {
    const slots = new UpstreamSlots({ max: 1, queueMax: 10, queueTimeoutMs: 500 });
    const { events, ask } = recorder(slots);
    ask("holder", 0, 0);
    ask("old", 5, 0);
    const gone = ask("gone", 30, 100)!;
    ask("young", 1, 400);
    slots.cancel(gone);
    slots.sweep(499);
    assert.deepEqual(events, ["grant holder"]);
    slots.sweep(500);
    assert.deepEqual(events, ["grant holder", "refuse old timeout"]);
    slots.release();
    assert.deepEqual(events, ["grant holder", "refuse old timeout", "grant young"]);
  });
  test("saturation: 0 without a limit, the share in use, above 1 with a queue; a raised limit serves waiters on sweep", () => {
    assert.equal(new UpstreamSlots({ max: 0, queueMax: 1, queueTimeoutMs: 1 }).saturation(), 0);
    const slots = new UpstreamSlots({ max: 2, queueMax: 10, queueTimeoutMs: 1000 });
    const { events, ask } = recorder(slots);
    ask("a", 0);
    assert.equal(slots.saturation(), 0.5);
    ask("b", 0);
    assert.equal(slots.saturation(), 1);
    ask("c", 0);
    ask("d", 0);
    assert.equal(slots.saturation(), 2);
    slots.spec = { ...slots.spec, max: 4 };
    slots.sweep(0);
    assert.deepEqual(events, ["grant a", "grant b", "grant c", "grant d"]);
    assert.equal(slots.saturation(), 1);
  });
});
