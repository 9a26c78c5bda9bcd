/**
 * With a shared (Redis) rate limiter, admission answers asynchronously: bytes a client sends before its
 * challenge went out (a reconnect-mode client sending its Solution at once) are kept and answered.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex } from "@noble/hashes/utils.js";
import { FrameReader } from "../../src/shared/client/frame-reader.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { MessageType } from "../../src/shared/protocol/frame.ts";
import { encodeSolution, type Challenge } from "../../src/shared/protocol/messages.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { startRedis } from "../helpers/redis.ts";
import { testServer } from "../helpers/server.ts";

const t = await pickTransport();

describe("asynchronous admission (Redis limiter)", () => {
  test("a Solution sent before the challenge arrives is held and answered", async () => {
    await using redis = await startRedis();
    // clock_skew_ms 0: the fence this first instance sets on an empty Redis (its clock plus the skew,
    // docs/OPERATIONS.md "Redis Sentinel") is then already behind the challenge below.
    await using srv = await testServer({ store: redis.url, store_failure: "fail-closed", clock_skew_ms: 0 });
    const first = new FrameReader();
    const c1 = await t.connect("127.0.0.1", srv.port, first);
    const ch = (await first.next()).body as Challenge;
    c1.end();
    const sol = encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits))) });
    const second = new FrameReader();
    const c2 = await t.connect("127.0.0.1", srv.port, second);
    c2.write(sol); // at once, while the server is still asking Redis about this client
    const m1 = await second.next();
    const m2 = m1.type === MessageType.Challenge ? await second.next() : m1;
    assert.equal(m2.type, MessageType.Quote, JSON.stringify(m2));
  });
});
