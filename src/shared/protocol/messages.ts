/**
 * Message payloads of wire protocol v1 (docs/PROTOCOL.md, "Messages"): valibot schemas, encoders and the
 * decoder that turns a frame into a typed message or a ProtocolError. Pure code over bytes.
 * @module
 */
import * as v from "valibot";
import { ERROR_CODES, ProtocolError } from "./errors.ts";
import { type Frame, MessageType, messageTypeName } from "./frame.ts";

// One check per field rather than a pipe of actions: a Solution is decoded on every handshake, and each
// pipe step is a call and an output object in valibot (measured: 1.8 -> 1.0 us per Solution on Bun).
const HEX = /^[0-9a-f]*$/;
const hex = (bytes: number) =>
  v.custom<string>((x) => typeof x === "string" && x.length === bytes * 2 && HEX.test(x), `${bytes * 2} lowercase hex digits`);
const uint = (max: number, what: string) =>
  v.custom<number>((x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= max, `Invalid value: expected ${what}`);
const u53 = uint(Number.MAX_SAFE_INTEGER, "an integer from 0 to 2^53 - 1");

/** Algorithm name of PoW v1 (docs/POW.md). */
export const ALG_SHA256_HASHCASH = "sha256-hashcash";

export const ChallengeSchema = v.object({
  v: v.literal(1),
  alg: v.pipe(v.string(), v.maxLength(32)),
  bits: uint(255, "an integer from 0 to 255"),
  iat: u53,
  exp: u53,
  nonce: hex(16),
  addr: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  kid: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,32}$/, "1 to 32 characters of A-Z a-z 0-9 . _ -")),
  mac: hex(32),
  /** Not signed: how long (ms) this connection stays open for an answer on it. */
  window_ms: v.optional(u53),
});
export type Challenge = v.InferOutput<typeof ChallengeSchema>;

export const SolutionSchema = v.object({
  challenge: ChallengeSchema,
  /** The 8-byte big-endian counter, as 16 lowercase hex digits. */
  counter: hex(8),
});
export type Solution = v.InferOutput<typeof SolutionSchema>;

export const QuoteSchema = v.object({
  quote: v.pipe(v.string(), v.minLength(1)),
  author: v.string(),
  source: v.optional(v.pipe(v.string(), v.maxLength(64))),
});
export type QuoteMessage = v.InferOutput<typeof QuoteSchema>;

export const ErrorSchema = v.object({
  code: v.picklist(ERROR_CODES),
  message: v.pipe(v.string(), v.maxLength(512)),
  retry_after_ms: v.optional(u53),
});
export type ErrorMessage = v.InferOutput<typeof ErrorSchema>;

/**
 * Open (type 5, server to client): sent only by `wisdom guard`, after a valid Solution, once the upstream
 * service has accepted a connection. Every byte after this frame, both ways, belongs to that service.
 */
export const OpenSchema = v.object({
  /** Leading zero bits of the client's proof digest: the effort its place in the upstream queue was given by. */
  effort: uint(255, "an integer from 0 to 255"),
  /** How long the client waited for an upstream slot, ms. */
  queued_ms: u53,
  /** The stream is closed after this long without a byte either way; 0: never. */
  idle_timeout_ms: u53,
});
export type OpenMessage = v.InferOutput<typeof OpenSchema>;

export type Message =
  | { type: typeof MessageType.Challenge; body: Challenge }
  | { type: typeof MessageType.Solution; body: Solution }
  | { type: typeof MessageType.Quote; body: QuoteMessage }
  | { type: typeof MessageType.Error; body: ErrorMessage }
  | { type: typeof MessageType.Open; body: OpenMessage };

const SCHEMAS = {
  [MessageType.Challenge]: ChallengeSchema,
  [MessageType.Solution]: SolutionSchema,
  [MessageType.Quote]: QuoteSchema,
  [MessageType.Error]: ErrorSchema,
  [MessageType.Open]: OpenSchema,
} as const;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decode and validate a frame's payload. Throws ProtocolError("BAD_FRAME") on bad UTF-8, JSON or fields. */
export function decodeMessage(frame: Frame): Message {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(frame.payload));
  } catch (err) {
    throw new ProtocolError("BAD_FRAME", `Cannot decode ${messageTypeName(frame.type)} payload: not UTF-8 JSON`, { cause: err });
  }
  const result = v.safeParse(SCHEMAS[frame.type], json);
  if (!result.success) {
    const where = result.issues
      .slice(0, 3)
      .map((i) => `${v.getDotPath(i) ?? "(root)"}: ${i.message}`)
      .join("; ");
    throw new ProtocolError("BAD_FRAME", `Cannot decode ${messageTypeName(frame.type)} payload: ${where}`);
  }
  return { type: frame.type, body: result.output } as Message;
}

export { encodeChallenge, encodeError, encodeMessage, encodeOpen, encodeQuote, encodeSolution } from "./message-encode.ts";
