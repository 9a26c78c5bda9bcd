/** PROXY protocol on the listener: the header's client address is what challenges bind to and limits key on. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage, type Challenge, type ErrorMessage, type Message } from "../../src/shared/protocol/messages.ts";
import { encodeProxyV1, encodeProxyV2 } from "../../src/shared/net/proxy-protocol.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { rawConnect, testServer } from "../helpers/server.ts";

const t = await pickTransport();
const msgs = (b: Uint8Array): Message[] => new FrameDecoder().push(b).map(decodeMessage);
const v2 = (src: string, port = 40000) => encodeProxyV2({ kind: "proxy", source: { address: src, port }, destination: { address: src.includes(":") ? "::1" : "127.0.0.1", port: 7077 } });

async function exchange(port: number, first: Uint8Array, waitClose = false): Promise<Message[]> {
  const c = await rawConnect(t, port);
  c.conn.write(first);
  const end = performance.now() + 3000;
  while (performance.now() < end) {
    const ms = (() => { try { return msgs(c.bytes()); } catch { return []; } })();
    if (ms.length > 0 && !waitClose) { c.conn.end(); return ms; }
    if (waitClose && c.closedAt > 0) return ms;
    await new Promise((r) => setTimeout(r, 10));
  }
  c.conn.destroy();
  return msgs(c.bytes());
}

describe("PROXY protocol", () => {
  test("v2 and v1 headers from a trusted proxy: the challenge is bound to the carried client address (v4 and v6)", async () => {
    await using srv = await testServer({ proxy_protocol: "on" });
    const a = await exchange(srv.port, v2("203.0.113.9"));
    assert.equal((a[0]!.body as Challenge).addr, "203.0.113.9");
    const b = await exchange(srv.port, encodeProxyV1({ kind: "proxy", source: { address: "198.51.100.4", port: 5555 }, destination: { address: "127.0.0.1", port: 7077 } }));
    assert.equal((b[0]!.body as Challenge).addr, "198.51.100.4");
    const c = await exchange(srv.port, v2("2001:db8::42"));
    assert.equal((c[0]!.body as Challenge).addr, "2001:db8::42");
    const local = await exchange(srv.port, encodeProxyV2({ kind: "local" }));
    assert.equal((local[0]!.body as Challenge).addr, "127.0.0.1", "LOCAL keeps the connection's own address");
  });

  test("limits key on the carried address: one client behind the proxy is capped, another is not", async () => {
    await using srv = await testServer({ proxy_protocol: "on", max_connections_per_addr: 1 });
    const one = await rawConnect(t, srv.port);
    one.conn.write(v2("203.0.113.1"));
    await new Promise((r) => setTimeout(r, 100));
    const again = await exchange(srv.port, v2("203.0.113.1"));
    assert.equal((again[0]!.body as ErrorMessage).code, "RATE_LIMITED");
    const other = await exchange(srv.port, v2("203.0.113.2"));
    assert.equal(other[0]!.type, MessageType.Challenge);
    one.conn.end();
  });

  test("a malformed header closes the connection with BAD_FRAME; no header from a trusted source times out", async () => {
    await using srv = await testServer({ proxy_protocol: "on", frame_timeout_ms: 300 });
    const bad = await exchange(srv.port, new TextEncoder().encode("PROXY TCP4 1.2.3.999 127.0.0.1 1 2\r\n"), true);
    assert.equal((bad.at(-1)!.body as ErrorMessage).code, "BAD_FRAME");
    assert.match((bad.at(-1)!.body as ErrorMessage).message, /PROXY/);
    const c = await rawConnect(t, srv.port);
    const t0 = performance.now();
    await c.closed;
    // the frame window (300 ms), well before the handshake deadline (10 s); slack for a loaded machine
    assert.ok(performance.now() - t0 < 5000, `closed after ${Math.round(performance.now() - t0)} ms`);
    assert.equal((msgs(c.bytes()).at(-1)!.body as ErrorMessage).code, "TIMEOUT");
  });

  test("untrusted peers are served directly, and their PROXY header is junk", async () => {
    await using srv = await testServer({ proxy_protocol: "on", proxy_trusted: "10.0.0.0/8" });
    const ms = await exchange(srv.port, v2("203.0.113.9"), true);
    assert.equal((ms[0]!.body as Challenge).addr, "127.0.0.1");
    assert.equal((ms.at(-1)!.body as ErrorMessage).code, "BAD_FRAME");
  });

  test("with proxy_protocol off a header is treated as junk", async () => {
    await using srv = await testServer({});
    const ms = await exchange(srv.port, v2("203.0.113.9"), true);
    assert.equal((ms[0]!.body as Challenge).addr, "127.0.0.1");
    assert.equal((ms.at(-1)!.body as ErrorMessage).code, "BAD_FRAME");
  });
});
