/**
 * Client failures, each with a stable code that the CLI maps to an exit code (README "Exit codes").
 * @module
 */
import type { ErrorCode } from "../protocol/errors.ts";

export type FetchErrorCode =
  | "CONNECT" // cannot connect
  | "PROTOCOL" // bad or unexpected server reply
  | "TIMEOUT" // --timeout passed
  | "TOO_HARD" // puzzle harder than --max-difficulty
  | "REFUSED" // server busy, rate-limited or shutting down, and retries ran out
  | "REJECTED"; // server refused the proof (expired, bad signature, replay, ...)

export class FetchError extends Error {
  readonly code: FetchErrorCode;
  /** The server's Error code, when the server sent one. */
  readonly serverCode?: ErrorCode;
  /** The server closed the connection without an answer (it may have died): worth a retry. */
  readonly dropped: boolean;
  constructor(code: FetchErrorCode, message: string, options?: { cause?: unknown; serverCode?: ErrorCode; dropped?: boolean }) {
    super(message, { cause: options?.cause });
    this.name = "FetchError";
    this.code = code;
    this.dropped = options?.dropped ?? false;
    if (options?.serverCode) this.serverCode = options.serverCode;
  }
}
