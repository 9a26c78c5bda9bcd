/**
 * Error codes of wire protocol v1 (docs/PROTOCOL.md, "Error codes") and the error class the codec throws.
 * @module
 */

/** Every code a server may put in an Error frame. Stable: clients switch on these strings. */
export const ERROR_CODES = [
  "BAD_FRAME", // header or payload cannot be decoded (unknown version/type, bad JSON, wrong field type)
  "FRAME_TOO_LARGE", // length in the header exceeds the limit
  "UNEXPECTED_MESSAGE", // a valid frame of a type not allowed at this point
  "TIMEOUT", // a deadline passed (idle, frame, handshake)
  "EXPIRED", // the challenge's expiry has passed
  "NOT_YET_VALID", // the challenge was issued in the future (clock skew or forgery)
  "BAD_SIGNATURE", // the HMAC tag does not match the fields
  "UNKNOWN_KEY", // the key id is not in the server's key ring
  "WRONG_ADDRESS", // the challenge was issued to another client address
  "UNSUPPORTED_PUZZLE", // version or algorithm not supported
  "INSUFFICIENT_WORK", // the digest does not have enough leading zero bits
  "REPLAY", // this challenge was already spent
  "BUSY", // server at capacity; retry later
  "RATE_LIMITED", // this client asked too often; retry later
  "SHUTTING_DOWN", // server is draining
  "INTERNAL", // unexpected server fault
  "UPSTREAM_UNAVAILABLE", // a guard cannot reach the service it guards (refused, unreachable, timed out)
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes after which a client may retry later (with a fresh challenge). */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set(["BUSY", "RATE_LIMITED", "SHUTTING_DOWN", "EXPIRED", "TIMEOUT", "UNKNOWN_KEY", "UPSTREAM_UNAVAILABLE"]);

/** A protocol violation found while decoding; `code` is what the server sends back. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}
