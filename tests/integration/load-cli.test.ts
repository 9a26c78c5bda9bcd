/**
 * `wisdom load` run in-process against a real server on 127.0.0.1 (difficulty 4, durations of a second or
 * two): the rest and attack phases both report, honest clients get quotes from their own worker, the
 * solving flood (`spam`) gets quotes and a share that adds up with the honest clients' to 1, and wrong
 * answers (`wrong`) still get nothing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { testServer } from "../helpers/server.ts";

type Report = Record<string, any>;

async function load(args: string[]): Promise<Report> {
  const r = await runCli(["load", ...args, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const isShare = (x: unknown) => typeof x === "number" && x >= 0 && x <= 1;

describe("wisdom load", () => {
  test("--help names the phases, the solving flood and the wrong-answer profile", async () => {
    const r = await runCli(["load", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of ["--rest", "--metrics", "--spam-threads", "wrong (wrong solutions)", "spam (a solving flood"]) assert.ok(r.stdout.includes(flag), flag);
  });

  test("usage errors: a --metrics URL off loopback, a negative --rest, an unknown profile", async () => {
    for (const args of [["--metrics", "http://10.0.0.1:9077/metrics"], ["--metrics", "not a url"], ["--rest", "-1"], ["--profile", "legit,nope"]]) {
      const r = await runCli(["load", "127.0.0.1:1", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    }
  });

  test("legit: a rest phase, then an attack phase, both measured from a worker, with the server's own view", async () => {
    await using srv = await testServer({ metrics_listen: "127.0.0.1:0", adaptive: "off" });
    const url = `http://127.0.0.1:${srv.http!.port}/metrics`;
    const r = await load([`127.0.0.1:${srv.port}`, "--profile", "legit", "--rest", "1", "--duration", "1", "--rate", "10", "--metrics", url]);
    assert.equal(r.legit_isolation, "worker");
    assert.ok(r.rest_s >= 1 && r.duration_s >= 1, `${r.rest_s} ${r.duration_s}`);
    for (const phase of ["_rest", ""]) {
      assert.ok(r[`legit_ok${phase}`] >= 5, `legit_ok${phase} ${r[`legit_ok${phase}`]}`);
      assert.equal(r[`legit_success_rate${phase}`], 1, JSON.stringify(r[`legit_failures${phase}`]));
    }
    for (const k of ["legit_p50_rest_ms", "legit_p99_rest_ms", "legit_p50_ms", "legit_p99_ms"]) assert.ok(typeof r[k] === "number" && r[k] >= 0 && r[k] < 2000, `${k} ${r[k]}`);
    assert.ok(r.legit_p50_rest_ms <= r.legit_p99_rest_ms);
    assert.ok(typeof r.legit_p99_ratio === "number" || r.legit_p99_rest_ms === 0, `ratio ${r.legit_p99_ratio}`);
    // Difficulty 4 with adaptation off, and a fresh address per fetch (no escalation).
    for (const k of ["difficulty_min", "difficulty_max", "difficulty_rest_min", "difficulty_rest_max", "difficulty_attack_min", "difficulty_attack_max"]) assert.equal(r[k], 4, k);
    // The server counted those handshakes and reports its own p99 and difficulty for each phase.
    assert.ok(r.server_handshakes_rest >= r.legit_ok_rest, `${r.server_handshakes_rest} >= ${r.legit_ok_rest}`);
    assert.ok(r.server_handshakes >= r.legit_ok, `${r.server_handshakes} >= ${r.legit_ok}`);
    for (const k of ["server_handshake_p99_rest_ms", "server_handshake_p99_ms"]) assert.ok(typeof r[k] === "number" && r[k] > 0 && r[k] <= 1000, `${k} ${r[k]}`);
    for (const k of ["server_difficulty_rest_min", "server_difficulty_rest_max", "server_difficulty_min", "server_difficulty_max"]) assert.equal(r[k], 4, k);
    assert.equal(r.metrics_scrape_errors, 0);
    assert.equal(r.spam_share_of_quotes, null, "no spam profile, no share");
    assert.equal(r.attack_accepted, 0);
  });

  test("spam: the solving flood gets quotes, and its shares add up with the honest clients' to 1", async () => {
    await using srv = await testServer({ adaptive: "off" });
    const r = await load([`127.0.0.1:${srv.port}`, "--profile", "legit,spam", "--rest", "0", "--duration", "1.5", "--rate", "10", "--spam-threads", "1"]);
    assert.equal(r.spam_isolation, "worker");
    assert.equal(r.spam_threads, 1);
    assert.ok(r.spam_quotes > 0 && r.spam_hashes > 0, `spam ${r.spam_quotes} quotes, ${r.spam_hashes} hashes`);
    assert.ok(r.legit_quotes > 0 && r.legit_hashes > 0, `legit ${r.legit_quotes} quotes, ${r.legit_hashes} hashes`);
    assert.equal(r.legit_quotes, r.legit_ok);
    assert.ok(r.spam_solves >= r.spam_quotes);
    assert.ok(isShare(r.spam_share_of_quotes) && isShare(r.spam_share_of_hashes));
    const quoteShare = r.spam_quotes / (r.spam_quotes + r.legit_quotes);
    assert.ok(Math.abs(r.spam_share_of_quotes - quoteShare) < 1e-4, `${r.spam_share_of_quotes} vs ${quoteShare}`);
    assert.ok(Math.abs(r.spam_share_of_quotes + r.legit_quotes / (r.spam_quotes + r.legit_quotes) - 1) < 1e-4);
    assert.ok(Math.abs(r.spam_share_of_hashes - r.spam_hashes / (r.spam_hashes + r.legit_hashes)) < 1e-4);
    // Per-address escalation may add up to 2 bits to the floor of 4.
    assert.ok(r.spam_difficulty_min >= 4 && r.spam_difficulty_max <= 6 && r.spam_difficulty_min <= r.spam_difficulty_max, `${r.spam_difficulty_min}..${r.spam_difficulty_max}`);
    assert.ok(r.spam_solver_hps > 0 && r.legit_solver_hps > 0);
    assert.equal(r.attacks.spam.quotes, r.spam_quotes);
    // No rest phase: its fields say so.
    assert.equal(r.legit_ok_rest, 0);
    assert.equal(r.legit_p99_rest_ms, null);
    assert.equal(r.legit_p99_ratio, null);
    assert.equal(r.attack_accepted, 0, "the solving flood does the work: its quotes are not accepted attacks");
  });

  test("wrong: real challenges answered with random counters get no quote", async () => {
    await using srv = await testServer({ difficulty: 12 });
    const r = await load([`127.0.0.1:${srv.port}`, "--profile", "wrong", "--rest", "0", "--duration", "1"]);
    assert.ok(r.attacks.wrong.challenges > 0, JSON.stringify(r.attacks.wrong));
    assert.ok((r.attacks.wrong.errors.INSUFFICIENT_WORK ?? 0) > 0, JSON.stringify(r.attacks.wrong.errors));
    assert.equal(r.wrong_accepted, 0);
    assert.equal(r.attack_accepted, 0);
    assert.equal(r.legit_isolation, null);
  });
});
