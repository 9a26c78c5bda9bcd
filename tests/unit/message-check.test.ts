/**
 * The client's hand-written message checks (protocol/message-check.ts) against the server's valibot schemas
 * (protocol/messages.ts): for every input, both accept with the same body (keys and their order) or both
 * refuse with the same error text.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ProtocolError } from "../../src/shared/protocol/errors.ts";
import { FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage as plain } from "../../src/shared/protocol/message-check.ts";
import { decodeMessage as schema } from "../../src/shared/protocol/messages.ts";

const enc = new TextEncoder();
const vectors = JSON.parse(readFileSync(new URL("../vectors/protocol-v1.json", import.meta.url), "utf8"));

/** What a decoder made of a frame: the message as JSON text, or the error's code and text. */
function outcome(decode: typeof plain, type: number, payload: Uint8Array): string {
  try {
    return `ok ${JSON.stringify(decode({ type, payload } as never))}`;
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `${(err as Error).message}`);
    return `${err.code} ${err.message}`;
  }
}

/** Asserts agreement on `body` as type `type`; returns whether it was accepted. */
function agree(type: number, body: unknown): boolean {
  const payload = enc.encode(typeof body === "string" ? body : JSON.stringify(body));
  const a = outcome(schema, type, payload);
  const b = outcome(plain, type, payload);
  assert.equal(b, a, `type ${type}: ${typeof body === "string" ? body : JSON.stringify(body)}`);
  return a.startsWith("ok ");
}

const ch = vectors.challenge as Record<string, unknown>;
const BAD_VALUES: unknown[] = [
  undefined, null, true, 0, -1, 1, 1.5, 255, 256, 2 ** 53 - 1, 2 ** 53, -0, "", "x", "12", "0".repeat(16), "0".repeat(32), "0".repeat(64),
  "A".repeat(32), "f".repeat(64), "F".repeat(64), "k".repeat(32), "k".repeat(33), "a b", "ключ", "a".repeat(64), "a".repeat(65), "a".repeat(513),
  "BUSY", "NOPE", [], {}, [1], { v: 1 },
];
/** Every field of `base` set to every value above, and deleted; extra keys too. */
function variants(base: Record<string, unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [base, { ...base, extra: 1 }];
  for (const key of Object.keys(base)) {
    const { [key]: _dropped, ...without } = base;
    out.push(without);
    for (const value of BAD_VALUES) out.push({ ...base, [key]: value });
  }
  return out;
}

describe("message-check.ts agrees with the valibot schemas", () => {
  test("the protocol vectors: the Challenge, Quote and Open frames, and the bodies", () => {
    const frames = vectors.frames as Record<string, string>;
    let n = 0;
    for (const [name, hexText] of Object.entries(frames)) {
      const bytes = Uint8Array.from((hexText.match(/../g) ?? []).map((h) => parseInt(h, 16)));
      for (const f of new FrameDecoder().push(bytes, 16)) {
        assert.ok(agree(f.type, new TextDecoder().decode(f.payload)), name);
        n++;
      }
    }
    assert.ok(n >= 3, `${n} frames in the vectors`);
    assert.ok(agree(MessageType.Challenge, ch));
    assert.ok(agree(MessageType.Quote, vectors.quote));
    assert.ok(agree(MessageType.Open, vectors.open));
    assert.ok(agree(MessageType.Solution, { challenge: ch, counter: vectors.first_solution.counter_hex }));
  });

  test("every field of every message, with good, bad, boundary and missing values", () => {
    const { window_ms: _w, ...noWindow } = ch;
    const bodies: [number, Record<string, unknown>][] = [
      ...variants(ch).map((b) => [MessageType.Challenge, b] as [number, Record<string, unknown>]),
      ...variants(noWindow).map((b) => [MessageType.Challenge, b] as [number, Record<string, unknown>]),
      ...variants({ challenge: ch, counter: "0000000000000334" }).map((b) => [MessageType.Solution, b] as [number, Record<string, unknown>]),
      ...variants(ch).map((c) => [MessageType.Solution, { challenge: c, counter: "00" }] as [number, Record<string, unknown>]),
      ...variants({ quote: "q", author: "a", source: "embedded" }).map((b) => [MessageType.Quote, b] as [number, Record<string, unknown>]),
      ...variants({ code: "BUSY", message: "later", retry_after_ms: 250 }).map((b) => [MessageType.Error, b] as [number, Record<string, unknown>]),
      ...variants({ effort: 12, queued_ms: 0, idle_timeout_ms: 300000 }).map((b) => [MessageType.Open, b] as [number, Record<string, unknown>]),
    ];
    let accepted = 0;
    for (const [type, body] of bodies) if (agree(type, body)) accepted++;
    // Both sides of the line are exercised: some of each.
    assert.ok(accepted > 50 && accepted < bodies.length - 500, `${accepted} of ${bodies.length} accepted`);
  });

  test("not JSON, not UTF-8, not an object, numbers JSON cannot hold", () => {
    for (const type of [MessageType.Challenge, MessageType.Solution, MessageType.Quote, MessageType.Error, MessageType.Open]) {
      for (const text of ["", "{", "null", "5", '"x"', "[]", "true", "[1,2]"]) agree(type, text);
      const payload = new Uint8Array([0x7b, 0xff, 0x7d]);
      assert.equal(outcome(plain, type, payload), outcome(schema, type, payload));
    }
    agree(MessageType.Challenge, JSON.stringify(ch).replace('"bits":12', '"bits":1e400'));
    agree(MessageType.Challenge, JSON.stringify(ch).replace('"bits":12', '"bits":12.0'));
    agree(MessageType.Error, '{"code":"BUSY","message":"x","retry_after_ms":1e3}');
  });
});
