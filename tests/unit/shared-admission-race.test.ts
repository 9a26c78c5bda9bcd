/**
 * The shared admission tables (issue 15) raced by 4 real Worker threads on the same few keys: caps and
 * burst totals are exact across threads, and churn (opens and closes, adds and settles) never overshoots.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { SharedAdmissionState } from "../../src/shared/store/shared-admission.ts";
import type { RaceJob } from "./fixtures/shared-admission-worker.ts";

const WORKERS = 4;

interface Result {
  wins: number[];
  maxTruth: number;
}

/**
 * One pool of WORKERS workers for every race here (Deno type-checks each worker module as it starts:
 * seconds per worker on this VM), each job started by a shared flag so that the workers really race.
 */
let pool: Worker[] | null = null;

async function race(st: SharedAdmissionState, job: Omit<RaceJob, "buffers" | "start" | "truth" | "seed">): Promise<{ results: Result[]; truth: Int32Array }> {
  const start = new Int32Array(new SharedArrayBuffer(8));
  const truth = new Int32Array(new SharedArrayBuffer(4 * job.keys.length));
  const url = new URL("./fixtures/shared-admission-worker.ts", import.meta.url);
  const workers = (pool ??= Array.from({ length: WORKERS }, () => new Worker(url, { type: "module" })));
  const results = workers.map((w, n) => new Promise<Result>((resolve, reject) => {
    w.onmessage = (e: MessageEvent) => resolve(e.data as Result);
    w.onerror = (e) => reject(new Error(String((e as ErrorEvent).message ?? e)));
    w.postMessage({ ...job, buffers: st.buffers(), start, truth, seed: 17 + n * 7919 } satisfies RaceJob);
  }));
  const deadline = performance.now() + 90_000;
  while (Atomics.load(start, 1) < WORKERS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(Atomics.load(start, 1), WORKERS, "all workers ready");
  Atomics.store(start, 0, 1);
  return { results: await Promise.all(results), truth };
}

const state = () => SharedAdmissionState.create({ maxConnections: 10_000, maxKeys: 10_000, escalation: { addr: { halfLifeMs: 1e15, freeRequests: 1, maxExtraBits: 8 }, net: { halfLifeMs: 1e15, freeRequests: 1, maxExtraBits: 8 } } });
const KEYS = ["203.0.113.7", "203.0.113.8", "198.51.100.1", "2001:db8::1.2"];
/** Two keys, so nearly every pair of concurrent operations meets on one; caps high enough that most of a run is admissions. */
const HOT = ["203.0.113.7", "2001:db8::1.2"];
const sum = (rs: Result[], k: number) => rs.reduce((n, r) => n + r.wins[k]!, 0);

describe("shared admission tables raced by 4 workers", () => {
  after(() => {
    for (const w of pool ?? []) w.terminate();
    pool = null;
  });
  test("per-address cap: with nobody closing, exactly cap connections per address are admitted in all", async () => {
    const st = state();
    const { results } = await race(st, { op: "conns", keys: HOT, iterations: 100_000, cap: 150_000 });
    for (let k = 0; k < HOT.length; k++) {
      assert.equal(sum(results, k), 150_000, `${HOT[k]}: ${results.map((r) => r.wins[k]).join("+")}`);
      assert.equal(st.conns.perAddr(HOT[k]!), 150_000);
    }
    assert.equal(st.conns.open, 300_000);
    assert.ok(results.filter((r) => r.wins.some((w) => w > 0)).length >= 2, "several workers won: they really raced");
  });
  test("global cap: exactly max_connections admitted in all", async () => {
    const st = state();
    const keys = Array.from({ length: 64 }, (_, i) => `192.0.2.${i}`);
    const { results } = await race(st, { op: "conns-global", keys, iterations: 100_000, cap: 300_000 });
    assert.equal(results.reduce((n, r) => n + r.wins.reduce((a, b) => a + b, 0), 0), 300_000);
    assert.equal(st.conns.open, 300_000);
  });
  test("per-address cap under churn (opens and closes from every worker): never exceeded; counts return to zero", async () => {
    const st = state();
    const { results, truth } = await race(st, { op: "conns-churn", keys: KEYS, iterations: 200_000, cap: 3 });
    const maxTruth = Math.max(...results.map((r) => r.maxTruth));
    assert.ok(maxTruth <= 3, `at most the cap open at once, saw ${maxTruth}`);
    assert.equal(maxTruth, 3, "the cap was reached");
    assert.deepEqual([...truth], [0, 0, 0, 0]);
    for (const k of KEYS) assert.equal(st.conns.perAddr(k), 0, k);
    assert.equal(st.conns.open, 0);
    assert.equal(st.conns.size(), 0, "no entry left behind");
  });
  test("token buckets at a frozen time: exactly burst tokens granted per key in all", async () => {
    const st = state();
    const { results } = await race(st, { op: "buckets", keys: HOT, iterations: 100_000, cap: 150_000 });
    for (let k = 0; k < HOT.length; k++) assert.equal(sum(results, k), 150_000, `${HOT[k]}: ${results.map((r) => r.wins[k]).join("+")}`);
  });
  test("outstanding cap: exactly cap recorded per address at a frozen time, and never exceeded under churn", async () => {
    const st = state();
    const { results } = await race(st, { op: "outstanding", keys: HOT, iterations: 100_000, cap: 150_000 });
    for (let k = 0; k < HOT.length; k++) assert.equal(sum(results, k), 150_000, HOT[k]);
    const st2 = state();
    const churn = await race(st2, { op: "outstanding-churn", keys: KEYS, iterations: 200_000, cap: 3 });
    const maxTruth = Math.max(...churn.results.map((r) => r.maxTruth));
    assert.ok(maxTruth <= 3, `at most the cap outstanding at once, saw ${maxTruth}`);
    assert.equal(maxTruth, 3);
    for (const k of KEYS) assert.equal(st2.outstanding.count(k, 1_800_000_000_000, 60_000), 0, k);
  });
  test("escalation: no hit lost (the decaying count is a read-modify-write)", async () => {
    const st = state();
    const { results } = await race(st, { op: "escalation", keys: HOT, iterations: 100_000, cap: 0 });
    for (let k = 0; k < HOT.length; k++) assert.equal(st.escalation!.countOf(HOT[k]!, 1_800_000_000_000), sum(results, k), HOT[k]);
  });
});
