/** createSolver(): inline and worker-pool solves, cancellation, progress, reuse and shutdown. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { encodeCounter, meetsDifficulty } from "../../src/shared/pow/hashcash.ts";
import { createSolver, INLINE_BITS_COLD, type Solver } from "../../src/shared/pow/solver/solver.ts";

function prefixOf(seed: number): Uint8Array {
  return Uint8Array.from({ length: 64 }, (_, i) => (seed * 131 + i * 7) & 255);
}

function assertSolves(prefix: Uint8Array, bits: number, counter: number): void {
  assert.ok(Number.isSafeInteger(counter) && counter >= 0, `counter ${counter}`);
  assert.ok(meetsDifficulty(prefix, encodeCounter(counter), bits), `counter ${counter} does not meet ${bits} bits`);
}

/** Resolves with the rejection of `promise` and how long after `since` it came. */
async function rejectionOf(promise: Promise<unknown>, since: () => number): Promise<{ error: unknown; ms: number }> {
  try {
    await promise;
  } catch (error) {
    return { error, ms: since() };
  }
  throw new Error("expected the solve to reject");
}

describe("createSolver()", () => {
  // One two-thread solver serves the tests in order, and the last one closes it: starting workers
  // is the slow part (under `deno test` each start also type-checks worker.ts), and reuse across
  // solves is part of the contract.
  let solver: Solver;
  before(async () => {
    solver = await createSolver({ threads: 2 });
  });
  after(() => solver.close());

  test("solves small puzzles inline without starting a worker, and every solution verifies", async () => {
    for (let bits = 0; bits <= 16; bits += 2) {
      const prefix = prefixOf(bits);
      const { counter, attempts } = await solver.solve(prefix, bits);
      assertSolves(prefix, bits, counter);
      assert.ok(attempts >= 1);
    }
    assert.equal(solver.workersRunning, 0);
  });

  test("the inline path returns the first qualifying counter from 0", async () => {
    await using solver = await createSolver({ threads: 1, kernel: "js" });
    assert.equal(solver.kernel, "js");
    const prefix = prefixOf(99);
    const { counter, attempts } = await solver.solve(prefix, 10);
    assertSolves(prefix, 10, counter);
    assert.equal(attempts, counter + 1);
    for (let c = 0; c < counter; c++) assert.ok(!meetsDifficulty(prefix, encodeCounter(c), 10));
  });

  test("an abort while the workers are still starting rejects at once", async () => {
    assert.equal(solver.workersRunning, 0);
    const controller = new AbortController();
    const pending = solver.solve(prefixOf(8), 30, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const abortedAt = performance.now();
    controller.abort();
    const { error, ms } = await rejectionOf(pending, () => performance.now() - abortedAt);
    assert.equal((error as Error).name, "AbortError");
    assert.ok(ms < 50, `rejected ${ms.toFixed(1)} ms after the abort`);
  });

  test("threads=2 solves large puzzles on two workers and reuses them across solves", async () => {
    assert.equal(solver.threads, 2);
    for (let i = 0; i < 4; i++) {
      const prefix = prefixOf(100 + i), bits = INLINE_BITS_COLD + 1 + (i % 2);
      const { counter, attempts, elapsedMs } = await solver.solve(prefix, bits);
      assertSolves(prefix, bits, counter);
      assert.ok(attempts > 0 && elapsedMs >= 0);
      assert.equal(solver.workersRunning, 2);
    }
    // Once the workers run, mid-size puzzles go to them too, and small ones still stay inline.
    const prefix = prefixOf(7);
    assertSolves(prefix, 16, (await solver.solve(prefix, 16)).counter);
    assertSolves(prefix, 4, (await solver.solve(prefix, 4)).counter);
  });

  test("an abort rejects at once with the signal's AbortError and the next solve still works", async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const pending = solver.solve(prefixOf(1), 32, { signal: controller.signal });
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort();
    }, 300);
    const { error, ms } = await rejectionOf(pending, () => performance.now() - abortedAt);
    assert.equal((error as Error).name, "AbortError");
    assert.ok(ms < 50, `rejected ${ms.toFixed(1)} ms after the abort`);
    // The workers must have stopped: a follow-up puzzle gets both of them straight away.
    const started = performance.now();
    const prefix = prefixOf(2);
    assertSolves(prefix, 19, (await solver.solve(prefix, 19)).counter);
    assert.ok(performance.now() - started < 5000);
  });

  test("AbortSignal.timeout() cancels with a TimeoutError, and an aborted signal rejects before any work", async () => {
    const started = performance.now();
    const { error } = await rejectionOf(solver.solve(prefixOf(3), 32, { signal: AbortSignal.timeout(200) }), () => 0);
    assert.equal((error as Error).name, "TimeoutError");
    assert.ok(performance.now() - started < 1000);
    for (const bits of [4, 30]) {
      const { error: early } = await rejectionOf(solver.solve(prefixOf(4), bits, { signal: AbortSignal.abort() }), () => 0);
      assert.equal((early as Error).name, "AbortError");
    }
  });

  test("onProgress reports growing attempt counts every progressIntervalMs", async () => {
    const reports: [number, number][] = [];
    const controller = new AbortController();
    const pending = solver.solve(prefixOf(5), 32, {
      signal: controller.signal,
      progressIntervalMs: 40,
      onProgress: (attempts, elapsedMs) => {
        reports.push([attempts, elapsedMs]);
        if (reports.length === 5) controller.abort();
      },
    });
    await assert.rejects(pending, { name: "AbortError" });
    assert.equal(reports.length, 5);
    for (let i = 1; i < reports.length; i++) {
      assert.ok(reports[i]![0] >= reports[i - 1]![0], "attempts never go down");
      assert.ok(reports[i]![1] > reports[i - 1]![1], "elapsed time grows");
    }
    assert.ok(reports[4]![0] > 0);
  });

  test("rejects bad arguments", async () => {
    await assert.rejects(solver.solve(new Uint8Array(10), 8), RangeError);
    await assert.rejects(solver.solve(prefixOf(0), 33), RangeError);
    await assert.rejects(createSolver({ threads: 0 }), RangeError);
    await assert.rejects(createSolver({ kernel: "gpu" as "js" }), RangeError);
  });

  test("a process that solved on the pool and closed the solver exits by itself", async () => {
    const versions = process.versions as Record<string, string | undefined>;
    const child = new URL("./fixtures/solver-exit-child.ts", import.meta.url).pathname;
    const args = versions.deno ? ["run", "--allow-read", child] : [child];
    // Needs --allow-run (and --allow-env) on Deno; npm test grants them. Without them this fails, never skips.
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout!.on("data", (chunk) => (out += chunk));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill();
        reject(new Error("the child process did not exit within 15 s of closing its solver"));
      }, 15_000);
      proc.on("error", reject);
      proc.on("exit", (status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
    assert.equal(code, 0);
    const result = JSON.parse(out.trim()) as { counter: number; running: number; after: number };
    assertSolves(new Uint8Array(64).fill(1), 19, result.counter);
    assert.equal(result.running, 2);
    assert.equal(result.after, 0);
  });

  test("close() rejects the solve in flight and any later one, and stops the workers", async () => {
    const inFlight = solver.solve(prefixOf(6), 32);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(solver.workersRunning, 2);
    await solver.close();
    await assert.rejects(inFlight, { name: "SolverError", code: "closed" });
    assert.equal(solver.workersRunning, 0);
    await assert.rejects(solver.solve(prefixOf(6), 8), { name: "SolverError", code: "closed" });
  });
});
