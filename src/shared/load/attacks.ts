/**
 * Attack profiles for `wisdom load`: each runs until its deadline with bounded concurrency, against
 * loopback only, and counts what the server did. Every profile uses its own block of source addresses.
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { challengePrefix } from "../pow/challenge.ts";
import { encodeCounter, meetsDifficulty, solveReference } from "../pow/hashcash.ts";
import { encodeFrame, MessageType } from "../protocol/frame.ts";
import { type Challenge, encodeSolution, type Message } from "../protocol/messages.ts";
import { next, open, sleep, type Target } from "./_conn.ts";
import { BLOCKS } from "./sources.ts";

export type { Target } from "./_conn.ts";

export interface AttackCounts {
  connects: number;
  connectErrors: number;
  challenges: number;
  refused: number;
  errorsByCode: Record<string, number>;
  /** Quotes obtained without the work (must stay 0). */
  accepted: number;
  /** Wrong answers that met the difficulty by chance (not attacks that worked). */
  lucky: number;
  maxBits: number;
}

export const newCounts = (): AttackCounts => ({ connects: 0, connectErrors: 0, challenges: 0, refused: 0, errorsByCode: {}, accepted: 0, lucky: 0, maxBits: 0 });

function note(c: AttackCounts, m: Message): void {
  if (m.type === MessageType.Challenge) {
    c.challenges++;
    c.maxBits = Math.max(c.maxBits, m.body.bits);
  } else if (m.type === MessageType.Error) {
    c.errorsByCode[m.body.code] = (c.errorsByCode[m.body.code] ?? 0) + 1;
    if (m.body.code === "BUSY" || m.body.code === "RATE_LIMITED") c.refused++;
  } else if (m.type === MessageType.Quote) {
    c.accepted++;
  }
}

/** Run `worker` on `width` parallel lanes until the deadline. */
/** `n` numbers the connections across lanes (it * width + lane), so concurrent lanes use different source addresses. */
async function lanes(t: Target, width: number, worker: (lane: number, iteration: number, n: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: width }, async (_, lane) => {
      for (let it = 0; performance.now() < t.until; it++) await worker(lane, it, it * width + lane);
    }),
  );
}

/** Connection flood: connect, read the first frame, close; `width` in flight. */
export async function flood(t: Target, c: AttackCounts, width = 64): Promise<void> {
  await lanes(t, width, async (_lane, _it, n) => {
    const o = await open(t, c, BLOCKS.flood, n);
    if (!o) return sleep(5);
    const m = await next(o.reader, 2000);
    if (m) note(c, m);
    o.conn.destroy();
  });
}

/** Slowloris: hold `count` connections, half silent, half dripping one byte of a valid header per second; reopen when closed. */
export async function slowloris(t: Target, c: AttackCounts, count: number): Promise<void> {
  let opened = 0;
  await Promise.all(
    Array.from({ length: count }, async (_, k) => {
      // stagger the start so the accept queue is not hit with all at once
      await sleep((k / count) * 1000);
      while (performance.now() < t.until) {
        const o = await open(t, c, BLOCKS.slowloris, opened++);
        if (!o) {
          await sleep(200);
          continue;
        }
        const first = await next(o.reader, 2000);
        if (first) note(c, first);
        const header = [1, 2, 0x0f, 0xff];
        let b = 0;
        while (!o.reader.closed && performance.now() < t.until) {
          if (k % 2 === 1) o.conn.write(new Uint8Array([header[b++ % header.length]!]));
          const m = await next(o.reader, 1000);
          if (m) note(c, m);
        }
        o.conn.destroy();
      }
    }),
  );
}

function rnd(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Junk: random bytes, bad versions and types, oversized and undersized lengths, bad JSON. */
export async function junk(t: Target, c: AttackCounts, width = 8): Promise<void> {
  const shapes: (() => Uint8Array)[] = [
    () => rnd(1 + (rnd(1)[0]! % 200)),
    () => new Uint8Array([1, 2, 0xff, 0xff]),
    () => new Uint8Array([9, 2, 0, 4, 1, 2, 3, 4]),
    () => new Uint8Array([1, 77, 0, 1, 0]),
    () => encodeFrame(MessageType.Solution, new TextEncoder().encode("{not json")),
    () => encodeFrame(MessageType.Solution, new TextEncoder().encode('{"challenge":{"v":2},"counter":7}')),
    () => encodeFrame(MessageType.Quote, new TextEncoder().encode('{"quote":"x","author":"y"}')),
    () => new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
  ];
  await lanes(t, width, async (_lane, it, n) => {
    const o = await open(t, c, BLOCKS.junk, n);
    if (!o) return sleep(5);
    const first = await next(o.reader, 2000);
    if (first) note(c, first);
    o.conn.write(shapes[it % shapes.length]!());
    const m = await next(o.reader, 2000);
    if (m) note(c, m);
    o.conn.destroy();
  });
}

/** Solve a challenge from `addr`'s connection the slow, obvious way. */
function solveOf(ch: Challenge): string {
  return bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits, 0, 2 ** 40)));
}

