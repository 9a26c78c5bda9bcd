import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError } from "../../src/shared/protocol/errors.ts";
import { encodeFrame, FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage, encodeError, encodeOpen, encodeQuote } from "../../src/shared/protocol/messages.ts";

const enc = new TextEncoder();
const frame = (type: MessageType, text: string) => ({ type, payload: enc.encode(text) });
const isBad = (e: unknown) => e instanceof ProtocolError && e.code === "BAD_FRAME";

describe("decodeMessage()", () => {
  test("round trips a Quote and an Error through frames", () => {
    const d = new FrameDecoder();
    const [q, e] = d.push(new Uint8Array([...encodeQuote({ quote: "q", author: "a" }), ...encodeError("BUSY", "later", 250)]));
    assert.deepEqual(decodeMessage(q!), { type: MessageType.Quote, body: { quote: "q", author: "a" } });
    assert.deepEqual(decodeMessage(e!), { type: MessageType.Error, body: { code: "BUSY", message: "later", retry_after_ms: 250 } });
  });
  test("round trips the guard's Open frame and refuses an effort over 255 or a negative wait", () => {
    const body = { effort: 21, queued_ms: 12, idle_timeout_ms: 0 };
    const [f] = new FrameDecoder().push(encodeOpen(body));
    assert.deepEqual(decodeMessage(f!), { type: MessageType.Open, body });
    assert.throws(() => decodeMessage(frame(MessageType.Open, '{"effort":256,"queued_ms":0,"idle_timeout_ms":0}')), (e: unknown) => isBad(e) && /effort/.test((e as Error).message));
    assert.throws(() => decodeMessage(frame(MessageType.Open, '{"effort":1,"queued_ms":-1,"idle_timeout_ms":0}')), (e: unknown) => isBad(e) && /queued_ms/.test((e as Error).message));
  });
  test("rejects bad JSON, bad UTF-8 and a non-object", () => {
    assert.throws(() => decodeMessage(frame(MessageType.Quote, "{")), isBad);
    assert.throws(() => decodeMessage({ type: MessageType.Quote, payload: new Uint8Array([0xff, 0xfe]) }), isBad);
    assert.throws(() => decodeMessage(frame(MessageType.Solution, "[1,2]")), isBad);
  });
  test("rejects a wrong field type and names the field", () => {
    assert.throws(() => decodeMessage(frame(MessageType.Solution, '{"challenge":{},"counter":5}')), (e: unknown) => isBad(e) && /challenge\.v|counter/.test((e as Error).message));
    assert.throws(() => decodeMessage(frame(MessageType.Error, '{"code":"NOPE","message":"x"}')), (e: unknown) => isBad(e) && /code/.test((e as Error).message));
  });
  test("rejects a counter that is not 16 hex digits and a challenge with uppercase hex", () => {
    const ch = { v: 1, alg: "sha256-hashcash", bits: 1, iat: 1, exp: 2, nonce: "00".repeat(16), addr: "a", kid: "k", mac: "00".repeat(32) };
    assert.ok(decodeMessage(frame(MessageType.Solution, JSON.stringify({ challenge: ch, counter: "00".repeat(8) }))));
    assert.throws(() => decodeMessage(frame(MessageType.Solution, JSON.stringify({ challenge: ch, counter: "00".repeat(9) }))), isBad);
    assert.throws(() => decodeMessage(frame(MessageType.Solution, JSON.stringify({ challenge: { ...ch, mac: "AA".repeat(32) }, counter: "00".repeat(8) }))), isBad);
    assert.throws(() => decodeMessage(frame(MessageType.Solution, JSON.stringify({ challenge: { ...ch, iat: -1 }, counter: "00".repeat(8) }))), isBad);
    assert.throws(() => decodeMessage(frame(MessageType.Solution, JSON.stringify({ challenge: { ...ch, bits: 1.5 }, counter: "00".repeat(8) }))), isBad);
  });
  test("encodeError() cuts an overlong message so the frame always encodes", () => {
    const f = encodeError("INTERNAL", "x".repeat(10_000));
    assert.ok(f.length < 600);
  });
  test("encodeFrame + decodeMessage agree on Unicode text", () => {
    const f = encodeFrame(MessageType.Quote, enc.encode(JSON.stringify({ quote: "Γνῶθι σεαυτόν", author: "Delphi" })));
    const [fr] = new FrameDecoder().push(f);
    assert.deepEqual(decodeMessage(fr!).body, { quote: "Γνῶθι σεαυτόν", author: "Delphi" });
  });
});

describe("Solution field ranges (docs/PROTOCOL.md, Frames)", () => {
  const ch = { v: 1, alg: "sha256-hashcash", bits: 12, iat: 1, exp: 2, nonce: "00".repeat(16), addr: "203.0.113.7", kid: "k1", mac: "00".repeat(32) };
  const solution = (over: Record<string, unknown>) => frame(MessageType.Solution, JSON.stringify({ challenge: { ...ch, ...over }, counter: "0000000000000334" }));
  test("bits outside 0..255, iat or exp outside 0..2^53-1, and a malformed window_ms are BAD_FRAME", () => {
    for (const over of [{ bits: -1 }, { bits: 268 }, { bits: 1.5 }, { bits: "12" }, { iat: 2 ** 53 }, { exp: -1 }, { window_ms: "5000" }, { window_ms: -1 }]) {
      assert.throws(() => decodeMessage(solution(over)), isBad, JSON.stringify(over));
    }
    // 1e400 is not even a finite number in JSON.parse: the same answer.
    assert.throws(() => decodeMessage(frame(MessageType.Solution, `{"challenge":${JSON.stringify(ch).replace('"bits":12', '"bits":1e400')},"counter":"0000000000000334"}`)), isBad);
  });
  test("kid is 1 to 32 of A-Z a-z 0-9 . _ -, addr 1 to 64 characters, alg at most 32: anything else is BAD_FRAME", () => {
    for (const over of [{ kid: "" }, { kid: "k".repeat(33) }, { kid: "a b" }, { kid: "k/1" }, { kid: "ключ" }, { addr: "" }, { addr: "a".repeat(65) }, { alg: "x".repeat(33) }]) {
      assert.throws(() => decodeMessage(solution(over)), isBad, JSON.stringify(over));
    }
    for (const over of [{ kid: "k".repeat(32) }, { kid: "A.b_c-9" }, { addr: "a".repeat(64) }, { alg: "x".repeat(32) }]) {
      assert.equal(decodeMessage(solution(over)).type, MessageType.Solution, JSON.stringify(over));
    }
  });
  test("bits 33..255 and any window_ms integer decode (the gate answers UNSUPPORTED_PUZZLE, or ignores the window)", () => {
    for (const over of [{ bits: 33 }, { bits: 255 }, { window_ms: 0 }, { window_ms: 2 ** 53 - 1 }, { iat: 2 ** 53 - 1 }]) {
      assert.equal(decodeMessage(solution(over)).type, MessageType.Solution, JSON.stringify(over));
    }
  });
});
