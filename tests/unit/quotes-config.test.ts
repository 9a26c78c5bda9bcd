import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import {
  createQuoteSource,
  DEFAULT_QUOTE_SOURCES,
  parseQuoteSources,
  QuoteConfigError,
  QuoteSourcesSchema,
  type QuoteSourcesSpec,
} from "../../src/shared/quotes/from-config.ts";

const problems = (input: unknown) => {
  const r = parseQuoteSources(input);
  assert.equal(r.ok, false);
  return (r as { problems: string[] }).problems;
};

describe("QuoteSourcesSchema", () => {
  test("accepts every source type with its options", () => {
    const spec = {
      timeout_ms: 800,
      sources: [
        { type: "embedded", weight: 0.5 },
        { type: "file", path: "q.yaml", format: "yaml", strict: true, name: "local", weight: 2, breaker_failures: 1 },
        {
          type: "http",
          url: "https://zenquotes.io/api/random",
          text_path: "0.q",
          author_path: "0.a",
          timeout_ms: 500,
          cache_ttl_ms: 0,
          cache_size: 10,
          breaker_failures: 3,
          breaker_cooldown_ms: 10_000,
          headers: { "x-api-key": "k" },
        },
      ],
    };
    assert.deepEqual(parseQuoteSources(spec), { ok: true, spec });
    assert.equal(v.is(QuoteSourcesSchema, DEFAULT_QUOTE_SOURCES), true);
  });

  test("lists every problem at once, each with its key path", () => {
    assert.deepEqual(
      problems({
        timeout_ms: 0,
        sources: [
          { type: "http", url: "ftp://x/", text_path: "a..b", bogus: 1 },
          { type: "http", text_path: "q" },
          { type: "file" },
          { type: "embedded", weight: 0 },
          { type: "redis" },
        ],
      }),
      [
        "quotes.sources.0.url: expected an http:// or https:// URL",
        `quotes.sources.0.text_path: expected a dotted path such as "0.q" or "data.quote.text"`,
        "quotes.sources.0.bogus: unknown key",
        "quotes.sources.1.url: missing",
        "quotes.sources.2.path: missing",
        "quotes.sources.3.weight: Invalid value: Expected >0 but received 0",
        `quotes.sources.4.type: Invalid type: Expected ("embedded" | "file" | "http") but received "redis"`,
        "quotes.timeout_ms: Invalid value: Expected >=1 but received 0",
      ],
    );
  });

  test("needs at least one source, and unique names", () => {
    assert.deepEqual(problems({ sources: [] }), ["quotes.sources: list at least one source"]);
    assert.deepEqual(problems({}), ["quotes.sources: missing"]);
    assert.deepEqual(problems({ sources: [{ type: "file", path: "a/q.txt" }, { type: "file", path: "b/q.txt" }] }), [
      `quotes.sources: two sources are named "file:q.txt"; set "name" on one`,
    ]);
    assert.deepEqual(problems({ sources: [{ type: "embedded" }, { type: "embedded" }] }), [`quotes.sources: two sources are named "embedded"; set "name" on one`]);
    assert.equal(parseQuoteSources({ sources: [{ type: "file", path: "a/q.txt" }, { type: "file", path: "b/q.txt", name: "b" }] }).ok, true);
  });
});

describe("createQuoteSource()", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wisdom-quotes-config-"));
    await writeFile(join(dir, "good.txt"), "From the file -- F\n" + "x".repeat(1001) + "\n");
    await writeFile(join(dir, "bad.json"), "[]");
  });
  after(async () => await rm(dir, { recursive: true, force: true }));

  test("by default serves the embedded collection", async () => {
    const src = await createQuoteSource();
    const q = await src.next();
    assert.equal(q.source, "embedded");
    assert.deepEqual(src.states(), { embedded: "closed" });
    await src.close();
  });

  test("builds file and http sources with weights; relative paths resolve against baseDir; skipped entries are warned", async () => {
    const warnings: string[] = [];
    const served: string[] = [];
    const f = (() => Promise.resolve(new Response(JSON.stringify({ data: { text: "From HTTP", by: "H" } })))) as typeof fetch;
    let r = 0;
    const spec: QuoteSourcesSpec = {
      sources: [
        { type: "file", path: "good.txt", weight: 1 },
        { type: "http", url: "http://127.0.0.1:9/q", text_path: "data.text", author_path: "data.by", weight: 1 },
      ],
    };
    const src = await createQuoteSource(spec, { baseDir: dir, fetch: f, random: () => r, warn: (m) => warnings.push(m), observer: { served: (s) => served.push(s) } });
    r = 0.1;
    assert.deepEqual(await src.next(), { text: "From the file", author: "F", source: "file:good.txt" });
    r = 0.9;
    assert.deepEqual(await src.next(), { text: "From HTTP", author: "H", source: "http:127.0.0.1:9" });
    assert.deepEqual(served, ["file:good.txt", "http:127.0.0.1:9"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^file:good\.txt: skipped line 2: text has 1001 characters/);
    await src.close();
  });

  test("reports every unusable file at once as a QuoteConfigError", async () => {
    const spec: QuoteSourcesSpec = { sources: [{ type: "file", path: "bad.json" }, { type: "embedded" }, { type: "file", path: "missing.yaml" }] };
    await assert.rejects(createQuoteSource(spec, { baseDir: dir }), (err: unknown) => {
      assert.ok(err instanceof QuoteConfigError);
      assert.equal(err.code, "QUOTE_SOURCES_INVALID");
      assert.equal(err.problems.length, 2);
      assert.match(err.problems[0]!, /^quotes\.sources\.0 \(.*bad\.json\): no valid quote in the file$/);
      assert.match(err.problems[1]!, /^quotes\.sources\.2 \(.*missing\.yaml\): cannot read: ENOENT$/);
      return true;
    });
  });

  test("validates a spec built in code too", async () => {
    await assert.rejects(createQuoteSource({ sources: [] }), QuoteConfigError);
  });
});

describe("_fileName() (a file source's default name, file:<name>)", () => {
  test("gives what node:path's basename gives, on POSIX and on Windows", async () => {
    const { _fileName } = await import("../../src/shared/quotes/spec.ts");
    const path = await import("node:path");
    for (const p of ["q.txt", "dir/q.txt", "/abs/dir/q.yaml", "dir/sub/", "a//b.json", "/", "", "./x", "../y.txt"]) {
      assert.equal(_fileName(p, false), path.posix.basename(p), `posix ${JSON.stringify(p)}`);
    }
    for (const p of ["q.txt", "dir\\q.txt", "C:\\quotes\\q.yaml", "dir/sub\\q.json", "dir\\sub\\", "C:foo", "C:\\", "C:", "\\\\srv\\share\\q.txt", "c:/x/y.json"]) {
      assert.equal(_fileName(p, true), path.win32.basename(p), `win32 ${JSON.stringify(p)}`);
    }
  });
});