/** Replay: solve one challenge once (and redeem it), then resend that same solution again and again. */
export async function replay(t: Target, c: AttackCounts, maxBitsToSolve: number): Promise<void> {
  let sol: Uint8Array | null = null;
  while (!sol && performance.now() < t.until) {
    const o = await open(t, c, BLOCKS.replay, 0);
    if (!o) {
      await sleep(100);
      continue;
    }
    const m = await next(o.reader, 2000);
    if (m?.type === MessageType.Challenge && m.body.bits <= maxBitsToSolve) {
      note(c, m);
      sol = encodeSolution({ challenge: m.body, counter: solveOf(m.body) });
      o.conn.write(sol);
      const first = await next(o.reader, 5000);
      if (first?.type !== MessageType.Quote) sol = null; // not redeemed: try again
    } else if (m) {
      note(c, m);
      await sleep(200);
    }
    o.conn.destroy();
  }
  if (!sol) return;
  await lanes(t, 4, async () => {
    const o = await open(t, c, BLOCKS.replay, 0); // the address the challenge is bound to
    if (!o) return sleep(5);
    const first = await next(o.reader, 2000);
    if (first) note(c, first);
    o.conn.write(sol!);
    const m = await next(o.reader, 2000);
    if (m) note(c, m);
    o.conn.destroy();
    await sleep(20);
  });
}

/** Forge: take a real challenge and tamper with a signed field, then answer the tampered puzzle. */
export async function forge(t: Target, c: AttackCounts, width = 4): Promise<void> {
  const tampers: ((ch: Challenge) => Challenge)[] = [
    (ch) => ({ ...ch, bits: 0 }),
    (ch) => ({ ...ch, bits: Math.max(0, ch.bits - 8) }),
    (ch) => ({ ...ch, exp: ch.exp + 3_600_000 }),
    (ch) => ({ ...ch, iat: ch.iat - 1, exp: ch.exp - 1 }),
    (ch) => ({ ...ch, mac: bytesToHex(rnd(32)), bits: 0 }),
    (ch) => ({ ...ch, kid: "forged", bits: 0 }),
    (ch) => ({ ...ch, addr: "10.9.8.7", bits: 0 }),
  ];
  await lanes(t, width, async (_lane, it, n) => {
    const o = await open(t, c, BLOCKS.forge, n);
    if (!o) return sleep(5);
    const m = await next(o.reader, 2000);
    if (m) note(c, m);
    if (m?.type === MessageType.Challenge) {
      const f = tampers[it % tampers.length]!(m.body);
      const counter = f.bits <= 12 ? solveOf(f) : "0000000000000000";
      o.conn.write(encodeSolution({ challenge: f, counter }));
      const r = await next(o.reader, 2000);
      if (r) note(c, r);
    }
    o.conn.destroy();
  });
}

/** Wrong: real challenges answered with random counters. */
export async function wrong(t: Target, c: AttackCounts, width = 4): Promise<void> {
  await lanes(t, width, async (_lane, _it, n) => {
    const o = await open(t, c, BLOCKS.wrong, n);
    if (!o) return sleep(5);
    const m = await next(o.reader, 2000);
    if (m) note(c, m);
    if (m?.type === MessageType.Challenge) {
      const counter = rnd(8);
      o.conn.write(encodeSolution({ challenge: m.body, counter: bytesToHex(counter) }));
      const r = await next(o.reader, 2000);
      // A random counter meets b bits with probability 2^-b: a quote for one that really meets the
      // difficulty is honest luck; only a quote for one that does not is an accepted attack.
      if (r?.type === MessageType.Quote && meetsDifficulty(challengePrefix(m.body), counter, m.body.bits)) c.lucky++;
      else if (r) note(c, r);
    }
    o.conn.destroy();
  });
}
