import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerChallenge } from "../../bench/answer.ts";
import { challengePrefix, mintChallenge, verifySolution } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { KeyRing } from "../../src/shared/pow/keys.ts";
import { FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage, encodeChallenge, encodeSolution } from "../../src/shared/protocol/messages.ts";
import { bytesToHex } from "@noble/hashes/utils.js";

const ring = new KeyRing([{ id: "bench-answer", secret: new TextEncoder().encode("bench-answer-test-secret-0123") }]);
const payloadOf = (frame: Uint8Array) => frame.subarray(4);

describe("handshake benchmark generator: answerChallenge", () => {
  test("builds exactly the Solution frame encodeSolution builds, for the first counter that meets the difficulty", () => {
    let n = 0;
    for (let bits = 0; bits <= 10; bits++) {
      for (let i = 0; i < 12; i++) {
        const nonce = crypto.getRandomValues(new Uint8Array(16));
        const addr = i % 3 === 0 ? "::1" : `127.0.0.${i}`;
        const ch = mintChallenge(ring, { bits, nowMs: 1_800_000_000_000 + i, ttlMs: 60_000, addr, nonce, windowMs: i % 2 ? 5000 : undefined });
        const frame = answerChallenge(payloadOf(encodeChallenge(ch)));
        const counter = solveReference(challengePrefix(ch), bits);
        assert.deepEqual(frame, encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(counter)) }), `bits ${bits} #${i}`);
        const [f] = new FrameDecoder().push(frame);
        const m = decodeMessage(f!);
        assert.equal(m.type, MessageType.Solution);
        if (m.type !== MessageType.Solution) continue;
        const v = verifySolution(ring, m.body, { nowMs: ch.iat, addr, skewMs: 1000, maxTtlMs: 600_000 });
        assert.ok(v.ok, `verified: ${v.ok ? "" : v.message}`);
        n++;
      }
    }
    assert.equal(n, 11 * 12);
  });

  test("a key's name inside a string value is not taken for the key", () => {
    const ch = mintChallenge(ring, { bits: 3, nowMs: 1_800_000_000_000, ttlMs: 60_000, addr: "127.0.0.1", nonce: new Uint8Array(16) });
    // kid is signed but free text to the encoder: JSON escapes the quotes, so `"bits":` cannot match inside it.
    const tricky = { ...ch, kid: '"bits":31,"mac":"' + "f".repeat(64) + '"' };
    const payload = new TextEncoder().encode(JSON.stringify(tricky));
    const frame = answerChallenge(payload);
    const counter = solveReference(challengePrefix(ch), 3);
    assert.deepEqual(frame, encodeSolution({ challenge: tricky, counter: bytesToHex(encodeCounter(counter)) }));
  });

  test("refuses challenges it cannot read instead of answering wrongly", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const mac = "a".repeat(64);
    assert.throws(() => answerChallenge(enc(`{"mac":"${mac}"}`)), /no bits/);
    assert.throws(() => answerChallenge(enc(`{"bits":33,"mac":"${mac}"}`)), /0\.\.32/);
    assert.throws(() => answerChallenge(enc(`{"bits":"1","mac":"${mac}"}`)), /0\.\.32/);
    assert.throws(() => answerChallenge(enc(`{"bits":1}`)), /mac/);
    assert.throws(() => answerChallenge(enc(`{"bits":1,"mac":"${mac.slice(1)}"}`)), /mac/);
    assert.throws(() => answerChallenge(enc(`{"bits":1,"mac":"${"A".repeat(64)}"}`)), /hex/);
    assert.throws(() => answerChallenge(enc(`{"bits":1,"mac":"${"a".repeat(4000)}"}`)), /mac/);
  });
});
