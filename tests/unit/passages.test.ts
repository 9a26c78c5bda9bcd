/** GuardPassages with a real upstream listener on loopback and a recording client (security review, finding 1). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { GuardPassages } from "../../src/shared/guard/passages.ts";
import { UpstreamSlots } from "../../src/shared/guard/upstream-slots.ts";
import { FrameDecoder } from "../../src/shared/protocol/frame.ts";
import { decodeMessage, type ErrorMessage } from "../../src/shared/protocol/messages.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import type { Conn } from "../../src/shared/transport/types.ts";

const t = await pickTransport();

function client() {
  const written: Uint8Array[] = [];
  const c = {
    remoteAddress: "192.0.2.9", remotePort: 5000, queuedBytes: 0, onDrain: null, ended: false, destroyed: false, written,
    write(b: Uint8Array) { written.push(b.slice()); },
    end() { c.ended = true; },
    destroy() { c.destroyed = true; },
    pause() {}, resume() {}, closeWrite() {},
  };
  return c satisfies Conn;
}

describe("GuardPassages", () => {
  test("a PROXY v2 header that cannot be written (a listen host that is not an IP) answers UPSTREAM_UNAVAILABLE and frees the slot; nothing throws", async () => {
    let upstreamConns = 0;
    const up = await t.listen({ host: "127.0.0.1", port: 0 }, { open: (c) => (upstreamConns++, c), data() {}, close() {} });
    const slots = new UpstreamSlots({ max: 1, queueMax: 10, queueTimeoutMs: 1000 });
    const p = new GuardPassages({
      transport: t, slots, mono: () => performance.now(),
      settings: { upstream: { host: "127.0.0.1", port: up.port }, connectTimeoutMs: 2000, idleTimeoutMs: 0, proxyHeader: "v2", listen: { host: "localhost", port: 7077 } },
    });
    const c = client();
    try {
      p.open(c, { addr: "192.0.2.9", port: 5000, work: 10, held: [], peerEnded: false });
      const end = performance.now() + 5000;
      while (!c.ended && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
      assert.equal(c.ended, true, "the client got an answer and an end");
      const msgs = new FrameDecoder().push(Uint8Array.from(c.written.flatMap((b) => [...b]))).map(decodeMessage);
      assert.equal((msgs.at(-1)!.body as ErrorMessage).code, "UPSTREAM_UNAVAILABLE");
      assert.equal(slots.active, 0, "the slot is free again");
    } finally {
      await up.stop();
    }
  });

  test("a client answered with an Error that never closes its side is destroyed after the connect timeout (a half-closing transport would keep it)", async () => {
    const slots = new UpstreamSlots({ max: 1, queueMax: 10, queueTimeoutMs: 1000 });
    const now = 1000;
    const p = new GuardPassages({
      transport: t, slots, mono: () => now,
      settings: { upstream: { host: "127.0.0.1", port: 1 }, connectTimeoutMs: 300, idleTimeoutMs: 0, proxyHeader: "off", listen: { host: "127.0.0.1", port: 7077 } },
    });
    const c = client();
    const passage = p.open(c, { addr: "192.0.2.9", port: 5000, work: 10, held: [], peerEnded: false });
    const end = performance.now() + 5000;
    while (!c.ended && performance.now() < end) await new Promise((r) => setTimeout(r, 10)); // port 1 refuses
    assert.equal(c.ended, true);
    passage.sweep(now + 300);
    assert.equal(c.destroyed, false, "not before the timeout");
    passage.sweep(now + 301);
    assert.equal(c.destroyed, true);
  });
});
