/**
 * zeroedSharedBuffer (runtime/shared-buffer.ts): on Bun (Linux x64) the shared tables' memory is a fixed-size
 * growable SharedArrayBuffer, reserved from the system so that none of it is resident before it is
 * written (bench/idle-rss.ts measures that; a plain one could be zeroed page by page); elsewhere a
 * plain one. Here: it is zero, exactly as long as asked, shared across a postMessage, and every table uses it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { loadServeConfig } from "../../src/shared/config/load.ts";
import { createThreadState } from "../../src/shared/serve/thread-state.ts";
import { zeroedSharedBuffer } from "../../src/shared/runtime/shared-buffer.ts";

type Growable = SharedArrayBuffer & { readonly growable: boolean; readonly maxByteLength: number };
/** Growable where runtime/shared-buffer.ts uses it: Bun on Linux x64. */
const growable = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" && process.platform === "linux" && process.arch === "x64";

/** Every SharedArrayBuffer reachable from `x` (objects and arrays). */
function buffersIn(x: unknown, out: SharedArrayBuffer[] = []): SharedArrayBuffer[] {
  if (x instanceof SharedArrayBuffer) out.push(x);
  else if (x !== null && typeof x === "object") for (const v of Object.values(x)) buffersIn(v, out);
  return out;
}

describe("zeroedSharedBuffer", () => {
  test(`is a zeroed SharedArrayBuffer of the length asked${growable ? ", growable to that length only" : ", a plain one"}`, () => {
    for (const bytes of [4, 4096, 3 * 65536 + 12, 8 << 20]) {
      const b = zeroedSharedBuffer(bytes) as Growable;
      assert.ok(b instanceof SharedArrayBuffer);
      assert.equal(b.byteLength, bytes);
      assert.equal(b.growable, growable, growable ? "reserved as a growable buffer, not from the allocator's arena" : "plain on Deno");
      assert.equal(b.maxByteLength, bytes);
      const u = new Uint8Array(b);
      for (let i = 0; i < u.length; i += 997) assert.equal(u[i], 0, `byte ${i}`);
      assert.equal(u[u.length - 1], 0);
    }
  });

  test("is shared: a write through a posted copy is seen by the sender (Atomics)", async () => {
    const b = zeroedSharedBuffer(1 << 16);
    const { port1, port2 } = new MessageChannel();
    const got = new Promise<SharedArrayBuffer>((resolve) => (port2.onmessage = (e) => resolve(e.data as SharedArrayBuffer)));
    port1.postMessage(b);
    const copy = await got;
    port1.close();
    port2.close();
    assert.ok(copy instanceof SharedArrayBuffer);
    assert.equal(copy.byteLength, 1 << 16);
    assert.equal((copy as Growable).growable, growable, "the posted copy is the same kind of buffer");
    Atomics.add(new Int32Array(copy), 100, 7);
    assert.equal(Atomics.load(new Int32Array(b), 100), 7);
  });

  test("every buffer of serve --threads' shared state comes from it (spent set, tables, ledgers)", () => {
    const c = loadServeConfig({ env: {}, flags: { spent_max_entries: 10_000, max_connections: 1000 } }).config;
    const state = createThreadState(c, 3);
    const all = buffersIn(state.buffers);
    assert.ok(all.length >= 8, `found ${all.length} buffers`);
    const big = all.filter((b) => b.byteLength >= 65536);
    assert.ok(big.length >= 6, `found ${big.length} buffers of 64 KB or more`);
    if (growable) for (const b of big) assert.equal((b as Growable).growable, true, `a ${b.byteLength}-byte shared buffer is a plain SharedArrayBuffer`);
    else for (const b of big) assert.equal((b as Growable).growable, false, `a ${b.byteLength}-byte shared buffer is growable where the plain kind is used`);
  });
});
