/** The HTTP side listener: /metrics after real traffic (checked by promtool), /healthz, /readyz, /debug/runtime. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fetchQuote } from "../../src/shared/client/fetch.ts";
import { FrameReader } from "../../src/shared/client/frame-reader.ts";
import { encodeSolution, type Challenge } from "../../src/shared/protocol/messages.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { promtool } from "../helpers/promtool.ts";
import { referenceSolver, testServer } from "../helpers/server.ts";

const t = await pickTransport();
const get = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() };
};

describe("metrics and health over HTTP", () => {
  test("/metrics counts real traffic by reason, and promtool check metrics reports nothing", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0" });
    const port = srv.http!.port;
    await fetchQuote("127.0.0.1", srv.port, { transport: t, solver: referenceSolver, timeoutMs: 5000 });
    // a replay of a fresh solution, and junk
    const reader = new FrameReader();
    const conn = await t.connect("127.0.0.1", srv.port, reader);
    const ch = (await reader.next()).body as Challenge;
    conn.write(encodeSolution({ challenge: { ...ch, bits: 0 }, counter: "0000000000000000" }));
    await reader.next();
    const junk = new FrameReader();
    const jc = await t.connect("127.0.0.1", srv.port, junk);
    await junk.next();
    jc.write(new Uint8Array([7, 7, 7, 7]));
    await junk.next();
    const m = await get(port, "/metrics");
    assert.equal(m.status, 200);
    assert.match(m.type, /text\/plain/);
    for (const re of [
      /^wisdom_quotes_served_total\{source="embedded"\} 1$/m,
      /^wisdom_proofs_verified_total 1$/m,
      /^wisdom_proofs_failed_total\{reason="bad_signature"\} 1$/m,
      /^wisdom_frames_rejected_total\{reason="bad_frame"\} 1$/m,
      /^wisdom_challenges_issued_total 3$/m,
      /^wisdom_connections_accepted_total 3$/m,
      /^wisdom_difficulty 4$/m,
      /^wisdom_build_info\{version="[^"]+",commit="[^"]+",runtime="(bun|deno)"\} 1$/m,
      /^wisdom_handshake_duration_seconds_count \d+$/m,
      /^process_resident_memory_bytes \d+/m,
    ]) assert.match(m.text, re);
    const check = promtool(["check", "metrics"], m.text);
    assert.equal(check.code, 0, check.out);
    assert.equal(check.out.trim(), "", `promtool found problems:\n${check.out}`);
  });

  test("/healthz is 200 while alive; /readyz is 200 when ready and 503 while draining", async () => {
    const srv = await testServer({ metrics_listen: "127.0.0.1:0", shutdown_grace_ms: 2000 });
    const port = srv.http!.port;
    const h = await get(port, "/healthz");
    assert.equal(h.status, 200);
    assert.equal(JSON.parse(h.text).status, "ok");
    const r = await get(port, "/readyz");
    assert.deepEqual([r.status, JSON.parse(r.text)], [200, { ready: true, reasons: [] }]);
    // hold a connection open so the drain waits, and look at /readyz meanwhile
    const held = new FrameReader();
    const conn = await t.connect("127.0.0.1", srv.port, held);
    await held.next();
    const closing = srv.close();
    await new Promise((res) => setTimeout(res, 100));
    const d = await get(port, "/readyz");
    assert.equal(d.status, 503);
    assert.deepEqual(JSON.parse(d.text).reasons, ["draining"]);
    conn.end();
    await closing;
  });

  test("/debug/runtime is 404 unless enabled, then JSON with heap, RSS, loop delay, uptime, connections", async () => {
    await using off = await testServer({ metrics_listen: "127.0.0.1:0" });
    assert.equal((await get(off.http!.port, "/debug/runtime")).status, 404);
    await using on = await testServer({ metrics_listen: "127.0.0.1:0", debug_runtime: "on" });
    const d = await get(on.http!.port, "/debug/runtime");
    assert.equal(d.status, 200);
    const j = JSON.parse(d.text);
    for (const k of ["uptime_s", "rss_bytes", "heap_used_bytes", "event_loop_delay_ms", "open_connections"]) assert.equal(typeof j[k], "number", k);
  });

  test("an HTTP/1.0 request without Host (HAProxy's health check) is routed", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0" });
    const { connect } = await import("node:net");
    const reply = await new Promise<string>((resolve) => {
      let d = "";
      const s = connect(srv.http!.port, "127.0.0.1", () => s.write("GET /readyz HTTP/1.0\r\n\r\n"));
      s.on("data", (x) => (d += x));
      s.on("close", () => resolve(d));
    });
    assert.match(reply, /^HTTP\/1\.[01] 200/);
    assert.match(reply, /"ready":true/);
  });

  test("wisdom healthcheck exits 0 against /healthz and 1 against a closed port", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0" });
    const { runCli } = await import("../helpers/cli.ts");
    assert.equal((await runCli(["healthcheck", `http://127.0.0.1:${srv.http!.port}/healthz`])).code, 0);
    const down = await runCli(["healthcheck", "http://127.0.0.1:1/healthz"]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /127\.0\.0\.1:1/);
    assert.equal((await runCli(["healthcheck", "ftp://x"])).code, 2);
  });

  test("unknown paths are a JSON 404", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0" });
    const r = await get(srv.http!.port, "/nope");
    assert.equal(r.status, 404);
    assert.ok(JSON.parse(r.text).paths.includes("/metrics"));
  });
});
