/** The fetch progress line is memoryless: the expected time left never counts down to zero. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { progressFigures, progressLine } from "../../src/shared/client/progress.ts";

describe("progressFigures()", () => {
  test("the expected time left is 2^bits / rate at any point, however many attempts were made", () => {
    const rate = 1e6; // attempts per second
    const at = (attempts: number) => progressFigures({ bits: 24, attempts, elapsedMs: (attempts / rate) * 1000 });
    const expected = 2 ** 24 / rate;
    for (const attempts of [1e6, 2 ** 24, 5 * 2 ** 24]) assert.ok(Math.abs(at(attempts).expectedLeftS - expected) < 1e-9, `${attempts}`);
  });
  test("the share of solves done by now is 1 - (1 - 2^-bits)^attempts: 63 % after 2^bits attempts", () => {
    const f = progressFigures({ bits: 20, attempts: 2 ** 20, elapsedMs: 1000 });
    assert.ok(Math.abs(f.doneByNow - (1 - Math.exp(-1))) < 1e-4, String(f.doneByNow));
    assert.equal(progressFigures({ bits: 20, attempts: 0, elapsedMs: 1000 }).doneByNow, 0);
  });
  test("90 % of solves end within ln(10) x 2^bits attempts", () => {
    const f = progressFigures({ bits: 20, attempts: 2 ** 20, elapsedMs: 1000 }); // 2^20 attempts/s
    assert.ok(Math.abs(f.p90TotalS - Math.log(10)) < 1e-3, String(f.p90TotalS));
  });
});

describe("progressLine()", () => {
  test("nothing for a short solve; a line that never says 0.0 s left for a long one past its mean", () => {
    assert.equal(progressLine({ bits: 10, attempts: 500, elapsedMs: 5 }), null);
    const late = progressLine({ bits: 27, attempts: 2 * 2 ** 27, elapsedMs: 20_000 })!;
    assert.match(late, /^solving 27-bit puzzle: 268\.4M attempts at 13\.4 M\/s; ~10 s expected from here, 86% of solves end by now, 90% within 23 s$/);
    assert.doesNotMatch(late, /~0\.0 s/);
  });
});
