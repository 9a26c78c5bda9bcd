/**
 * Encoders of wire protocol v1 messages (docs/PROTOCOL.md, "Messages"): a message's JSON body in a frame.
 * Apart from messages.ts (which re-exports them) so that a client can encode without loading valibot.
 * Pure code over bytes.
 * @module
 */
import type { ErrorCode } from "./errors.ts";
import { encodeFrame, MAX_PAYLOAD, MessageType } from "./frame.ts";
import type { Challenge, ErrorMessage, Message, OpenMessage, QuoteMessage, Solution } from "./messages.ts";

const enc = new TextEncoder();

/** Encode any message as a frame. */
export function encodeMessage(msg: Message, maxPayload = MAX_PAYLOAD): Uint8Array {
  return encodeFrame(msg.type, enc.encode(JSON.stringify(msg.body)), maxPayload);
}

export const encodeChallenge = (body: Challenge): Uint8Array => encodeMessage({ type: MessageType.Challenge, body });
export const encodeSolution = (body: Solution): Uint8Array => encodeMessage({ type: MessageType.Solution, body });
export const encodeQuote = (body: QuoteMessage): Uint8Array => encodeMessage({ type: MessageType.Quote, body });
export const encodeOpen = (body: OpenMessage): Uint8Array => encodeMessage({ type: MessageType.Open, body });

/** Encode an Error frame; the message is cut to the schema's limit so encoding never fails. */
export function encodeError(code: ErrorCode, message: string, retryAfterMs?: number): Uint8Array {
  const body: ErrorMessage = { code, message: message.slice(0, 512) };
  if (retryAfterMs !== undefined) body.retry_after_ms = Math.max(0, Math.round(retryAfterMs));
  return encodeMessage({ type: MessageType.Error, body });
}
