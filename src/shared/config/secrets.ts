/**
 * Where the HMAC secret comes from: WISDOM_SECRET (the value), WISDOM_SECRET_FILE or `secret_file`
 * (a file holding it), or, without any, a random per-process key and a warning. The secret's text is
 * used as UTF-8 bytes; `wisdom keygen` prints a suitable one. Secret values never appear in messages.
 * @module
 */
import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import { dirname, isAbsolute, join } from "node:path";
import { deriveKeyId, type KeySpec, MIN_SECRET_BYTES } from "../pow/keys.ts";
import { ConfigError } from "./load.ts";

export { generateSecret } from "./keygen.ts";

/**
 * A keys file (YAML or JSON) for rotation: every key verifies, `signing_key` signs.
 *
 *   signing_key: k2026b
 *   keys:
 *     - id: k2026b
 *       secret_file: k2026b.secret      # relative to this file
 *     - id: k2026a
 *       secret_file: /run/secrets/k2026a
 */
export const KeysFileSchema = v.strictObject({
  signing_key: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,32}$/, "1 to 32 of A-Z a-z 0-9 . _ -"))),
  keys: v.pipe(
    v.array(
      v.strictObject({
        id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,32}$/, "1 to 32 of A-Z a-z 0-9 . _ -")),
        secret: v.optional(v.pipe(v.string(), v.minLength(MIN_SECRET_BYTES, `at least ${MIN_SECRET_BYTES} characters`))),
        secret_file: v.optional(v.pipe(v.string(), v.minLength(1))),
      }),
    ),
    v.minLength(1, "at least one key"),
  ),
});

export interface SecretInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly secretFile?: string;
  readonly keyId?: string;
  readonly keysFile?: string;
  readonly readFile: (path: string) => string;
  readonly randomBytes: (n: number) => Uint8Array;
}

export interface Secrets {
  readonly keys: KeySpec[];
  readonly signingId: string;
  /** "env", "file", "keys_file" or "random" (per-process). */
  readonly origin: "env" | "file" | "keys_file" | "random";
}

const enc = new TextEncoder();

function loadKeysFile(i: SecretInput, path: string): Secrets {
  const where = (s: string) => `keys_file ${path}: ${s}`;
  let doc: unknown;
  try {
    doc = parseYaml(i.readFile(path));
  } catch (err) {
    throw new ConfigError([where(`cannot read or parse: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message.split("\n")[0]}`)]);
  }
  const r = v.safeParse(KeysFileSchema, doc);
  if (!r.success) throw new ConfigError(r.issues.map((x) => where(`${v.getDotPath(x) ?? "(root)"}: ${x.message}`)));
  const problems: string[] = [];
  const keys: KeySpec[] = [];
  const seen = new Set<string>();
  r.output.keys.forEach((k, n) => {
    if (seen.has(k.id)) problems.push(where(`keys.${n}.id: ${k.id} appears twice`));
    seen.add(k.id);
    if ((k.secret === undefined) === (k.secret_file === undefined)) {
      problems.push(where(`keys.${n} (${k.id}): give exactly one of secret or secret_file`));
      return;
    }
    let text = k.secret;
    if (k.secret_file !== undefined) {
      const f = isAbsolute(k.secret_file) ? k.secret_file : join(dirname(path), k.secret_file);
      try {
        text = i.readFile(f).trim();
      } catch (err) {
        problems.push(where(`keys.${n} (${k.id}): cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
        return;
      }
    }
    const secret = enc.encode(text!);
    if (secret.length < MIN_SECRET_BYTES) {
      problems.push(where(`keys.${n} (${k.id}): secret is ${secret.length} bytes, at least ${MIN_SECRET_BYTES} needed`));
      return;
    }
    keys.push({ id: k.id, secret });
  });
  const signingId = r.output.signing_key ?? r.output.keys[0]!.id;
  if (!seen.has(signingId)) problems.push(where(`signing_key ${signingId} is not one of the keys`));
  if (problems.length > 0) throw new ConfigError(problems);
  return { keys, signingId, origin: "keys_file" };
}

export function loadSecrets(i: SecretInput): Secrets {
  const keysFile = i.env.WISDOM_KEYS_FILE ?? i.keysFile;
  if (keysFile !== undefined) {
    if (i.env.WISDOM_SECRET !== undefined || i.env.WISDOM_SECRET_FILE !== undefined || i.secretFile !== undefined) {
      throw new ConfigError(["keys_file: use either a keys file or a single secret (WISDOM_SECRET, secret_file), not both"]);
    }
    return loadKeysFile(i, keysFile);
  }
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
