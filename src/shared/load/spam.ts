/**
 * The solving flood for `wisdom load --profile spam`: attackers that do the work. Each runner owns one
 * solver and keeps a few exchanges in flight (closed loop): while one challenge is being solved the others
 * already hold theirs, so the solver never waits for the network. Every exchange comes from the next
 * address of the spam block, and a refusal moves on to the next address instead of backing off.
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import type { SolverLike } from "../client/fetch.ts";
import { challengePrefix } from "../pow/challenge.ts";
import { encodeCounter } from "../pow/hashcash.ts";
import { MessageType } from "../protocol/frame.ts";
import { encodeSolution } from "../protocol/messages.ts";
import { type ConnectCounts, next, open, sleep, type Target } from "./_conn.ts";
import { BLOCKS } from "./sources.ts";

export interface SpamCounts extends ConnectCounts {
  challenges: number;
  /** Challenges solved, whether or not the answer won a quote. */
  solves: number;
  quotes: number;
  /** Solver attempts of the solves that won a quote, and the solving time they took. */
  attempts: number;
  solveMsTotal: number;
  /** Lowest and highest difficulty of the challenges received (minBits: Infinity until one). */
  minBits: number;
  maxBits: number;
  /** Exchanges that ended without a quote, by the server's error code or NO_CHALLENGE, NO_REPLY, PROTOCOL. */
  failures: Record<string, number>;
}

export const newSpam = (): SpamCounts => ({ connects: 0, connectErrors: 0, challenges: 0, solves: 0, quotes: 0, attempts: 0, solveMsTotal: 0, minBits: Infinity, maxBits: 0, failures: {} });

export interface SpamOptions {
  solver: SolverLike;
  /** Exchanges in flight (default 3). */
  lanes?: number;
  /** Source indices taken: offset, offset + stride, ... so that several runners never share an address. */
  offset?: number;
  stride?: number;
}

/** An answer later than this before the challenge's answer window closes goes on a new connection. */
const _WINDOW_MARGIN_MS = 250;

/** Runs until `t.until`; a solve in progress then is abandoned. */
export async function spam(t: Target, c: SpamCounts, o: SpamOptions): Promise<void> {
  const stride = o.stride ?? 1;
  const offset = o.offset ?? 0;
  let k = 0;
  const fail = (code: string) => void (c.failures[code] = (c.failures[code] ?? 0) + 1);

  const exchange = async (index: number): Promise<void> => {
    let conn = await open(t, c, BLOCKS.spam, index);
    if (!conn) return sleep(5);
    try {
      const m = await next(conn.reader, 2000);
      if (m?.type !== MessageType.Challenge) {
        fail(m === null ? "NO_CHALLENGE" : m.type === MessageType.Error ? m.body.code : "PROTOCOL");
        // A refusal is the defence working: move to the next address, without spinning on refusals.
        if (m?.type === MessageType.Error) await sleep(Math.min(m.body.retry_after_ms ?? 10, 100));
        return;
      }
      const ch = m.body;
      const got = performance.now();
      c.challenges++;
      c.minBits = Math.min(c.minBits, ch.bits);
      c.maxBits = Math.max(c.maxBits, ch.bits);
      const left = t.until - got;
      if (left <= 0) return;
      let solved;
      try {
        solved = await o.solver.solve(challengePrefix(ch), ch.bits, { signal: AbortSignal.timeout(left) });
      } catch {
        return; // the deadline passed during the solve (or while waiting for the solver)
      }
      c.solves++;
      if (conn.reader.closed || performance.now() - got > (ch.window_ms ?? 0) - _WINDOW_MARGIN_MS) {
        // The same-connection window has passed: answer on a new connection from the same address.
        conn.conn.destroy();
        conn = await open(t, c, BLOCKS.spam, index);
        if (!conn) return;
        await next(conn.reader, 2000); // its own fresh challenge (or a refusal): we answer the solved one
      }
      conn.conn.write(encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solved.counter)) }));
      const r = await next(conn.reader, 5000);
      if (r?.type === MessageType.Quote) {
        c.quotes++;
        c.attempts += solved.attempts;
        c.solveMsTotal += solved.elapsedMs;
      } else fail(r === null ? "NO_REPLY" : r.type === MessageType.Error ? r.body.code : "PROTOCOL");
    } finally {
      conn?.conn.destroy();
    }
  };

  await Promise.all(
    Array.from({ length: o.lanes ?? 3 }, async () => {
      while (performance.now() < t.until) await exchange(offset + stride * k++);
    }),
  );
}
