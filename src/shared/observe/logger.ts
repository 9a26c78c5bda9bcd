/**
 * Logs with consola, always on stderr (stdout carries data): human lines on a TTY, JSON lines otherwise
 * or with --log-format json. Callers pass a message and a flat object of fields; secrets are never fields.
 * @module
 */
import { createConsola, type ConsolaInstance, type LogObject } from "consola/core";

import { type Fields, LEVELS, type LogFormat, type Logger, type LogLevelName, silentLogger } from "./log.ts";

export { type Fields, type LogFormat, type Logger, type LogLevelName, silentLogger };
const TYPE_TO_NAME: Record<string, string> = { fatal: "error", error: "error", warn: "warn", log: "info", info: "info", success: "info", ready: "info", start: "info", box: "info", debug: "debug", trace: "debug", verbose: "debug" };

export interface LoggerOptions {
  readonly format: LogFormat;
  readonly level: LogLevelName;
  readonly write: (line: string) => void;
  readonly color?: boolean;
}

const COLORS: Record<string, string> = { error: "\x1b[31m", warn: "\x1b[33m", info: "\x1b[36m", debug: "\x1b[90m" };

function fieldsText(f: Fields | undefined): string {
  if (!f) return "";
  let s = "";
  for (const [k, v] of Object.entries(f)) if (v !== undefined) s += ` ${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : v}`;
  return s;
}

export function createLogger(o: LoggerOptions): Logger {
  const reporter = {
    log(obj: LogObject) {
      const level = TYPE_TO_NAME[obj.type] ?? "info";
      const [msg, fields] = obj.args as [string, Fields | undefined];
      if (o.format === "json") {
        o.write(`${JSON.stringify({ time: obj.date.toISOString(), level, msg, ...fields })}\n`);
      } else {
        const time = obj.date.toISOString().slice(11, 23);
        const tag = o.color ? `${COLORS[level] ?? ""}${level.toUpperCase().padEnd(5)}\x1b[0m` : level.toUpperCase().padEnd(5);
        o.write(`${time} ${tag} ${msg}${fieldsText(fields)}\n`);
      }
    },
  };
  const c: ConsolaInstance = createConsola({ level: LEVELS[o.level], reporters: [reporter] });
  return {
    error: (m, f) => c.error(m, f),
    warn: (m, f) => c.warn(m, f),
    info: (m, f) => c.info(m, f),
    debug: (m, f) => c.debug(m, f),
  };
}
