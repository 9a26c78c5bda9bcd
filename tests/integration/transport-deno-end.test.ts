/**
 * The Deno adapter ends a connection without a read pending (tests/helpers/deno-end-probe.ts, run with
 * Deno whichever runtime runs this file). Before, every gate handshake on Deno closed its socket under a
 * pending read, which Deno rejects with an Error built with its stack: about a sixth of what a gate
 * thread allocated per handshake (V8's sampling heap profile at 1,500 handshakes/s).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));

function probe(connections: number, answerBytes: number): { connections: number; closes: number; pendingAtClose: number; dataCalls: number; received: number[] } {
  const r = spawnSync(DENO, ["run", "-A", "tests/helpers/deno-end-probe.ts", String(connections), String(answerBytes)], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `the probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

test("Deno adapter: a connection ended after its answer closes with no read pending, and the whole answer arrives", () => {
  const small = probe(20, 16);
  assert.equal(small.closes, 20);
  assert.equal(small.pendingAtClose, 0, "a read was still pending when the adapter closed the socket");
  assert.equal(small.dataCalls, 20, "the peer's bytes reach data() once per connection");
  assert.deepEqual(small.received, Array(20).fill(16));
  // An answer the kernel cannot take in one write: end() waits for the whole of it, still with no read started.
  const large = probe(3, 4_000_000);
  assert.equal(large.pendingAtClose, 0);
  assert.deepEqual(large.received, Array(3).fill(4_000_000));
});
