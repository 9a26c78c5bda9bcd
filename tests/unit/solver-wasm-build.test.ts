/** The embedded SIMD kernel (kernel-wasm-bytes.ts) is exactly what scripts/build-wasm.ts builds now. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildKernelWasm, BYTES_MODULE_PATH } from "../../scripts/build-wasm.ts";
import { KERNEL_WASM_BASE64 } from "../../src/shared/pow/solver/kernel-wasm-bytes.ts";

describe("scripts/build-wasm.ts", () => {
  test("rebuilding from the generator reproduces the committed modules byte for byte", async () => {
    const { shapes, source } = await buildKernelWasm();
    assert.deepEqual(Object.keys(KERNEL_WASM_BASE64), shapes.map((s) => s.shape.name));
    for (const { shape, wasm } of shapes) {
      const embedded = Uint8Array.from(atob(KERNEL_WASM_BASE64[shape.name]), (c) => c.charCodeAt(0));
      assert.equal(embedded.length, wasm.length, `"${shape.name}" size differs: run \`npx bun scripts/build-wasm.ts\``);
      assert.deepEqual(embedded, wasm, `"${shape.name}" bytes differ: run \`npx bun scripts/build-wasm.ts\``);
    }
    const committed = readFileSync(new URL(`../../${BYTES_MODULE_PATH}`, import.meta.url), "utf8");
    assert.equal(committed, source, `${BYTES_MODULE_PATH} is stale: run \`npx bun scripts/build-wasm.ts\``);
  });

  test("building twice gives the same bytes (no timestamps, no randomness)", async () => {
    const first = await buildKernelWasm();
    const second = await buildKernelWasm();
    assert.equal(first.source, second.source);
    first.shapes.forEach((built, i) => assert.equal(built.wat, second.shapes[i]!.wat));
  });
});
