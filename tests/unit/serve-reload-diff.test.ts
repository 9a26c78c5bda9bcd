import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SERVE_DEFAULTS, type ServeConfig } from "../../src/shared/config/schema.ts";
import { RESTART_KEYS, reloadDiff } from "../../src/shared/serve/reload-diff.ts";
import { RESTART_KEYS as FROM_SERVER } from "../../src/server.ts";

const base: ServeConfig = { ...SERVE_DEFAULTS };

describe("reloadDiff()", () => {
  test("nothing changed: no keys, and the applied configuration equals the new one", () => {
    const d = reloadDiff(base, { ...base });
    assert.deepEqual(d.changed, []);
    assert.deepEqual(d.needRestart, []);
    assert.deepEqual(d.applied, base);
  });

  test("a live key is applied; a restart key is reported and keeps its running value", () => {
    const next: ServeConfig = { ...base, difficulty: base.difficulty + 1, listen: "127.0.0.1:1" };
    const d = reloadDiff(base, next);
    assert.deepEqual(d.changed.sort(), ["difficulty", "listen"]);
    assert.deepEqual(d.needRestart, ["listen"]);
    assert.equal(d.applied.difficulty, base.difficulty + 1);
    assert.equal(d.applied.listen, base.listen);
    assert.equal(next.listen, "127.0.0.1:1", "the new configuration is not modified");
  });

  test("quotes: compared by value, and a change needs no restart", () => {
    const d = reloadDiff(base, { ...base, quotes: [{ embedded: {} }] as unknown as ServeConfig["quotes"] });
    assert.deepEqual(d.changed, ["quotes"]);
    assert.deepEqual(d.needRestart, []);
    assert.deepEqual(reloadDiff(base, { ...base, quotes: structuredClone(base.quotes) }).changed, []);
  });

  test("server.ts still exports the same RESTART_KEYS", () => {
    assert.equal(FROM_SERVER, RESTART_KEYS);
    for (const k of ["listen", "store", "adaptive_tick_ms", "firewall", "profile_dir"]) assert.ok(RESTART_KEYS.includes(k as keyof ServeConfig), k);
  });
});
