/**
 * Where the HMAC secret comes from: WISDOM_SECRET (the value), WISDOM_SECRET_FILE or `secret_file`
 * (a file holding it), or, without any, a random per-process key and a warning. The secret's text is
 * used as UTF-8 bytes; `wisdom keygen` prints a suitable one. Secret values never appear in messages.
 * @module
 */
import { deriveKeyId, type KeySpec, MIN_SECRET_BYTES } from "../pow/keys.ts";
import { ConfigError } from "./load.ts";

export interface SecretInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly secretFile?: string;
  readonly keyId?: string;
  readonly readFile: (path: string) => string;
  readonly randomBytes: (n: number) => Uint8Array;
}

export interface Secrets {
  readonly keys: KeySpec[];
  readonly signingId: string;
  /** "env", "file" or "random" (per-process). */
  readonly origin: "env" | "file" | "random";
}

const enc = new TextEncoder();

/** A fresh secret: 32 random bytes, base64url (43 characters). */
export function generateSecret(randomBytes: (n: number) => Uint8Array): string {
  const b = randomBytes(32);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function loadSecrets(i: SecretInput): Secrets {
  let text: string | undefined;
  let origin: Secrets["origin"] = "random";
  const file = i.env.WISDOM_SECRET_FILE ?? i.secretFile;
  if (i.env.WISDOM_SECRET !== undefined && file !== undefined) {
    throw new ConfigError(["secret: set either WISDOM_SECRET or a secret file (WISDOM_SECRET_FILE / secret_file), not both"]);
  }
  if (i.env.WISDOM_SECRET !== undefined) {
    text = i.env.WISDOM_SECRET.trim();
    origin = "env";
  } else if (file !== undefined) {
    try {
      text = i.readFile(file).trim();
    } catch (err) {
      throw new ConfigError([`secret_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    origin = "file";
  }
  let secret: Uint8Array;
  if (text === undefined) {
    secret = i.randomBytes(32);
  } else {
    secret = enc.encode(text);
    if (secret.length < MIN_SECRET_BYTES) {
      throw new ConfigError([`secret (from ${origin === "env" ? "WISDOM_SECRET" : file}): ${secret.length} bytes, at least ${MIN_SECRET_BYTES} needed (wisdom keygen prints one)`]);
    }
  }
  const id = i.keyId ?? deriveKeyId(secret);
  return { keys: [{ id, secret }], signingId: id, origin };
}
