/**
 * What logging code shares without loading the formatter (logger.ts, consola): the Logger interface, level
 * names and order, and the silent logger. A gate thread (serve/gate-thread.ts) logs through these only: it
 * hands each record to the main thread, whose logger formats and writes it.
 * @module
 */

export type LogFormat = "pretty" | "json";
export type LogLevelName = "silent" | "error" | "warn" | "info" | "debug";
/** consola's numbers for the levels (higher: more verbose). */
export const LEVELS: Record<LogLevelName, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4 };

export type Fields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  error(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
