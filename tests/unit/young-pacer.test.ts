/**
 * youngPacer (src/shared/runtime/young-pacer.ts): on Bun, every `every`th tick asks JavaScriptCore for a
 * collection (an eden one, as its GC log shows: BUN_JSC_logGC=1, in a process of its own so this runner's
 * collections stay out of it, and with Bun's own GC timer off, BUN_GC_TIMER_DISABLE=1, so that nothing
 * else asks for one); fewer ticks ask for none. Elsewhere there is no pacer. Bad paces are refused.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect } from "node:net";
import { GATE_YOUNG_EVERY, youngPacer } from "../../src/shared/runtime/young-pacer.ts";
import { testServer, waitFor } from "../helpers/server.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const pacer = fileURLToPath(new URL("../../src/shared/runtime/young-pacer.ts", import.meta.url));

/** Collections JavaScriptCore logs (eden, and any kind) in a Bun process after `ticks` ticks of a pacer of 100 (little allocation meanwhile). */
function edenAfter(ticks: number): { eden: number; any: number; asked: number } {
  const script = `
    import { youngPacer } from ${JSON.stringify(pacer)};
    const p = youngPacer(100);
    await new Promise((r) => setTimeout(r, 100)); // start-up's own collections are over
    console.error("--- ticks");
    for (let i = 0; i < ${ticks}; i++) p.tick();
    await new Promise((r) => setTimeout(r, 200)); // a requested collection runs soon after, on this thread
    console.error("--- end");
    console.log(JSON.stringify({ asked: p.collections }));
  `;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60_000, env: { ...process.env, BUN_JSC_logGC: "1", BUN_GC_TIMER_DISABLE: "1" } });
  assert.equal(r.status, 0, r.stderr);
  const log = r.stderr.slice(r.stderr.indexOf("--- ticks"), r.stderr.indexOf("--- end"));
  return { eden: log.match(/EdenCollection/g)?.length ?? 0, any: log.match(/(Eden|Full)Collection/g)?.length ?? 0, asked: (JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { asked: number }).asked };
}

describe("youngPacer()", () => {
  test("refuses a pace that is not an integer >= 1", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) assert.throws(() => youngPacer(bad), RangeError);
  });

  test(isBun ? "on Bun: 100 ticks of a pacer of 100 bring an eden collection, 99 none" : "elsewhere: there is no pacer", () => {
    if (!isBun) {
      assert.equal(youngPacer(GATE_YOUNG_EVERY), null);
      return;
    }
    const at = edenAfter(100), before = edenAfter(99);
    assert.equal(at.asked, 1);
    assert.ok(at.eden >= 1, "no eden collection after the 100th tick");
    assert.equal(before.asked, 0);
    assert.equal(before.any, 0, "a collection ran though none was asked for");
  });
});

/** Open `n` connections to `port` one after another, each closed once the server's first bytes (its challenge) arrive. */
async function touch(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const sock = connect(port, "127.0.0.1");
      sock.once("data", () => sock.destroy());
      sock.once("close", () => resolve());
      sock.once("error", reject);
    });
  }
}

describe("the gate's pacer (start-server.ts)", () => {
  const value = (text: string) => Number(/^wisdom_young_gc_requested_total (\S+)$/m.exec(text)?.[1]);

  test(isBun ? "on Bun: one request per `youngEvery` accepted connections, in /metrics; none with the heap governor off" : "elsewhere: /metrics reports 0", async () => {
    for (const heapGovernor of [true, false]) {
      const s = await testServer({}, { youngEvery: 5, heapGovernor });
      try {
        await touch(s.port, 12);
        await waitFor(() => s.stats.accepted === 12, 5000);
        const got = value(await s.metrics.render());
        assert.equal(got, isBun && heapGovernor ? 2 : 0, `heapGovernor ${heapGovernor}: ${got} requests after 12 connections`);
      } finally {
        await s.close();
      }
    }
  });
});
