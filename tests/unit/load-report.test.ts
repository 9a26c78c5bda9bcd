/** loadReport() (src/shared/load/report.ts): the phases, the shares and the runners' sums, from counts alone. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { newLegit } from "../../src/shared/load/legit.ts";
import { loadReport, type RunOutcome } from "../../src/shared/load/report.ts";
import { newSpam } from "../../src/shared/load/spam.ts";

function outcome(over: Partial<RunOutcome> = {}): RunOutcome {
  return {
    profiles: ["legit"], restS: 0, durationS: 1, legitIsolation: "worker", legitRest: null, legitAttack: newLegit(),
    spamThreads: 0, spamIsolation: null, spam: [], attacks: {}, rssRestMb: null, rssMaxMb: null, restView: null, attackView: null, scrapeErrors: null,
    ...over,
  };
}

describe("loadReport()", () => {
  test("compares the attack phase's honest p99 with the rest phase's", () => {
    const rest = { ...newLegit(), ok: 4, latencies: [10, 12, 14, 20], minBits: 8, maxBits: 9 };
    const attack = { ...newLegit(), ok: 3, failed: 1, failures: { TIMEOUT: 1 }, latencies: [30, 40, 50], minBits: 9, maxBits: 12 };
    const r = loadReport(outcome({ legitRest: rest, legitAttack: attack }));
    assert.equal(r.legit_p99_rest_ms, 20);
    assert.equal(r.legit_p99_ms, 50);
    assert.equal(r.legit_p99_ratio, 2.5);
    assert.equal(r.legit_success_rate_rest, 1);
    assert.equal(r.legit_success_rate, 0.75);
    assert.deepEqual([r.difficulty_min, r.difficulty_max, r.difficulty_rest_min, r.difficulty_rest_max, r.difficulty_attack_min, r.difficulty_attack_max], [8, 12, 8, 9, 9, 12]);
  });

  test("without a rest phase or quotes, the fields that cannot be measured are null, not 0", () => {
    const r = loadReport(outcome());
    for (const k of ["legit_p50_rest_ms", "legit_p99_rest_ms", "legit_p99_ms", "legit_p99_ratio", "legit_success_rate_rest", "legit_success_rate", "difficulty_min", "difficulty_max", "spam_share_of_quotes", "server_handshake_p99_ms"]) {
      assert.equal(r[k], null, k);
    }
  });

  test("adds up the spam runners (their hash rates too) and gives the shares over spam + legit", () => {
    const a = { ...newSpam(), quotes: 30, solves: 31, attempts: 3_000_000, solveMsTotal: 300, minBits: 12, maxBits: 13, failures: { RATE_LIMITED: 2 } };
    const b = { ...newSpam(), quotes: 10, solves: 10, attempts: 1_000_000, solveMsTotal: 200, minBits: 14, maxBits: 14, failures: { RATE_LIMITED: 1, NO_REPLY: 1 } };
    const legit = { ...newLegit(), ok: 10, latencies: Array(10).fill(5), attempts: 1_000_000, solveMsTotal: 500, minBits: 12, maxBits: 12 };
    const r = loadReport(outcome({ profiles: ["legit", "spam"], spamThreads: 2, spamIsolation: "worker", spam: [a, b], legitAttack: legit }));
    assert.equal(r.spam_quotes, 40);
    assert.equal(r.spam_solves, 41);
    assert.equal(r.spam_hashes, 4_000_000);
    assert.equal(r.spam_solver_hps, 15_000_000, "10 M/s + 5 M/s on two threads");
    assert.equal(r.legit_solver_hps, 2_000_000);
    assert.deepEqual([r.spam_difficulty_min, r.spam_difficulty_max], [12, 14]);
    assert.equal(r.spam_share_of_quotes, 0.8);
    assert.equal(r.spam_share_of_hashes, 0.8);
    assert.deepEqual((r.attacks as Record<string, { errors: unknown }>).spam.errors, { RATE_LIMITED: 3, NO_REPLY: 1 });
    assert.equal(r.attack_accepted, 0, "quotes the flood paid for are not accepted attacks");
  });
});
