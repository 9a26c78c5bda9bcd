import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileQuoteSource, formatOf, QuoteFileError } from "../../src/shared/quotes/file.ts";
import { MAX_AUTHOR_CHARS, MAX_QUOTE_CHARS } from "../../src/shared/quotes/types.ts";

/** The problems of a file that fails to load. */
function problemsOf(text: string, path: string, strict = false): readonly string[] {
  try {
    FileQuoteSource.parse(text, path, { strict });
  } catch (err) {
    assert.ok(err instanceof QuoteFileError, String(err));
    assert.equal(err.code, "QUOTE_FILE_INVALID");
    return err.problems;
  }
  assert.fail("expected a QuoteFileError");
}

const long = "x".repeat(MAX_QUOTE_CHARS + 1);
const longAuthor = "a".repeat(MAX_AUTHOR_CHARS + 1);

describe("FileQuoteSource formats", () => {
  let dir = "";
  before(async () => void (dir = await mkdtemp(join(tmpdir(), "wisdom-quotes-"))));
  after(async () => await rm(dir, { recursive: true, force: true }));

  test("formatOf() picks the format from the extension", () => {
    assert.equal(formatOf("q.yaml"), "yaml");
    assert.equal(formatOf("Q.YML"), "yaml");
    assert.equal(formatOf("q.json"), "json");
    assert.equal(formatOf("q.txt"), "text");
    assert.equal(formatOf("quotes"), "text");
  });

  test("load() reads YAML: a list of {text|quote, author}, extra keys ignored", async () => {
    const path = join(dir, "q.yaml");
    await writeFile(path, `- text: Know thyself.\n  author: Socrates\n  tags: [old]\n- quote: "Less is more."\n  author: Browning\n`);
    const src = await FileQuoteSource.load(path, { random: () => 0 });
    assert.equal(src.name, "file:q.yaml");
    assert.equal(src.size, 2);
    assert.deepEqual(src.problems, []);
    assert.deepEqual(src.next(), { text: "Know thyself.", author: "Socrates", source: "file:q.yaml" });
  });

  test("load() reads JSON, also as { quotes: [...] }, and a configured name", async () => {
    const path = join(dir, "q.json");
    await writeFile(path, JSON.stringify({ quotes: [{ text: "A", author: "B" }, { quote: "C", author: "D" }] }));
    const src = await FileQuoteSource.load(path, { name: "mine", random: () => 0.99 });
    assert.equal(src.name, "mine");
    assert.deepEqual(src.next(), { text: "C", author: "D", source: "mine" });
  });

  test("load() reads plain text: ' -- Author' and ' — Author' suffixes, comments and blank lines skipped", async () => {
    const path = join(dir, "q.txt");
    await writeFile(path, "# my quotes\n\nKnow thyself. -- Socrates\r\nLess is more. \u2014 Browning\nA well-known saying - with a dash\n  \n");
    let r = 0;
    const src = await FileQuoteSource.load(path, { random: () => r });
    assert.equal(src.size, 3);
    const all = [0, 0.34, 0.67].map((x) => ((r = x), src.next()));
    assert.deepEqual(all.map((q) => [q.text, q.author]), [
      ["Know thyself.", "Socrates"],
      ["Less is more.", "Browning"],
      ["A well-known saying - with a dash", "Unknown"],
    ]);
  });

  test("the last ' -- ' separates the author, so the text may hold one", () => {
    const src = FileQuoteSource.parse("To be -- or not -- Hamlet", "q.txt");
    assert.deepEqual([src.next().text, src.next().author], ["To be -- or not", "Hamlet"]);
  });

  test("random() picks uniformly by index and never runs past the end", () => {
    const src = FileQuoteSource.parse("a\nb\nc\nd", "q.txt", { random: () => 0.5 });
    assert.equal(src.next().text, "c");
    const edge = FileQuoteSource.parse("a\nb", "q.txt", { random: () => 0.9999999999999999 });
    assert.equal(edge.next().text, "b");
  });

  test("a missing file is a QuoteFileError naming the path", async () => {
    const path = join(dir, "nope.yaml");
    await assert.rejects(FileQuoteSource.load(path), (err: unknown) => {
      assert.ok(err instanceof QuoteFileError);
      assert.equal(err.path, path);
      assert.match(err.problems[0]!, /cannot read: ENOENT/);
      return true;
    });
  });
});

