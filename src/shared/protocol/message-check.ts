/**
 * decodeMessage() without valibot, for the client (`wisdom fetch`, connect, tunnel, the library's fetchQuote):
 * hand-written checks with the SAME rules as the valibot schemas in messages.ts, the same output (known
 * keys only, in the schema's order; an absent optional key stays absent) and the same error text (at most
 * three issues, valibot's wording). The server keeps messages.ts; tests/unit/message-check.test.ts checks
 * that both agree, input by input, on valid and invalid messages. Loading valibot and building its schemas
 * is a few milliseconds of every `wisdom fetch` (bench/startup.ts). Pure code over bytes.
 * @module
 */
import { ERROR_CODES, ProtocolError } from "./errors.ts";
import { type Frame, MessageType, messageTypeName } from "./frame.ts";
import type { Message } from "./messages.ts";

type _Issues = string[];
type _Obj = Record<string, unknown>;

/** How valibot prints a received value. */
function received(x: unknown): string {
  const t = typeof x;
  if (t === "string") return JSON.stringify(x);
  if (t === "number" || t === "bigint" || t === "boolean") return `${x as number}`;
  if (t === "object" || t === "function") {
    if (!x) return "null";
    return (Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null)?.constructor?.name || "null";
  }
  return t;
}

const HEX = /^[0-9a-f]*$/;
const KID = /^[A-Za-z0-9._-]{1,32}$/;
const U53 = "Invalid value: expected an integer from 0 to 2^53 - 1";
const U8 = "Invalid value: expected an integer from 0 to 255";
const ERROR_CODE_LIST = `(${ERROR_CODES.map((c) => JSON.stringify(c)).join(" | ")})`;

/** A field check: returns the issue's message, or null when the value is good. */
type _Check = (x: unknown) => string | null;

const uint = (max: number, message: string): _Check => (x) =>
  typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= max ? null : message;
const hex = (bytes: number): _Check => (x) =>
  typeof x === "string" && x.length === bytes * 2 && HEX.test(x) ? null : `${bytes * 2} lowercase hex digits`;
const str = (min: number, max: number): _Check => (x) => {
  if (typeof x !== "string") return `Invalid type: Expected string but received ${received(x)}`;
  if (x.length < min) return `Invalid length: Expected >=${min} but received ${x.length}`;
  if (x.length > max) return `Invalid length: Expected <=${max} but received ${x.length}`;
  return null;
};
const u53 = uint(Number.MAX_SAFE_INTEGER, U53);

/** Checks one object's fields in order; `optional` names the keys that may be absent. */
function object(
  x: unknown,
  path: string,
  fields: readonly (readonly [string, _Check | "challenge"])[],
  optional: ReadonlySet<string>,
  issues: _Issues,
): _Obj | null {
  if (!x || typeof x !== "object") {
    issues.push(`${path || "(root)"}: Invalid type: Expected Object but received ${received(x)}`);
    return null;
  }
  const input = x as _Obj;
  const out: _Obj = {};
  const before = issues.length;
  for (const [key, check] of fields) {
    const at = path ? `${path}.${key}` : key;
    const value = input[key];
    if (!(key in input)) {
      if (!optional.has(key)) issues.push(`${at}: Invalid key: Expected ${JSON.stringify(key)} but received undefined`);
      continue;
    }
    if (value === undefined && optional.has(key)) continue;
    if (check === "challenge") {
      const c = challenge(value, at, issues);
      if (c) out[key] = c;
      continue;
    }
    const issue = check(value);
    if (issue === null) out[key] = value;
    else issues.push(`${at}: ${issue}`);
  }
  return issues.length === before ? out : null;
}

const CHALLENGE_FIELDS: readonly (readonly [string, _Check])[] = [
  ["v", (x) => (x === 1 ? null : `Invalid type: Expected 1 but received ${received(x)}`)],
  ["alg", str(0, 32)],
  ["bits", uint(255, U8)],
  ["iat", u53],
  ["exp", u53],
  ["nonce", hex(16)],
  ["addr", str(1, 64)],
  ["kid", (x) => {
    if (typeof x !== "string") return `Invalid type: Expected string but received ${received(x)}`;
    return KID.test(x) ? null : "1 to 32 characters of A-Z a-z 0-9 . _ -";
  }],
  ["mac", hex(32)],
  ["window_ms", u53],
];
const CHALLENGE_OPTIONAL = new Set(["window_ms"]);

function challenge(x: unknown, path: string, issues: _Issues): _Obj | null {
  return object(x, path, CHALLENGE_FIELDS, CHALLENGE_OPTIONAL, issues);
}

const SOLUTION_FIELDS: readonly (readonly [string, _Check | "challenge"])[] = [["challenge", "challenge"], ["counter", hex(8)]];
const QUOTE_FIELDS: readonly (readonly [string, _Check])[] = [
  ["quote", str(1, Infinity)],
  ["author", str(0, Infinity)],
  ["source", str(0, 64)],
];
const ERROR_FIELDS: readonly (readonly [string, _Check])[] = [
  ["code", (x) => ((ERROR_CODES as readonly unknown[]).includes(x) ? null : `Invalid type: Expected ${ERROR_CODE_LIST} but received ${received(x)}`)],
  ["message", str(0, 512)],
  ["retry_after_ms", u53],
];
const OPEN_FIELDS: readonly (readonly [string, _Check])[] = [["effort", uint(255, U8)], ["queued_ms", u53], ["idle_timeout_ms", u53]];
const NONE = new Set<string>();

/** The checked body of a message of `type`, or the issues found (valibot's order and wording). */
export function checkMessageBody(type: number, json: unknown): { ok: true; body: unknown } | { ok: false; issues: string[] } {
  const issues: _Issues = [];
  let body: _Obj | null;
  switch (type) {
    case MessageType.Challenge:
      body = challenge(json, "", issues);
      break;
    case MessageType.Solution:
      body = object(json, "", SOLUTION_FIELDS, NONE, issues);
      break;
    case MessageType.Quote:
      body = object(json, "", QUOTE_FIELDS, new Set(["source"]), issues);
      break;
    case MessageType.Error:
      body = object(json, "", ERROR_FIELDS, new Set(["retry_after_ms"]), issues);
      break;
    case MessageType.Open:
      body = object(json, "", OPEN_FIELDS, NONE, issues);
      break;
    default:
      throw new ProtocolError("BAD_FRAME", `Cannot decode message type ${type}`);
  }
  return body ? { ok: true, body } : { ok: false, issues };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** As messages.ts's decodeMessage(): throws ProtocolError("BAD_FRAME") on bad UTF-8, JSON or fields. */
export function decodeMessage(frame: Frame): Message {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(frame.payload));
  } catch (err) {
    throw new ProtocolError("BAD_FRAME", `Cannot decode ${messageTypeName(frame.type)} payload: not UTF-8 JSON`, { cause: err });
  }
  const r = checkMessageBody(frame.type, json);
  if (!r.ok) throw new ProtocolError("BAD_FRAME", `Cannot decode ${messageTypeName(frame.type)} payload: ${r.issues.slice(0, 3).join("; ")}`);
  return { type: frame.type, body: r.body } as Message;
}
