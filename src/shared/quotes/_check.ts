/**
 * The one check every quote passes before a client sees it, whatever its source: text non-empty and at
 * most MAX_QUOTE_CHARS, author at most MAX_AUTHOR_CHARS (both trimmed; an empty author becomes "Unknown").
 * Problems are returned as data, one string per problem.
 * @module
 */
import * as v from "valibot";
import { MAX_AUTHOR_CHARS, MAX_QUOTE_CHARS, type Quote } from "./types.ts";

export const DEFAULT_AUTHOR = "Unknown";
/** The Quote message's `source` field holds at most 64 characters (docs/PROTOCOL.md). */
export const MAX_SOURCE_NAME_CHARS = 64;

const _text = v.pipe(
  v.string(),
  v.trim(),
  v.nonEmpty("text is empty"),
  v.maxLength(MAX_QUOTE_CHARS, (i) => `text has ${i.input.length} characters, over the limit of ${MAX_QUOTE_CHARS}`),
);
const _author = v.pipe(
  v.string(),
  v.trim(),
  v.maxLength(MAX_AUTHOR_CHARS, (i) => `author has ${i.input.length} characters, over the limit of ${MAX_AUTHOR_CHARS}`),
);

const _kind = (x: unknown): string => (x === null ? "null" : Array.isArray(x) ? "array" : typeof x);

export type Checked = { ok: true; quote: Quote } | { ok: false; problems: string[] };

/**
 * Checks raw `text` and `author` values and builds the Quote. An undefined author is "Unknown", or a
 * problem when `authorRequired`.
 */
export function _checkQuote(text: unknown, author: unknown, source: string, authorRequired = false): Checked {
  const problems: string[] = [];
  let t = "";
  let a = DEFAULT_AUTHOR;
  if (typeof text !== "string") problems.push(text === undefined ? "text is missing" : `text must be a string, not ${_kind(text)}`);
  else {
    const r = v.safeParse(_text, text);
    if (r.success) t = r.output;
    else problems.push(...r.issues.map((i) => i.message));
  }
  if (author === undefined) {
    if (authorRequired) problems.push("author is missing");
  } else {
    if (typeof author !== "string") problems.push(`author must be a string, not ${_kind(author)}`);
    else {
      const r = v.safeParse(_author, author);
      if (r.success) a = r.output || DEFAULT_AUTHOR;
      else problems.push(...r.issues.map((i) => i.message));
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, quote: { text: t, author: a, source } };
}

/** Returns `name` if it fits the Quote message's `source` field, else throws a RangeError. */
export function _sourceName(name: string): string {
  if (name.length < 1 || name.length > MAX_SOURCE_NAME_CHARS) {
    throw new RangeError(`Quote source name "${name}" must have 1 to ${MAX_SOURCE_NAME_CHARS} characters`);
  }
  return name;
}
