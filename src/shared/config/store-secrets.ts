/**
 * Where the shared store's passwords come from: WISDOM_STORE_PASSWORD (the value), or a file
 * (WISDOM_STORE_PASSWORD_FILE / store_password_file); the same for the sentinels' own password
 * (WISDOM_STORE_SENTINEL_PASSWORD, store_sentinel_password_file). Never a URL (it would be logged) and
 * never a message: errors name the variable or the file, not the value.
 * @module
 */
import type { Passwords } from "../store/redis-connection.ts";
import { ConfigError } from "./load.ts";

export interface StoreSecretInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** store_password_file after env and flags (WISDOM_STORE_PASSWORD_FILE is that key's variable). */
  readonly passwordFile?: string;
  readonly sentinelPasswordFile?: string;
  readonly readFile: (path: string) => string;
}

/** Longest password taken (Redis itself has no limit; this is about a wrong file). */
const _MAX = 4096;

export function loadStorePasswords(i: StoreSecretInput): Passwords {
  const problems: string[] = [];
  const one = (envVar: string, fileKey: string, file: string | undefined): string | undefined => {
    const value = i.env[envVar];
    if (value !== undefined && file !== undefined) {
      problems.push(`${fileKey}: set either ${envVar} or a file (${fileKey}), not both`);
      return undefined;
    }
    let text = value;
    if (file !== undefined) {
      try {
        text = i.readFile(file);
      } catch (err) {
        problems.push(`${fileKey}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        return undefined;
      }
    }
    if (text === undefined) return undefined;
    text = text.replace(/\r?\n$/, "");
    const from = file ?? envVar;
    if (text === "") problems.push(`${fileKey} (from ${from}): empty`);
    else if (text.length > _MAX) problems.push(`${fileKey} (from ${from}): longer than ${_MAX} characters`);
    else if (/[\r\n\0]/.test(text)) problems.push(`${fileKey} (from ${from}): contains a line break or NUL`);
    else return text;
    return undefined;
  };
  const redis = one("WISDOM_STORE_PASSWORD", "store_password_file", i.passwordFile);
  const sentinel = one("WISDOM_STORE_SENTINEL_PASSWORD", "store_sentinel_password_file", i.sentinelPasswordFile);
  if (problems.length > 0) throw new ConfigError(problems);
  return { redis, sentinel };
}
