import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type BreakerState, CircuitBreaker } from "../../src/shared/quotes/breaker.ts";

function setup(failures = 3, cooldownMs = 1000) {
  let t = 0;
  const changes: [BreakerState, BreakerState][] = [];
  const b = new CircuitBreaker({ failures, cooldownMs }, () => t, (s, from) => changes.push([from, s]));
  return { b, changes, at: (ms: number) => void (t = ms) };
}

describe("CircuitBreaker", () => {
  test("stays closed below K consecutive failures; a success resets the count", () => {
    const { b, changes } = setup(3);
    b.failure();
    b.failure();
    assert.equal(b.state, "closed");
    assert.equal(b.failures, 2);
    b.success();
    assert.equal(b.failures, 0);
    b.failure();
    b.failure();
    assert.equal(b.state, "closed");
    assert.equal(b.acquire(), true);
    assert.deepEqual(changes, []);
  });

  test("opens after K consecutive failures and refuses calls until the cool-down has passed", () => {
    const { b, changes, at } = setup(3, 1000);
    at(100);
    for (let i = 0; i < 3; i++) b.failure();
    assert.equal(b.state, "open");
    assert.equal(b.allows(), false);
    assert.equal(b.acquire(), false);
    at(1099);
    assert.equal(b.state, "open", "not before the cool-down");
    assert.equal(b.acquire(), false);
    at(1100);
    assert.equal(b.state, "half_open");
    assert.deepEqual(changes, [["closed", "open"], ["open", "half_open"]]);
  });

  test("half-open lets exactly one trial through; its success closes the breaker", () => {
    const { b, changes, at } = setup(1, 500);
    b.failure();
    at(500);
    assert.equal(b.allows(), true);
    assert.equal(b.acquire(), true, "the trial");
    assert.equal(b.allows(), false);
    assert.equal(b.acquire(), false, "a second caller waits for the trial");
    b.success();
    assert.equal(b.state, "closed");
    assert.equal(b.acquire(), true);
    assert.equal(b.acquire(), true);
    assert.deepEqual(changes.map(([, s]) => s), ["open", "half_open", "closed"]);
  });

  test("a failed trial reopens the breaker for another full cool-down", () => {
    const { b, at } = setup(2, 500);
    b.failure();
    b.failure();
    at(600);
    assert.equal(b.acquire(), true);
    at(700);
    b.failure();
    assert.equal(b.state, "open");
    at(1199);
    assert.equal(b.acquire(), false, "cool-down counts from the failed trial");
    at(1200);
    assert.equal(b.acquire(), true);
  });

  test("trip() opens at once from closed, whatever the count", () => {
    const { b, changes } = setup(5);
    b.trip();
    assert.equal(b.state, "open");
    assert.deepEqual(changes, [["closed", "open"]]);
  });

  test("reports that arrive while open change nothing (late answers of earlier calls)", () => {
    const { b, at } = setup(1, 1000);
    b.failure();
    at(500);
    b.failure();
    b.success();
    assert.equal(b.state, "open");
    at(1000);
    assert.equal(b.state, "half_open", "cool-down still counts from the first opening");
  });

  test("a trial that never reports is given up after another cool-down", () => {
    const { b, at } = setup(1, 1000);
    b.failure();
    at(1000);
    assert.equal(b.acquire(), true);
    at(1999);
    assert.equal(b.acquire(), false);
    at(2000);
    assert.equal(b.acquire(), true, "a new trial");
  });

  test("rejects a zero failure count and a negative cool-down", () => {
    assert.throws(() => new CircuitBreaker({ failures: 0, cooldownMs: 1 }), RangeError);
    assert.throws(() => new CircuitBreaker({ failures: 1.5, cooldownMs: 1 }), RangeError);
    assert.throws(() => new CircuitBreaker({ failures: 1, cooldownMs: -1 }), RangeError);
  });
});
