/**
 * 100 MB each way through `wisdom guard` at once, byte-exact (SHA-256 of what each side sent against
 * what the other received), with backpressure on every hop. The one big transfer of the test suite:
 * throughput belongs to bench/guard.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { pickTransport } from "../../src/shared/transport/index.ts";
import type { Conn } from "../../src/shared/transport/types.ts";
import { guardedClient, startUpstream, testGuard } from "../helpers/guard.ts";

const t = await pickTransport();
const BLOCK = 1 << 20;
const BLOCKS = 100;

/** Block `i` of the stream: 1 MiB of random bytes with its index in front, so a lost or repeated block changes the hash. */
function blocks(seed: Uint8Array) {
  return (i: number) => {
    const b = seed.slice();
    new DataView(b.buffer).setUint32(0, i);
    return b;
  };
}

function randomBlock(): Uint8Array {
  const b = new Uint8Array(BLOCK);
  for (let o = 0; o < BLOCK; o += 65536) crypto.getRandomValues(b.subarray(o, o + 65536));
  return b;
}

/** Write every block to a Conn, waiting for its queue to drain above 4 MiB; returns the SHA-256 of what was sent. */
async function sendAll(conn: Conn, block: (i: number) => Uint8Array): Promise<string> {
  const h = createHash("sha256");
  for (let i = 0; i < BLOCKS; i++) {
    const b = block(i);
    h.update(b);
    conn.write(b);
    if (conn.queuedBytes > 4 * BLOCK) await new Promise<void>((r) => (conn.onDrain = () => r()));
  }
  conn.closeWrite();
  return h.digest("hex");
}

describe(`guard bulk transfer (${t.name} transport)`, () => {
  test("100 MB each way at once arrives byte for byte, and each side's half-close ends its direction", async () => {
    const up2client = blocks(randomBlock());
    const client2up = blocks(randomBlock());
    let upSent!: Promise<string>;
    const upGot = createHash("sha256");
    let upBytes = 0;
    let upDone!: () => void;
    const upEnded = new Promise<void>((r) => (upDone = r));
    await using up = await startUpstream((c) => {
      c.socket.on("data", (d: Buffer) => {
        upGot.update(d);
        upBytes += d.length;
      });
      c.socket.on("end", () => upDone());
      upSent = (async () => {
        const h = createHash("sha256");
        for (let i = 0; i < BLOCKS; i++) {
          const b = up2client(i);
          h.update(b);
          if (!c.socket.write(b)) await new Promise((r) => c.socket.once("drain", r));
        }
        c.socket.end();
        return h.digest("hex");
      })();
    });
    await using g = await testGuard(up.port, {}, t);
    const c = await guardedClient(t, g.port);
    const gotDown = createHash("sha256");
    // What arrived while the client was opening, then the rest hashed as it arrives (not kept: 100 MB).
    const early = c.received();
    gotDown.update(early);
    let downBytes = early.length;
    (c.reader as unknown as { _sink: { data: (x: Uint8Array) => void } })._sink.data = (x) => {
      gotDown.update(x);
      downBytes += x.length;
    };
    const t0 = performance.now();
    const clientSent = await sendAll(c.conn, client2up);
    await upEnded;
    await c.closed;
    const ms = performance.now() - t0;
    assert.equal(upBytes, BLOCKS * BLOCK);
    assert.equal(downBytes, BLOCKS * BLOCK);
    assert.equal(upGot.digest("hex"), clientSent, "client -> upstream");
    assert.equal(gotDown.digest("hex"), await upSent, "upstream -> client");
    console.log(`guard bulk: 2 x ${BLOCKS} MB in ${Math.round(ms)} ms on ${t.name}`);
  });
});
