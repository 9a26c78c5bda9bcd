/**
 * GateConnections with a fake connection and a fake clock: deadlines, one Solution per connection,
 * answered peers that never close, and the bound on bytes held while a shared limiter decides.
 * No sockets and no sleeps: the sweep is called with the time the test chooses.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex } from "@noble/hashes/utils.js";
import { GateConnections, type Session } from "../../src/shared/gate/connections.ts";
import { answeredTooLong, overdue } from "../../src/shared/gate/deadlines.ts";
import { Phase } from "../../src/shared/gate/session.ts";
import { Gate } from "../../src/shared/gate/gate.ts";
import { FixedDifficulty } from "../../src/shared/gate/types.ts";
import { Admission } from "../../src/shared/defence/admission.ts";
import type { RateLimiter } from "../../src/shared/defence/rate-limiter.ts";
import type { Take } from "../../src/shared/defence/token-bucket.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { KeyRing } from "../../src/shared/pow/keys.ts";
import { FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage, encodeSolution, type Challenge, type ErrorMessage, type Message } from "../../src/shared/protocol/messages.ts";
import { MemorySpentStore } from "../../src/shared/store/memory.ts";
import type { SpentStore } from "../../src/shared/store/types.ts";
import type { Conn } from "../../src/shared/transport/types.ts";
import type { Passage, PassageGrant, Passages } from "../../src/shared/gate/types.ts";

class FakeConn implements Conn {
  readonly written: Uint8Array[] = [];
  ended = false;
  destroyed = false;
  constructor(readonly remoteAddress = "192.0.2.7", readonly remotePort = 40000) {}
  write(b: Uint8Array): void {
    if (!this.ended && !this.destroyed) this.written.push(b.slice());
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  readonly queuedBytes = 0;
  onDrain: (() => void) | null = null;
  pause(): void {}
  resume(): void {}
  closeWrite(): void {}
  messages(): Message[] {
    const d = new FrameDecoder(65535);
    return this.written.flatMap((b) => d.push(b)).map(decodeMessage);
  }
}

const T = { firstByteMs: 1000, frameMs: 500, handshakeMs: 4000 };
function setup(opts: { store?: SpentStore; admission?: Admission; passages?: Passages } = {}) {
  const clock = { mono: 0, wall: 1_800_000_000_000 };
  const gate = new Gate({
    ring: new KeyRing([{ id: "t", secret: new TextEncoder().encode("connections-unit-test-secret") }]),
    store: opts.store ?? new MemorySpentStore(),
    quotes: { name: "one", next: () => ({ text: "Q.", author: "A", source: "embedded" }) },
    policy: new FixedDifficulty(4),
    settings: { timeouts: T, ttlMs: 60_000, skewMs: 1000, maxTtlMs: 600_000, maxPayload: 4096 },
    now: () => clock.wall,
    mono: () => clock.mono,
  });
  const conns = new GateConnections(gate, opts.admission ?? null, null, 100, null, opts.passages ?? null);
  return { clock, gate, conns };
}
const challengeOf = (c: FakeConn) => c.messages()[0]!.body as Challenge;
function solutionFor(ch: Challenge): Uint8Array {
  return encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits))) });
}
const lastError = (c: FakeConn) => c.messages().at(-1)!.body as ErrorMessage;

describe("GateConnections deadlines (fake clock)", () => {
  test("a silent connection is closed with TIMEOUT just after its first-byte window, not before", () => {
    const { clock, conns } = setup();
    const c = new FakeConn();
    conns.open(c);
    clock.mono = T.firstByteMs;
    conns.sweep(clock.mono);
    assert.equal(c.ended, false);
    clock.mono = T.firstByteMs + 1;
    conns.sweep(clock.mono);
    assert.equal(c.ended, true);
    assert.equal(lastError(c).code, "TIMEOUT");
  });
  test("a frame started and not finished is closed after the frame window, counted from its first byte", () => {
    const { clock, conns } = setup();
    const c = new FakeConn();
    const s = conns.open(c);
    clock.mono = 300;
    conns.data(s, new Uint8Array([1, 2, 0])); // a header, incomplete
    clock.mono = 300 + T.frameMs;
    conns.sweep(clock.mono);
    assert.equal(c.ended, false);
    clock.mono = 300 + T.frameMs + 1;
    conns.sweep(clock.mono);
    assert.equal(lastError(c).code, "TIMEOUT");
    assert.match(lastError(c).message, /Frame not complete/);
  });
  test("the whole-handshake deadline closes a connection past it, before any other window is looked at", () => {
    const { clock, conns } = setup();
    const c = new FakeConn();
    const s = conns.open(c);
    clock.mono = 1;
    conns.data(s, new Uint8Array([1])); // one byte: a frame started at 1 ms
    clock.mono = T.handshakeMs - 1;
    conns.sweep(clock.mono); // just before the handshake deadline only the frame window has passed
    assert.match(lastError(c).message, /Frame not complete/);
    const { clock: clock2, conns: conns2 } = setup();
    const c2 = new FakeConn();
    const s2 = conns2.open(c2);
    clock2.mono = 1;
    conns2.data(s2, new Uint8Array([1]));
    clock2.mono = T.handshakeMs + 1;
    conns2.sweep(clock2.mono);
    assert.equal(lastError(c2).code, "TIMEOUT");
    assert.match(lastError(c2).message, /Handshake not finished within 4000 ms/);
  });
  test("timed-out connections share the Error frames of their deadline, each naming its own window", () => {
    const { clock, conns } = setup();
    const silent1 = new FakeConn("192.0.2.7"), framing = new FakeConn("192.0.2.8"), silent2 = new FakeConn("192.0.2.9");
    conns.open(silent1);
    const s = conns.open(framing);
    conns.open(silent2);
    clock.mono = 1;
    conns.data(s, new Uint8Array([1, 2])); // a frame started at 1 ms
    clock.mono = T.firstByteMs + 1;
    conns.sweep(clock.mono);
    assert.equal(lastError(silent1).message, `No data within ${T.firstByteMs} ms`);
    assert.equal(lastError(framing).message, `Frame not complete within ${T.frameMs} ms`);
    assert.deepEqual(silent2.written.at(-1), silent1.written.at(-1), "the same deadline, the same bytes");
    assert.equal(lastError(silent2).code, "TIMEOUT");
    assert.equal(lastError(framing).code, "TIMEOUT");
  });
  test("an answered peer that never closes is destroyed after handshake + frame windows, not before", () => {
    const { clock, conns } = setup();
    const c = new FakeConn();
    const s = conns.open(c);
    conns.data(s, solutionFor(challengeOf(c)));
    assert.equal(c.messages().at(-1)!.type, MessageType.Quote);
    assert.equal(c.ended, true);
    clock.mono = T.handshakeMs + T.frameMs;
    conns.sweep(clock.mono);
    assert.equal(c.destroyed, false);
    clock.mono = T.handshakeMs + T.frameMs + 1;
    conns.sweep(clock.mono);
    assert.equal(c.destroyed, true);
  });
});

describe("GateConnections: one Solution per connection", () => {
  test("a second Solution sent while the first is being checked (shared store) is ignored", async () => {
    const inner = new MemorySpentStore();
    let calls = 0;
    let release: () => void = () => {};
    const gateOpen = new Promise<void>((r) => (release = r));
    const store: SpentStore = {
      name: "slow", size: () => inner.size(), healthy: () => true, close: () => inner.close(),
      markSpent: async (k, e, n) => {
        calls++;
        await gateOpen;
        return inner.markSpent(k, e, n);
      },
    };
    const { conns, gate } = setup({ store });
    const c = new FakeConn();
    const s = conns.open(c);
    conns.data(s, solutionFor(challengeOf(c)));
    // a second, equally valid proof (a challenge issued to the same address) on the same connection
    conns.data(s, solutionFor(gate.issue(c.remoteAddress)));
    release();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls, 1);
    const kinds = c.messages().map((m) => m.type);
    assert.deepEqual(kinds, [MessageType.Challenge, MessageType.Quote]);
  });
  test("two Solutions in one chunk: the first is answered, the rest ignored", () => {
    const { conns, gate } = setup();
    const c = new FakeConn();
    const s = conns.open(c);
    const a = solutionFor(challengeOf(c)), b = solutionFor(gate.issue(c.remoteAddress));
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    conns.data(s, both);
    assert.deepEqual(c.messages().map((m) => m.type), [MessageType.Challenge, MessageType.Quote]);
    assert.equal(gate.store.size(), 1);
  });
});

describe("GateConnections while a shared limiter decides", () => {
  test("bytes that arrive before the challenge are held up to one frame, not without bound", () => {
    const never: RateLimiter = { name: "pending", take: () => new Promise<Take>(() => {}) };
    const bucket = { ratePerSec: 10, burst: 10 };
    const admission = new Admission({
      maxConnections: 100, maxConnectionsPerAddr: 10, maxConnectionsPerNet: 10, challengesPerAddr: bucket, challengesPerNet: bucket,
      solutionsPerAddr: bucket, maxOutstandingPerAddr: 10, ttlMs: 60_000,
    }, never);
    const { conns } = setup({ admission });
    const c = new FakeConn();
    const s: Session = conns.open(c);
    assert.equal(c.written.length, 0, "no challenge yet");
    for (let i = 0; i < 100; i++) conns.data(s, new Uint8Array(1000));
    const held = (s.early ?? []).reduce((n, b) => n + b.length, 0);
    assert.ok(held > 0 && held <= 4096 + 4 + 1000, `held ${held} bytes`);
  });
});

describe("deadline rules (pure)", () => {
  const base = { openedAt: 0, challengedAt: 10, gotByte: false, proxy: null, frameStartedAt: 0, phase: Phase.Waiting, firstByteMs: 1000, frameMs: 500 };
  test("each deadline fires just after its window and names itself; the whole handshake comes first", () => {
    assert.equal(overdue(base, 1010, 4000), null);
    assert.match(overdue(base, 1011, 4000)!, /No data within 1000 ms/);
    const framing = { ...base, gotByte: true, frameStartedAt: 100 };
    assert.equal(overdue(framing, 600, 4000), null);
    assert.match(overdue(framing, 601, 4000)!, /Frame not complete within 500 ms/);
    const proxied = { ...base, proxy: {} };
    assert.equal(overdue(proxied, 500, 4000), null);
    assert.match(overdue(proxied, 501, 4000)!, /No PROXY protocol header/);
    assert.match(overdue(framing, 4001, 4000)!, /Handshake not finished within 4000 ms/);
    assert.equal(overdue({ ...framing, phase: Phase.Verifying }, 3000, 4000), null, "no frame deadline while the answer is pending");
  });
  test("an answered connection is held at most handshake + frame windows", () => {
    assert.equal(answeredTooLong(4500, { handshakeMs: 4000, frameMs: 500 }), false);
    assert.equal(answeredTooLong(4501, { handshakeMs: 4000, frameMs: 500 }), true);
  });
});

describe("GateConnections as a guard, while a shared limiter decides (reconnect mode)", () => {
  test("the stream bytes sent after the Solution, in later chunks, all reach the passage in order", async () => {
    // Limiter answers wait until the test releases them, as a Redis limiter's round trips do.
    const pending: (() => void)[] = [];
    const slow: RateLimiter = { name: "slow", take: () => new Promise<Take>((r) => pending.push(() => r({ ok: true }))) };
    const bucket = { ratePerSec: 100, burst: 100 };
    const admission = new Admission({
      maxConnections: 100, maxConnectionsPerAddr: 10, maxConnectionsPerNet: 10, challengesPerAddr: bucket, challengesPerNet: bucket,
      solutionsPerAddr: bucket, maxOutstandingPerAddr: 10, ttlMs: 60_000,
    }, slow);
    const grants: PassageGrant[] = [];
    const passages: Passages = {
      open: (_c, g): Passage => (grants.push(g), { data() {}, end() {}, close() {}, sweep() {}, reason: "served" }),
    };
    const { conns, gate } = setup({ admission, passages });
    const earlier = gate.issue("192.0.2.7"); // the challenge of an earlier connection (reconnect mode)
    const c = new FakeConn();
    const s = conns.open(c);
    const enc = new TextEncoder();
    conns.data(s, solutionFor(earlier));
    conns.data(s, enc.encode("SSH-2.0-banner\r\n"));
    conns.data(s, enc.encode("more"));
    for (let i = 0; i < 20 && grants.length === 0; i++) {
      while (pending.length > 0) pending.shift()!();
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(grants.length, 1, "the proof opened a passage");
    const held = new TextDecoder().decode(Uint8Array.from(grants[0]!.held.flatMap((b) => [...b])));
    assert.equal(held, "SSH-2.0-banner\r\nmore", "no byte of the stream was dropped");
  });
});
