/**
 * scripts/record-bytecode-order.ts, the build's recording run: where the binary cannot run it reports why
 * (and the build keeps its first pass) instead of throwing, and the recorded runs see none of the
 * builder's WISDOM_* settings. The recording itself is exercised by tests/integration/binary.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { _recordingEnv, recordBytecodeOrder } from "../../scripts/record-bytecode-order.ts";

describe("recordBytecodeOrder()", () => {
  test("a binary that cannot start gives a reason, not an exception", async () => {
    const dir = mkdtempSync(join(tmpdir(), "order-test-"));
    const notExecutable = join(dir, "wisdom");
    writeFileSync(notExecutable, "not a program", { mode: 0o644 });
    for (const bin of [notExecutable, join(dir, "missing")]) {
      const r = await recordBytecodeOrder(bin, join(dir, "out"));
      assert.ok("error" in r, `${bin}: ${JSON.stringify(r)}`);
      assert.match(r.error, /not started|exited/);
    }
  });

  test("a program that exits before it listens gives a reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), "order-test-"));
    const bin = join(dir, "wisdom");
    writeFileSync(bin, "#!/bin/sh\necho 'no such command' >&2\nexit 2\n", { mode: 0o755 });
    const r = await recordBytecodeOrder(bin, join(dir, "out"));
    assert.ok("error" in r);
    assert.match(r.error, /exited \(2\) before it listened: no such command/);
  });

  test("the recorded runs get none of the builder's WISDOM_* settings, nor its own order file", () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { WISDOM_STORE: "redis://127.0.0.1:1", WISDOM_LOG_LEVEL: "warn", BUN_BYTECODE_ORDER_OUT: "/tmp/x.order", WISDOM_SECRET: "the builder's" });
      const env = _recordingEnv();
      assert.deepEqual(Object.keys(env).filter((k) => k.startsWith("WISDOM_")), ["WISDOM_SECRET"]);
      assert.notEqual(env.WISDOM_SECRET, "the builder's");
      assert.equal(env.BUN_BYTECODE_ORDER_OUT, undefined);
      assert.equal(env.PATH, process.env.PATH);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
