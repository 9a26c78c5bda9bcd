/**
 * The Deno adapter ends a connection without a read pending (tests/helpers/deno-end-probe.ts, run with
 * Deno whichever runtime runs this file). Before, every gate handshake on Deno closed its socket under a
 * pending read, which Deno rejects with an Error built with its stack (README, Performance:
 * bench/handshake-heap-profile.ts). The Deno binary is the npm devDependency's: `npm install` brings it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));

function probe(connections: number, answerBytes: number, mode = "data"): { connections: number; closes: number; pendingAtClose: number; dataCalls: number; received: number[] } {
  assert.ok(existsSync(DENO), `${DENO} is missing: run npm install (Deno comes from the npm devDependency "deno")`);
  const r = spawnSync(DENO, ["run", "-A", "tests/helpers/deno-end-probe.ts", String(connections), String(answerBytes), mode], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
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
  // Ended while the read loop waits on pause(), then resumed: the loop starts no read either.
  const paused = probe(10, 16, "paused");
  assert.equal(paused.pendingAtClose, 0, "a read was pending at close after end() and resume()");
  assert.deepEqual(paused.received, Array(10).fill(16));
});
