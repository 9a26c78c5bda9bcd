/** Relay: backpressure and half-close between two Conns, checked with recording Conns (no sockets). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HIGH_WATER, Relay } from "../../src/shared/guard/relay.ts";
import type { Conn } from "../../src/shared/transport/types.ts";

/** A Conn that records calls and whose write queue only empties when the test says so. */
function recording(name: string, log: string[]) {
  let queued = 0;
  const written: Uint8Array[] = [];
  const c: Conn & { drain(): void; written: Uint8Array[] } = {
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    written,
    get queuedBytes() {
      return queued;
    },
    onDrain: null,
    write(bytes, borrowed) {
      written.push(borrowed ? bytes.slice() : bytes);
      queued += bytes.length;
    },
    end: () => void log.push(`${name}.end`),
    destroy: () => void log.push(`${name}.destroy`),
    pause: () => void log.push(`${name}.pause`),
    resume: () => void log.push(`${name}.resume`),
    closeWrite: () => void log.push(`${name}.closeWrite`),
    drain() {
      queued = 0;
      c.onDrain?.();
    },
  };
  return c;
}

describe("Relay", () => {
  test("pauses the sender once the other side has more than HIGH_WATER queued, resumes it on drain, each direction", () => {
    const log: string[] = [];
    const client = recording("client", log);
    const up = recording("upstream", log);
    const r = new Relay(client, up, () => 0);
    const chunk = new Uint8Array(HIGH_WATER / 4);
    for (let i = 0; i < 4; i++) r.fromClient(chunk);
    assert.deepEqual(log, []);
    r.fromClient(chunk);
    assert.deepEqual(log, ["client.pause"]);
    up.drain();
    assert.deepEqual(log, ["client.pause", "client.resume"]);
    for (let i = 0; i < 5; i++) r.fromUpstream(chunk);
    assert.deepEqual(log.slice(2), ["upstream.pause"]);
    client.drain();
    assert.deepEqual(log.slice(2), ["upstream.pause", "upstream.resume"]);
    assert.equal(r.bytesUp, 5 * chunk.length);
    assert.equal(r.bytesDown, 5 * chunk.length);
  });
  test("writes chunks as borrowed: what the destination keeps is a copy", () => {
    const client = recording("client", []);
    const up = recording("upstream", []);
    const r = new Relay(client, up, () => 0);
    const chunk = Uint8Array.of(1, 2, 3);
    r.fromClient(chunk);
    chunk.fill(9);
    assert.deepEqual([...up.written[0]!], [1, 2, 3]);
  });
  test("a FIN from one side becomes a FIN to the other; both FINs end both; a close ends the other side", () => {
    const log: string[] = [];
    const r = new Relay(recording("client", log), recording("upstream", log), () => 0);
    r.clientEnded();
    assert.deepEqual(log, ["upstream.closeWrite"]);
    r.fromUpstream(new Uint8Array(10)); // the other direction still flows
    r.upstreamEnded();
    assert.deepEqual(log, ["upstream.closeWrite", "client.closeWrite", "client.end", "upstream.end"]);
    assert.ok(r.done);
    const log2: string[] = [];
    const r2 = new Relay(recording("client", log2), recording("upstream", log2), () => 0);
    r2.upstreamClosed();
    r2.fromClient(new Uint8Array(5));
    assert.deepEqual(log2, ["client.end"]);
    assert.equal(r2.bytesUp, 0, "nothing is relayed once a side closed");
  });
  test("lastActivity follows the bytes, for the idle timeout", () => {
    let now = 5;
    const r = new Relay(recording("c", []), recording("u", []), () => now);
    assert.equal(r.lastActivity, 5);
    now = 80;
    r.fromUpstream(new Uint8Array(1));
    assert.equal(r.lastActivity, 80);
  });
});
