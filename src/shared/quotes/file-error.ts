/**
 * The error of an unusable quote file, apart from the file source (file.ts) so that the configuration
 * code can recognise it without loading the YAML parser: a gate thread with no quote file never does.
 * @module
 */

/** A quote file that cannot be used at all (unreadable, unparsable, no valid quote, or a bad entry with `strict`). */
export class QuoteFileError extends Error {
  readonly code = "QUOTE_FILE_INVALID";
  constructor(readonly path: string, readonly problems: readonly string[]) {
    super(`Cannot load quotes from ${path}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "QuoteFileError";
  }
}
