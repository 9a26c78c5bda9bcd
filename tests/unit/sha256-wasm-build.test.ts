/** The embedded SHA-256 module (sha256-wasm-bytes.ts) is exactly what scripts/build-wasm.ts builds now. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildSha256Wasm, SHA256_BYTES_MODULE_PATH } from "../../scripts/build-wasm.ts";
import { SHA256_WASM_BASE64 } from "../../src/shared/pow/sha256-wasm-bytes.ts";

describe("scripts/build-wasm.ts, SHA-256 module", () => {
  test("rebuilding from the generator reproduces the committed module byte for byte", async () => {
    const { wasm, source } = await buildSha256Wasm();
    const embedded = Uint8Array.from(atob(SHA256_WASM_BASE64), (c) => c.charCodeAt(0));
    assert.equal(embedded.length, wasm.length, "size differs: run `npx bun scripts/build-wasm.ts`");
    assert.deepEqual(embedded, wasm, "bytes differ: run `npx bun scripts/build-wasm.ts`");
    const committed = readFileSync(new URL(`../../${SHA256_BYTES_MODULE_PATH}`, import.meta.url), "utf8");
    assert.equal(committed, source, `${SHA256_BYTES_MODULE_PATH} is stale: run \`npx bun scripts/build-wasm.ts\``);
  });

  test("building twice gives the same text and bytes (no timestamps, no randomness)", async () => {
    const first = await buildSha256Wasm();
    const second = await buildSha256Wasm();
    assert.equal(first.wat, second.wat);
    assert.equal(first.source, second.source);
  });
});
