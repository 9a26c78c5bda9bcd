/**
 * A real `wisdom serve --threads 2` process: SIGHUP reaches every gate thread, SIGTERM drains the
 * handshakes in flight on every thread, and /metrics is one for the process.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesToHex } from "@noble/hashes/utils.js";
import { FrameReader } from "../../src/shared/client/frame-reader.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { MessageType } from "../../src/shared/protocol/frame.ts";
import { type Challenge, encodeSolution } from "../../src/shared/protocol/messages.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { spawnServer } from "../helpers/cli.ts";
import { waitFor } from "../helpers/server.ts";

const t = await pickTransport();

async function hold(port: number) {
  const reader = new FrameReader();
  const conn = await t.connect("127.0.0.1", port, reader);
  const ch = (await reader.next()).body as Challenge;
  return {
    ch,
    /** Answer the challenge; the type of the server's reply. */
    async answer(): Promise<MessageType> {
      conn.write(encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits))) }));
      return (await reader.next()).type;
    },
  };
}

describe("wisdom serve --threads 2 (a real process)", () => {
  test("SIGHUP reaches every thread, SIGTERM drains every thread's handshakes, one /metrics", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wisdom-threads-"));
    const file = join(dir, "w.yaml");
    writeFileSync(file, "difficulty: 3\nadaptive: off\nmax_connections_per_addr: 1000\nmax_connections_per_net: 1000\nchallenge_rate: 1000\nchallenge_burst: 1000\nmax_outstanding: 1000\nescalation_max_bits: 0\nshutdown_grace_ms: 5000\n");
    await using srv = await spawnServer(["--config", file, "--threads", "2"], { WISDOM_SECRET: "threads-secret-0123456789abcdef" });
    assert.match(srv.stderr, /"msg":"listening"[^\n]*"threads":2/);
    const before = await Promise.all(Array.from({ length: 8 }, () => hold(srv.port)));
    assert.ok(before.every((h) => h.ch.bits === 3));
    writeFileSync(file, "difficulty: 5\nadaptive: off\nmax_connections_per_addr: 1000\nmax_connections_per_net: 1000\nchallenge_rate: 1000\nchallenge_burst: 1000\nmax_outstanding: 1000\nescalation_max_bits: 0\nshutdown_grace_ms: 5000\n");
    srv.signal("SIGHUP");
    await waitFor(() => srv.stderr.includes('"msg":"configuration reloaded"'), 10_000, "reload log line");
    assert.doesNotMatch(srv.stderr, /did not take the reload/);
    const after = await Promise.all(Array.from({ length: 20 }, () => hold(srv.port)));
    assert.deepEqual([...new Set(after.map((h) => h.ch.bits))], [5], "every thread asks the new difficulty");
    for (const h of before) assert.equal(await h.answer(), MessageType.Quote, "a challenge issued before the reload still buys a quote");
    const text = await (await fetch(`http://127.0.0.1:${srv.metricsPort}/metrics`)).text();
    assert.match(text, /^wisdom_threads 2$/m);
    const accepted = [0, 1].map((i) => Number(new RegExp(`^wisdom_thread_connections_accepted_total\\{thread="${i}"\\} (\\d+)`, "m").exec(text)?.[1]));
    assert.equal(accepted[0]! + accepted[1]!, 28, `accepts by thread: ${accepted}`);
    assert.ok(accepted.every((n) => n > 0), `both threads took connections: ${accepted}`);
    assert.match(text, /^wisdom_quotes_served_total\{source="embedded"\} 8$/m);
    // Shutdown: the handshakes in flight on both threads finish within the grace period.
    srv.signal("SIGTERM");
    await waitFor(() => srv.stderr.includes('"msg":"shutting down"'), 10_000, "shutting down");
    const answers = await Promise.all(after.map((h) => h.answer()));
    assert.deepEqual([...new Set(answers)], [MessageType.Quote]);
    assert.equal(await srv.exited, 0);
    assert.match(srv.stderr, /"msg":"stopped"/);
  });
});
