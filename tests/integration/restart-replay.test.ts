/**
 * Restart-safe replay protection with the memory store (issue 16): a proof redeemed before a crash
 * (kill -9) is not redeemed again by the next process, though it holds the same secret and its spent
 * set starts empty. Real `wisdom serve` processes, real sockets on loopback.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { bytesToHex } from "@noble/hashes/utils.js";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { FrameDecoder, MessageType } from "../../src/shared/protocol/frame.ts";
import { decodeMessage, encodeSolution, type Challenge, type ErrorMessage, type Message } from "../../src/shared/protocol/messages.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { signal, spawnCli } from "../helpers/cli.ts";
import { rawConnect } from "../helpers/server.ts";

const t = await pickTransport();
const SECRET = "restart-replay-test-secret-0123456789abcdef";

interface Serve { child: ChildProcess; port: number; stderr: () => string }

async function startServe(): Promise<Serve> {
  const child = spawnCli(["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--difficulty", "8", "--adaptive", "off"], { WISDOM_SECRET: SECRET });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  child.stdout!.resume();
  const end = performance.now() + 20_000;
  while (performance.now() < end) {
    const m = /"msg":"listening","address":"127\.0\.0\.1:(\d+)"/.exec(err);
    if (m) return { child, port: Number(m[1]), stderr: () => err };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  signal(child, "SIGKILL");
  throw new Error(`wisdom serve did not start: ${err}`);
}

async function exchange(port: number, send?: (ch: Challenge) => Uint8Array): Promise<{ challenge: Challenge; answer: Message | null }> {
  const c = await rawConnect(t, port);
  const read = () => { try { return new FrameDecoder().push(c.bytes()).map(decodeMessage); } catch { return []; } };
  const end = performance.now() + 5000;
  while (read().length < 1 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  const challenge = read()[0]!.body as Challenge;
  if (!send) {
    c.conn.end();
    return { challenge, answer: null };
  }
  c.conn.write(send(challenge));
  while (read().length < 2 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  c.conn.end();
  return { challenge, answer: read()[1] ?? null };
}

const solve = (ch: Challenge) => encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits))) });

describe("memory store across a crash (kill -9) and restart", () => {
  test("a proof redeemed before the crash is refused after it (EXPIRED, never a second quote); new fetches are served", async () => {
    const a = await startServe();
    let b: Serve | null = null;
    try {
      let saved: Uint8Array | null = null;
      const first = await exchange(a.port, (ch) => (saved = solve(ch)));
      assert.equal(first.answer?.type, MessageType.Quote, "served before the crash");
      const again = await exchange(a.port, () => saved!);
      assert.equal((again.answer?.body as ErrorMessage).code, "REPLAY", "the same process refuses the replay");
      const unsolved = (await exchange(a.port)).challenge; // issued by the first process, redeemed only later
      signal(a.child, "SIGKILL");
      await new Promise((r) => a.child.once("close", r));

      b = await startServe();
      const replay = await exchange(b.port, () => saved!);
      assert.equal(replay.answer?.type, MessageType.Error);
      assert.equal((replay.answer!.body as ErrorMessage).code, "EXPIRED", "the restarted process does not accept the redeemed proof");
      assert.match((replay.answer!.body as ErrorMessage).message, /before this server started/);
      const late = await exchange(b.port, () => solve(unsolved));
      assert.equal((late.answer?.body as ErrorMessage).code, "EXPIRED", "the price: a challenge from before the restart is asked again");
      const fresh = await exchange(b.port, solve);
      assert.equal(fresh.answer?.type, MessageType.Quote, "a fresh fetch is served");
      assert.match(b.stderr(), /a fixed secret with store: memory/, "warns that instances sharing the secret do not share spent sets");
      assert.doesNotMatch(b.stderr(), new RegExp(SECRET), "the secret is never logged");
    } finally {
      signal(a.child, "SIGKILL");
      if (b) signal(b.child, "SIGKILL");
    }
  });
});
