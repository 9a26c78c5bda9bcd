import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fitCaps } from "../../src/shared/defence/fd-budget.ts";

const DEFAULTS = { max_connections: 20_000, max_connections_per_net: 512, max_connections_per_addr: 64 };

describe("fitCaps()", () => {
  test("keeps the caps when the limit leaves room for them", () => {
    const f = fitCaps(DEFAULTS, { limit: 65_536, inUse: 30, reserve: 256 });
    assert.deepEqual(f.caps, DEFAULTS);
    assert.equal(f.clamped, false);
    assert.equal(f.room, 65_536 - 30 - 256);
    assert.match(f.message, /max_connections 20000 fits/);
  });

  test("lowers max_connections to limit - in use - reserve, and says what to raise the limit to", () => {
    // The case: a 1,200-file limit under the default 20,000 connections.
    const f = fitCaps(DEFAULTS, { limit: 1200, inUse: 24, reserve: 256 });
    assert.deepEqual(f.caps, { max_connections: 920, max_connections_per_net: 512, max_connections_per_addr: 64 });
    assert.equal(f.clamped, true);
    assert.equal(f.room, 920);
    assert.equal(f.neededLimit, 20_280);
    assert.match(f.message, /open-file limit 1200 with 24 in use and 256 reserved leaves room for 920 connections/);
    assert.match(f.message, /max_connections 20000 -> 920/);
    assert.match(f.message, /at least 20280/);
    assert.doesNotMatch(f.message, /per_net|per_addr/, "only the caps that changed are named");
  });

  test("keeps the per-network and per-address caps at or below the total", () => {
    const f = fitCaps(DEFAULTS, { limit: 100, inUse: 20, reserve: 40 });
    assert.deepEqual(f.caps, { max_connections: 40, max_connections_per_net: 40, max_connections_per_addr: 40 });
    assert.match(f.message, /max_connections_per_net 512 -> 40, max_connections_per_addr 64 -> 40/);
  });

  test("a limit too small for the reserve keeps half of what is free for connections", () => {
    const f = fitCaps(DEFAULTS, { limit: 256, inUse: 16, reserve: 256 });
    assert.equal(f.reserve, 120);
    assert.equal(f.caps.max_connections, 120);
    assert.match(f.message, /fd_reserve 256 does not fit, kept 120/);
  });

  test("never lowers a cap below 1, even with every descriptor in use", () => {
    const f = fitCaps(DEFAULTS, { limit: 64, inUse: 80, reserve: 256 });
    assert.deepEqual(f.caps, { max_connections: 1, max_connections_per_net: 1, max_connections_per_addr: 1 });
    assert.equal(f.reserve, 0);
  });

  test("exactly enough room is not a clamp", () => {
    const f = fitCaps({ max_connections: 100, max_connections_per_net: 50, max_connections_per_addr: 10 }, { limit: 400, inUse: 44, reserve: 256 });
    assert.equal(f.clamped, false);
    assert.equal(f.caps.max_connections, 100);
  });

  test("an unknown or unlimited limit leaves the caps as configured", () => {
    for (const limit of [null, Infinity]) {
      const f = fitCaps(DEFAULTS, { limit, inUse: 10, reserve: 256 });
      assert.deepEqual(f.caps, DEFAULTS);
      assert.equal(f.clamped, false);
      assert.equal(f.room, null);
    }
    assert.match(fitCaps(DEFAULTS, { limit: null, inUse: 0, reserve: 0 }).message, /unknown/);
    assert.match(fitCaps(DEFAULTS, { limit: Infinity, inUse: 0, reserve: 0 }).message, /unlimited/);
  });

  test("takes a whole configuration and returns only the three caps", () => {
    const config = { ...DEFAULTS, difficulty: 20, fd_reserve: 256 };
    const f = fitCaps(config, { limit: 1024, inUse: 0, reserve: config.fd_reserve });
    assert.deepEqual(Object.keys(f.caps).sort(), ["max_connections", "max_connections_per_addr", "max_connections_per_net"]);
    assert.equal({ ...config, ...f.caps }.max_connections, 768);
  });
});
