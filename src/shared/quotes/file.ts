/**
 * Quotes from a local file: YAML, JSON or plain text, chosen at random.
 *
 * - YAML / JSON (`.yaml`, `.yml`, `.json`): a list, or `{ quotes: [...] }`, of `{ text, author }` (or
 *   `{ quote, author }`; other keys are ignored); a bare string entry is read like a text line.
 * - Plain text (any other extension): one quote per line, optionally ending in ` -- Author` or ` — Author`;
 *   blank lines and lines starting with `#` are skipped.
 *
 * Every entry is checked; bad entries are skipped and listed in `problems` with their index or line,
 * and a file with no valid quote is a QuoteFileError. Loading is explicit (`FileQuoteSource.load`), so a
 * reload builds a new source and keeps the old one if the new file is bad.
 * @module
 */
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { isMap, isSeq, LineCounter, parseDocument } from "yaml";
import { _checkQuote, _sourceName, MAX_SOURCE_NAME_CHARS } from "./_check.ts";
import { QuoteFileError } from "./file-error.ts";
import type { Quote, QuoteSource } from "./types.ts";

export type QuoteFileFormat = "yaml" | "json" | "text";

export { QuoteFileError };

export interface FileQuoteSourceOptions {
  /** Source name reported with each quote (default `file:<basename>`). */
  readonly name?: string;
  /** Default: from the extension (`.yaml`/`.yml`, `.json`, anything else is text). */
  readonly format?: QuoteFileFormat;
  /** Treat any bad entry as an error instead of skipping it. */
  readonly strict?: boolean;
  /** Returns a float in [0, 1); injected for tests. */
  readonly random?: () => number;
}

export class FileQuoteSource implements QuoteSource {
  readonly name: string;

  private constructor(
    private readonly _quotes: readonly Quote[],
    name: string,
    readonly path: string,
    /** Entries that were skipped, each with its index or line: worth a warning in the log. */
    readonly problems: readonly string[],
    private readonly _random: () => number,
  ) {
    this.name = name;
  }

  /** Reads and checks `path`. Throws QuoteFileError if the file is unusable. */
  static async load(path: string, opts: FileQuoteSourceOptions = {}): Promise<FileQuoteSource> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new QuoteFileError(path, [`cannot read: ${(err as { code?: string }).code ?? (err as Error).message}`]);
    }
    return FileQuoteSource.parse(text, path, opts);
  }

  /** Checks the contents of a file named `path` (the name picks the format and the default source name). */
  static parse(text: string, path: string, opts: FileQuoteSourceOptions = {}): FileQuoteSource {
    const name = _sourceName(opts.name ?? `file:${basename(path)}`.slice(0, MAX_SOURCE_NAME_CHARS));
    const format = opts.format ?? formatOf(path);
    const { quotes, problems } = format === "text" ? _parseText(text, name) : _parseStructured(text, format, name);
    if (quotes.length === 0) throw new QuoteFileError(path, [...problems, "no valid quote in the file"]);
    if (opts.strict && problems.length > 0) throw new QuoteFileError(path, problems);
    return new FileQuoteSource(quotes, name, path, problems, opts.random ?? Math.random);
  }

  get size(): number {
    return this._quotes.length;
  }

  next(): Quote {
    return this._quotes[Math.min(this._quotes.length - 1, Math.floor(this._random() * this._quotes.length))]!;
  }
}

export function formatOf(path: string): QuoteFileFormat {
  const ext = extname(path).toLowerCase();
  return ext === ".yaml" || ext === ".yml" ? "yaml" : ext === ".json" ? "json" : "text";
}

interface _Parsed {
  quotes: Quote[];
  problems: string[];
}

/** ` -- ` or ` — ` (em dash) before the author; the last one wins, so a dash inside the text is kept. */
const _SUFFIX = /^(.*\S)\s+(?:--|\u2014)\s+(\S.*)$/;

function _splitLine(line: string): { text: string; author: string | undefined } {
  const m = _SUFFIX.exec(line);
  return m ? { text: m[1]!, author: m[2]! } : { text: line, author: undefined };
}

function _parseText(text: string, name: string): _Parsed {
  const out: _Parsed = { quotes: [], problems: [] };
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const { text: t, author } = _splitLine(line);
    const r = _checkQuote(t, author, name);
    if (r.ok) out.quotes.push(r.quote);
    else out.problems.push(`line ${i + 1}: ${r.problems.join("; ")}`);
  });
  return out;
}

function _parseStructured(text: string, format: "yaml" | "json", name: string): _Parsed {
  const out: _Parsed = { quotes: [], problems: [] };
  let data: unknown;
  // Line numbers of entries, when the parser can tell (YAML; JSON has only indexes).
  let lineOf: (i: number) => number | undefined = () => undefined;
  if (format === "json") {
    try {
      data = JSON.parse(text.replace(/^\uFEFF/, ""));
    } catch (err) {
      out.problems.push(`not valid JSON: ${(err as Error).message}`);
      return out;
    }
  } else {
    const counter = new LineCounter();
    const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
    if (doc.errors.length > 0) {
      out.problems.push(...doc.errors.map((e) => `not valid YAML: line ${counter.linePos(e.pos[0]).line}: ${e.message.split("\n")[0]}`));
      return out;
    }
    data = doc.toJS();
    const root = doc.contents;
    const seq = isSeq(root) ? root : isMap(root) ? root.get("quotes", true) : undefined;
    if (isSeq(seq)) {
      lineOf = (i) => {
        const start = (seq.items[i] as { range?: [number, number, number] } | undefined)?.range?.[0];
        return start === undefined ? undefined : counter.linePos(start).line;
      };
    }
  }
  const list = Array.isArray(data)
    ? data
    : data !== null && typeof data === "object" && Array.isArray((data as { quotes?: unknown }).quotes)
    ? ((data as { quotes: unknown[] }).quotes)
    : undefined;
  if (!list) {
    out.problems.push(`expected a list of quotes (or an object with a "quotes" list)`);
    return out;
  }
  list.forEach((entry, i) => {
    const line = lineOf(i);
    const where = `entry ${i}${line === undefined ? "" : ` (line ${line})`}`;
    let r;
    if (typeof entry === "string") {
      const { text: t, author } = _splitLine(entry.trim());
      r = _checkQuote(t, author, name);
    } else if (entry !== null && typeof entry === "object" && !Array.isArray(entry)) {
      const e = entry as Record<string, unknown>;
      if (e.text !== undefined && e.quote !== undefined) {
        out.problems.push(`${where}: has both text and quote; use one`);
        return;
      }
      r = _checkQuote(e.text ?? e.quote, e.author, name, true);
    } else {
      out.problems.push(`${where}: expected { text, author } or a string`);
      return;
    }
    if (r.ok) out.quotes.push(r.quote);
    else out.problems.push(`${where}: ${r.problems.join("; ")}`);
  });
  return out;
}
