import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadServeConfig } from "../../src/shared/config/load.ts";
import { SERVE_DEFAULTS } from "../../src/shared/config/schema.ts";
import { generateSecret, loadSecrets } from "../../src/shared/config/secrets.ts";
import { loadStorePasswords } from "../../src/shared/config/store-secrets.ts";
import { parseStoreUrl, redactUrl } from "../../src/shared/store/redis-url.ts";

const problems = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return [...e.problems];
  }
  assert.fail("expected a ConfigError");
};

describe("store URLs", () => {
  test("a URL the Redis store would refuse at start is a configuration problem naming the key (exit 2, not 1)", () => {
    for (const [url, why] of [["redis://u:p@h:6379/0", /credentials/], ["redis://h:70000/0", /port|not a URL/], ["redis://h:6379/123", /database/], ["redis://h:6379/0?tls=1", /query/], ["rediss://h/0", /memory or redis:/], ["memcache", /memory or redis:/]] as const) {
      const p = problems(() => loadServeConfig({ env: { WISDOM_STORE: url }, flags: {} }));
      assert.ok(p.some((x) => /store/.test(x) && why.test(x)), `${url}: ${p.join("; ")}`);
      assert.ok(!p.some((x) => x.includes("u:p@")), "the credentials are not echoed");
    }
  });
  test("good URLs and memory pass", () => {
    for (const url of ["memory", "redis://h", "redis://10.0.0.5:6379/0", "redis://[::1]:6380/3"]) assert.equal(loadServeConfig({ env: { WISDOM_STORE: url }, flags: {} }).config.store, url);
  });
  test("Sentinel URLs: a list of sentinels, the master name, the database; anything else names the problem", () => {
    for (const url of ["redis+sentinel://s1:26379,s2:26379,s3/mymaster/0", "redis+sentinel://[::1]:26379/m", "redis+sentinel://10.0.0.1/m.x-1_y/7"]) {
      assert.equal(loadServeConfig({ env: { WISDOM_STORE: url }, flags: {} }).config.store, url);
    }
    for (const [url, why] of [
      ["redis+sentinel://u:p@s1:26379/m/0", /credentials/],
      ["redis+sentinel://s1:26379/m/0?x=1", /query/],
      ["redis+sentinel://s1:26379/", /missing master name/],
      ["redis+sentinel:///m/0", /missing sentinel/],
      ["redis+sentinel://s1:70000/m/0", /port 70000/],
      ["redis+sentinel://s1,,s2/m/0", /empty sentinel/],
      ["redis+sentinel://s1:1,s1:1/m/0", /listed twice/],
      ["redis+sentinel://s1/m/100", /database/],
      ["redis+sentinel://s1/m/0/x", /too many/],
      ["redis+sentinel://s1/m!/0", /master name/],
      [`redis+sentinel://${Array.from({ length: 17 }, (_, i) => `s${i}`).join(",")}/m/0`, /more than 16/],
    ] as const) {
      const p = problems(() => loadServeConfig({ env: { WISDOM_STORE: url }, flags: {} }));
      assert.ok(p.some((x) => /store/.test(x) && why.test(x)), `${url}: ${p.join("; ")}`);
      assert.ok(!p.some((x) => x.includes("u:p@")), "the credentials are not echoed");
    }
  });
  test("parseStoreUrl() gives the sentinels with default ports, the master name and the database, and a loggable URL", () => {
    assert.deepEqual(parseStoreUrl("redis+sentinel://S1,[::1]:26380/mymaster/2"), {
      kind: "sentinel",
      sentinels: [{ host: "s1", port: 26379 }, { host: "::1", port: 26380 }],
      masterName: "mymaster",
      db: 2,
      url: "redis+sentinel://s1:26379,[::1]:26380/mymaster/2",
    });
    assert.deepEqual(parseStoreUrl("redis://h:1/3"), { kind: "redis", host: "h", port: 1, db: 3, url: "redis://h:1/3" });
  });
});

