import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError } from "../../src/shared/protocol/errors.ts";
import { checkHeader, encodeFrame, FrameDecoder, HEADER_BYTES, MAX_PAYLOAD, MessageType } from "../../src/shared/protocol/frame.ts";
import { rngFloat as rng } from "../helpers/rng.ts";

const enc = new TextEncoder();


describe("encodeFrame()", () => {
  test("writes version, type, big-endian length, payload", () => {
    const f = encodeFrame(MessageType.Quote, enc.encode("{}"));
    assert.deepEqual([...f], [1, 3, 0, 2, 0x7b, 0x7d]);
  });
  test("a 300-byte payload has length bytes 0x01 0x2c", () => {
    const f = encodeFrame(MessageType.Error, new Uint8Array(300));
    assert.equal(f[2], 1);
    assert.equal(f[3], 0x2c);
    assert.equal(f.length, 304);
  });
  test("refuses a payload over the limit and an unknown type", () => {
    assert.throws(() => encodeFrame(MessageType.Quote, new Uint8Array(MAX_PAYLOAD + 1)), RangeError);
    assert.throws(() => encodeFrame(9 as MessageType, new Uint8Array(0)), RangeError);
  });
});

describe("FrameDecoder", () => {
  test("push(chunk, 1) returns the first frame and ignores what follows it, junk included, whichever way it is split", () => {
    const a = encodeFrame(MessageType.Solution, new Uint8Array([1, 2, 3]));
    const junk = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    const whole = new Uint8Array([...a, ...junk, ...a]);
    for (let cut = 0; cut <= whole.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(whole.subarray(0, cut), 1)];
      if (got.length === 0) got.push(...d.push(whole.subarray(cut), 1));
      assert.equal(got.length, 1, `cut ${cut}`);
      assert.deepEqual([...got[0]!.payload], [1, 2, 3], `cut ${cut}`);
    }
    assert.throws(() => new FrameDecoder().push(whole), /version|type|Cannot decode/i, "without the limit the junk is refused");
  });
  test("decodes one frame", () => {
    const d = new FrameDecoder();
    const out = d.push(encodeFrame(MessageType.Solution, enc.encode("abc")));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.type, MessageType.Solution);
    assert.deepEqual([...out[0]!.payload], [...enc.encode("abc")]);
    assert.equal(d.buffered, 0);
  });
  test("decodes several frames in one chunk", () => {
    const a = encodeFrame(MessageType.Quote, enc.encode("1"));
    const b = encodeFrame(MessageType.Error, enc.encode("22"));
    const d = new FrameDecoder();
    const out = d.push(new Uint8Array([...a, ...b, ...a]));
    assert.deepEqual(out.map((f) => f.type), [3, 4, 3]);
  });
  test("a frame split at every possible point, and byte by byte", () => {
    const f = encodeFrame(MessageType.Challenge, enc.encode('{"hello":"world"}'));
    for (let cut = 0; cut <= f.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(f.subarray(0, cut)), ...d.push(f.subarray(cut))];
      assert.equal(got.length, 1, `cut at ${cut}`);
      assert.deepEqual([...got[0]!.payload], [...f.subarray(HEADER_BYTES)]);
    }
    const d = new FrameDecoder();
    const got = [];
    for (const b of f) got.push(...d.push(new Uint8Array([b])));
    assert.equal(got.length, 1);
  });
  test("payload bytes stay valid after later pushes (they are copies)", () => {
    const d = new FrameDecoder();
    const chunk = encodeFrame(MessageType.Quote, enc.encode("xyz"));
    const [f] = d.push(chunk);
    chunk.fill(0);
    d.push(encodeFrame(MessageType.Quote, enc.encode("abc")));
    assert.deepEqual([...f!.payload], [...enc.encode("xyz")]);
  });
  test("rejects a length over the limit from the header alone, before any payload byte", () => {
    const d = new FrameDecoder(100);
    assert.throws(() => d.push(new Uint8Array([1, 2, 0, 101])), (e: unknown) => e instanceof ProtocolError && e.code === "FRAME_TOO_LARGE" && /101 exceeds limit 100/.test(e.message));
    const d2 = new FrameDecoder();
    assert.throws(() => d2.push(new Uint8Array([1, 2, 0xff, 0xff])), (e: unknown) => e instanceof ProtocolError && e.code === "FRAME_TOO_LARGE");
  });
  test("rejects an unknown version on its first byte and an unknown type on its second", () => {
    assert.throws(() => new FrameDecoder().push(new Uint8Array([0x47])), (e: unknown) => e instanceof ProtocolError && e.code === "BAD_FRAME" && /version 71/.test(e.message));
    assert.throws(() => new FrameDecoder().push(new Uint8Array([1, 0])), (e: unknown) => e instanceof ProtocolError && /type 0/.test(e.message));
    assert.throws(() => new FrameDecoder().push(new Uint8Array([1, 6, 0, 0])), ProtocolError);
  });
  test("consumed tells where a frame taken with maxFrames 1 ends, whole or split at every byte", () => {
    const f = encodeFrame(MessageType.Open, enc.encode('{"effort":3}'));
    const tail = enc.encode("SSH-2.0-OpenSSH_9\r\n");
    const joined = new Uint8Array([...f, ...tail]);
    for (let cut = 0; cut <= joined.length; cut++) {
      const d = new FrameDecoder();
      let frames = d.push(joined.subarray(0, cut), 1);
      let rest = joined.subarray(d.consumed, cut);
      if (frames.length === 0) {
        const second = joined.subarray(cut);
        frames = d.push(second, 1);
        rest = second.subarray(d.consumed);
      } else {
        rest = new Uint8Array([...rest, ...joined.subarray(cut)]);
      }
      assert.equal(frames.length, 1, `cut at ${cut}`);
      assert.equal(frames[0]!.type, MessageType.Open);
      assert.deepEqual([...rest], [...tail], `cut at ${cut}`);
    }
  });
  test("an empty payload is a frame", () => {
    const out = new FrameDecoder().push(new Uint8Array([1, 4, 0, 0]));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.payload.length, 0);
  });
  test("checkHeader() returns the length when valid", () => {
    assert.equal(checkHeader(1, 2, 77, 4096), 77);
  });
  test("5000 random blobs: the decoder only returns frames or throws ProtocolError, and never buffers more than one frame", () => {
    const r = rng(42);
    for (let i = 0; i < 5000; i++) {
      const d = new FrameDecoder(512);
      const n = Math.floor(r() * 700);
      const blob = new Uint8Array(n);
      for (let j = 0; j < n; j++) blob[j] = Math.floor(r() * 256);
      // bias some blobs toward valid headers so the payload paths are exercised too
      if (n >= 4 && r() < 0.5) { blob[0] = 1; blob[1] = 1 + Math.floor(r() * 4); blob[2] = 0; blob[3] = Math.floor(r() * 255); }
      try {
        let off = 0;
        while (off < n) {
          const step = 1 + Math.floor(r() * 64);
          for (const f of d.push(blob.subarray(off, off + step))) assert.ok(f.payload.length <= 512);
          assert.ok(d.buffered <= 4 + 512);
          off += step;
        }
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `blob ${i}: threw ${String(e)}`);
      }
    }
  });
  test("round trip of random payloads and random chunking", () => {
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const frames = Array.from({ length: 1 + Math.floor(r() * 5) }, () => {
        const p = new Uint8Array(Math.floor(r() * 2000));
        for (let j = 0; j < p.length; j++) p[j] = Math.floor(r() * 256);
        return { type: (1 + Math.floor(r() * 4)) as MessageType, payload: p };
      });
      const stream = new Uint8Array(frames.reduce((a, f) => a + 4 + f.payload.length, 0));
      let o = 0;
      for (const f of frames) { const e = encodeFrame(f.type, f.payload); stream.set(e, o); o += e.length; }
      const d = new FrameDecoder();
      const got = [];
      for (let off = 0; off < stream.length; ) {
        const step = 1 + Math.floor(r() * 3000);
        got.push(...d.push(stream.subarray(off, off + step)));
        off += step;
      }
      assert.equal(got.length, frames.length);
      got.forEach((g, k) => { assert.equal(g.type, frames[k]!.type); assert.deepEqual(g.payload, frames[k]!.payload); });
    }
  });
});