describe("FileQuoteSource validation", () => {
  test("bad entries are skipped and listed by index and line; the good ones load", () => {
    const src = FileQuoteSource.parse(
      [
        "- text: Good.",
        "  author: A",
        "- text: No author",
        "- author: No text",
        "- text: ''",
        "  author: Empty text",
        `- text: ${long}`,
        "  author: Too long",
        "- text: Long author",
        `  author: ${longAuthor}`,
        "- text: 42",
        "  author: Number",
        "- text: Both",
        "  quote: Both",
        "  author: X",
        "- [not, an, object]",
        "- Plain string -- Fine",
      ].join("\n"),
      "q.yaml",
    );
    assert.equal(src.size, 2);
    assert.deepEqual(src.problems, [
      "entry 1 (line 3): author is missing",
      "entry 2 (line 4): text is missing",
      "entry 3 (line 5): text is empty",
      `entry 4 (line 7): text has ${MAX_QUOTE_CHARS + 1} characters, over the limit of ${MAX_QUOTE_CHARS}`,
      `entry 5 (line 9): author has ${MAX_AUTHOR_CHARS + 1} characters, over the limit of ${MAX_AUTHOR_CHARS}`,
      "entry 6 (line 11): text must be a string, not number",
      "entry 7 (line 13): has both text and quote; use one",
      "entry 8 (line 16): expected { text, author } or a string",
    ]);
  });

  test("JSON problems name the entry index", () => {
    const src = FileQuoteSource.parse(JSON.stringify([{ text: "ok", author: "a" }, { text: "x" }, null, { text: "y", author: 7 }]), "q.json");
    assert.deepEqual(src.problems, [
      "entry 1: author is missing",
      "entry 2: expected { text, author } or a string",
      "entry 3: author must be a string, not number",
    ]);
  });

  test("text problems name the line", () => {
    const src = FileQuoteSource.parse(`ok\n${long} -- A\nfine -- ${longAuthor}\n`, "q.txt");
    assert.equal(src.size, 1);
    assert.deepEqual(src.problems, [
      `line 2: text has ${MAX_QUOTE_CHARS + 1} characters, over the limit of ${MAX_QUOTE_CHARS}`,
      `line 3: author has ${MAX_AUTHOR_CHARS + 1} characters, over the limit of ${MAX_AUTHOR_CHARS}`,
    ]);
  });

  test("a text exactly at the limits is accepted; texts and authors are trimmed", () => {
    const src = FileQuoteSource.parse(JSON.stringify([{ text: ` ${"x".repeat(MAX_QUOTE_CHARS)} `, author: "a".repeat(MAX_AUTHOR_CHARS) }]), "q.json");
    assert.equal(src.next().text.length, MAX_QUOTE_CHARS);
    assert.equal(src.next().author.length, MAX_AUTHOR_CHARS);
  });

  test("a file with no valid quote is an error listing every problem", () => {
    assert.deepEqual(problemsOf("[]", "q.json"), ["no valid quote in the file"]);
    assert.deepEqual(problemsOf("# only a comment\n\n", "q.txt"), ["no valid quote in the file"]);
    assert.deepEqual(problemsOf(`[{"text": ""}, {"author": "x"}]`, "q.json"), [
      "entry 0: text is empty; author is missing",
      "entry 1: text is missing",
      "no valid quote in the file",
    ]);
  });

  test("unparsable files and wrong shapes are errors", () => {
    assert.match(problemsOf("[{", "q.json")[0]!, /^not valid JSON: /);
    assert.match(problemsOf("a: [\n", "q.yaml")[0]!, /^not valid YAML: line \d+: /);
    assert.equal(problemsOf(`{"text": "a", "author": "b"}`, "q.json")[0], `expected a list of quotes (or an object with a "quotes" list)`);
    assert.equal(problemsOf("just a string", "q.yaml")[0], `expected a list of quotes (or an object with a "quotes" list)`);
  });

  test("strict: any bad entry fails the load", () => {
    assert.deepEqual(problemsOf("ok -- a\n" + long, "q.txt", true), [`line 2: text has ${MAX_QUOTE_CHARS + 1} characters, over the limit of ${MAX_QUOTE_CHARS}`]);
  });

  test("a name longer than the Quote message allows is a RangeError", () => {
    assert.throws(() => FileQuoteSource.parse("a", "q.txt", { name: "n".repeat(65) }), RangeError);
    assert.equal(FileQuoteSource.parse("a", `${"p".repeat(100)}.txt`).name.length, 64, "the default name is cut to fit");
  });
});