describe("store URL errors never echo a password", () => {
  test("passwords holding / @ ? # are cut whole, in the error and by redactUrl", () => {
    for (const [url, secret] of [["redis://:s3cr/et@h:6379/0", "s3cr"], ["redis+sentinel://:s3cr/et@h1,h2/m/0", "s3cr"], ["redis://:p@ss@h/0", "ss@h"], ["redis://u:pw?x#y@h:1/0", "pw"], ["redis://:abc@def@ghi@h/0", "def"]] as const) {
      assert.throws(() => parseStoreUrl(url), (e: Error) => !e.message.includes(secret) && !e.message.includes("et@"), url);
      assert.ok(!redactUrl(url).includes(secret), `${url} -> ${redactUrl(url)}`);
    }
    assert.equal(redactUrl("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0", "nothing to cut");
    assert.equal(redactUrl("redis://:pw@h:1/0"), "redis://***@h:1/0");
  });
});

describe("loadServeConfig() precedence: defaults < file < env < flags", () => {
  test("defaults alone", () => {
    assert.deepEqual(loadServeConfig({ env: {}, flags: {} }).config, SERVE_DEFAULTS);
  });
  test("file over defaults, env over file, flags over env", () => {
    const file = { path: "w.yaml", text: "difficulty: 10\nlisten: 127.0.0.1:1\nlog_level: warn\nchallenge_ttl_ms: 30000\n" };
    const r = loadServeConfig({ file, env: { WISDOM_DIFFICULTY: "12", WISDOM_LOG_LEVEL: "debug" }, flags: { difficulty: "14" } });
    assert.equal(r.config.difficulty, 14);
    assert.equal(r.config.log_level, "debug");
    assert.equal(r.config.listen, "127.0.0.1:1");
    assert.equal(r.config.challenge_ttl_ms, 30_000);
    assert.deepEqual([r.origins.difficulty, r.origins.log_level, r.origins.listen, r.origins.frame_timeout_ms], ["flag", "env", "file", "default"]);
  });
  test("an empty YAML file is the defaults", () => {
    assert.deepEqual(loadServeConfig({ file: { path: "e.yaml", text: "" }, env: {}, flags: {} }).config, SERVE_DEFAULTS);
  });
});

describe("loadServeConfig() errors", () => {
  test("reports every problem at once, each with its key and origin", () => {
    const file = { path: "bad.yaml", text: "difficulty: 40\nlistne: x\nlog_format: xml\n" };
    const ps = problems(() => loadServeConfig({ file, env: { WISDOM_FRAME_TIMEOUT_MS: "soon" }, flags: { listen: "nowhere" } }));
    const joined = ps.join("\n");
    assert.match(joined, /difficulty \(from bad\.yaml\)/);
    assert.match(joined, /listne \(from bad\.yaml\): unknown key/);
    assert.match(joined, /log_format \(from bad\.yaml\)/);
    assert.match(joined, /frame_timeout_ms \(from WISDOM_FRAME_TIMEOUT_MS\): "soon" is not a number/);
    assert.match(joined, /listen \(from --listen\): expected HOST:PORT/);
    assert.ok(ps.length >= 5, joined);
  });
  test("rejects YAML that does not parse and YAML that is not a mapping", () => {
    assert.match(problems(() => loadServeConfig({ file: { path: "x.yaml", text: "a: [1," }, env: {}, flags: {} }))[0]!, /x\.yaml: not valid YAML/);
    assert.match(problems(() => loadServeConfig({ file: { path: "y.yaml", text: "- 1\n- 2\n" }, env: {}, flags: {} }))[0]!, /mapping/);
  });
  test("rejects a negative or fractional difficulty and cross-field conflicts", () => {
    assert.match(problems(() => loadServeConfig({ env: {}, flags: { difficulty: "-1" } })).join(), /difficulty/);
    assert.match(problems(() => loadServeConfig({ env: {}, flags: { difficulty: "2.5" } })).join(), /difficulty/);
    assert.match(problems(() => loadServeConfig({ env: {}, flags: { first_byte_timeout_ms: "9000", handshake_timeout_ms: "8000" } })).join(), /must not exceed handshake_timeout_ms/);
  });
  test("a number where a string belongs is reported, not coerced", () => {
    assert.match(problems(() => loadServeConfig({ file: { path: "z.yaml", text: "listen: 7077\n" }, env: {}, flags: {} })).join(), /listen \(from z\.yaml\)/);
  });
});

describe("loadSecrets()", () => {
  const rnd = (n: number) => new Uint8Array(n).fill(9);
  const base = { readFile: () => { throw Object.assign(new Error("nope"), { code: "ENOENT" }); }, randomBytes: rnd };
  test("WISDOM_SECRET gives one key with a derived id, stable across calls", () => {
    const a = loadSecrets({ ...base, env: { WISDOM_SECRET: "0123456789abcdef0123" } });
    const b = loadSecrets({ ...base, env: { WISDOM_SECRET: "0123456789abcdef0123" } });
    assert.equal(a.origin, "env");
    assert.equal(a.signingId, b.signingId);
    assert.equal(a.keys.length, 1);
  });
  test("a secret file is read and trimmed; key_id overrides the derived id", () => {
    const s = loadSecrets({ ...base, env: {}, secretFile: "/s", keyId: "prod-1", readFile: () => "0123456789abcdef0123\n" });
    assert.equal(s.origin, "file");
    assert.equal(s.signingId, "prod-1");
    assert.equal(new TextDecoder().decode(s.keys[0]!.secret), "0123456789abcdef0123");
  });
  test("no secret: a random per-process key", () => {
    const s = loadSecrets({ ...base, env: {} });
    assert.equal(s.origin, "random");
    assert.equal(s.keys[0]!.secret.length, 32);
  });
  test("errors name the source and never the secret", () => {
    const short = problems(() => loadSecrets({ ...base, env: { WISDOM_SECRET: "tooshort" } })).join();
    assert.match(short, /WISDOM_SECRET.*at least 16/);
    assert.doesNotMatch(short, /tooshort/);
    assert.match(problems(() => loadSecrets({ ...base, env: { WISDOM_SECRET_FILE: "/missing" } })).join(), /cannot read \/missing: ENOENT/);
    assert.match(problems(() => loadSecrets({ ...base, env: { WISDOM_SECRET: "0123456789abcdef0123", WISDOM_SECRET_FILE: "/f" } })).join(), /not both/);
  });
  test("generateSecret() is 43 base64url characters", () => {
    assert.match(generateSecret((n) => crypto.getRandomValues(new Uint8Array(n))), /^[A-Za-z0-9_-]{43}$/);
  });
});

describe("loadSecrets() with a keys file", () => {
  const files: Record<string, string> = {
    "/k/keys.yaml": "signing_key: b\nkeys:\n  - id: a\n    secret_file: a.secret\n  - id: b\n    secret: bbbbbbbbbbbbbbbbbbbb\n",
    "/k/a.secret": "aaaaaaaaaaaaaaaaaaaa\n",
    "/k/bad.yaml": "signing_key: z\nkeys:\n  - id: a\n    secret: short\n  - id: a\n    secret_file: missing\n  - id: c\n",
  };
  const readFile = (p: string) => {
    if (p in files) return files[p]!;
    throw Object.assign(new Error("no"), { code: "ENOENT" });
  };
  const base = { env: {}, readFile, randomBytes: (n: number) => new Uint8Array(n) };
  test("every key verifies, signing_key signs, secret files are relative to the keys file", () => {
    const s = loadSecrets({ ...base, keysFile: "/k/keys.yaml" });
    assert.equal(s.origin, "keys_file");
    assert.equal(s.signingId, "b");
    assert.deepEqual(s.keys.map((k) => k.id), ["a", "b"]);
    assert.equal(new TextDecoder().decode(s.keys[0]!.secret), "aaaaaaaaaaaaaaaaaaaa");
  });
  test("reports every problem of a bad keys file at once", () => {
    const ps = problems(() => loadSecrets({ ...base, keysFile: "/k/bad.yaml" })).join("\n");
    assert.match(ps, /keys\.0\.secret: at least 16/);
    assert.doesNotMatch(ps, /short/, "never the secret itself");
  });
  test("refuses a keys file together with WISDOM_SECRET", () => {
    assert.match(problems(() => loadSecrets({ ...base, env: { WISDOM_SECRET: "x".repeat(20) }, keysFile: "/k/keys.yaml" })).join(), /not both/);
  });
});

describe("loadStorePasswords()", () => {
  const files: Record<string, string> = { "/run/pw": "s3cret-from-file\n", "/run/empty": "\n", "/run/two": "a\nb\n" };
  const readFile = (p: string) => {
    if (p in files) return files[p]!;
    throw Object.assign(new Error("nope"), { code: "ENOENT" });
  };
  test("from the environment or a file (one trailing newline dropped); none is fine", () => {
    assert.deepEqual(loadStorePasswords({ env: {}, readFile }), { redis: undefined, sentinel: undefined });
    assert.deepEqual(loadStorePasswords({ env: { WISDOM_STORE_PASSWORD: "pw1", WISDOM_STORE_SENTINEL_PASSWORD: "pw2" }, readFile }), { redis: "pw1", sentinel: "pw2" });
    assert.deepEqual(loadStorePasswords({ env: {}, passwordFile: "/run/pw", sentinelPasswordFile: "/run/pw", readFile }), { redis: "s3cret-from-file", sentinel: "s3cret-from-file" });
  });
  test("every problem at once, naming the key or file, never the value", () => {
    const p = problems(() => loadStorePasswords({ env: { WISDOM_STORE_PASSWORD: "leak-me" }, passwordFile: "/run/pw", sentinelPasswordFile: "/run/missing", readFile }));
    assert.equal(p.length, 2, p.join("; "));
    assert.match(p[0]!, /store_password_file: set either WISDOM_STORE_PASSWORD or a file/);
    assert.match(p[1]!, /store_sentinel_password_file: cannot read \/run\/missing: ENOENT/);
    for (const [file, why] of [["/run/empty", /empty/], ["/run/two", /line break/]] as const) {
      const q = problems(() => loadStorePasswords({ env: {}, passwordFile: file, readFile }));
      assert.match(q[0]!, why);
    }
    assert.ok(!p.join(" ").includes("leak-me") && !p.join(" ").includes("s3cret"));
  });
});
