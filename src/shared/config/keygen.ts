/**
 * A fresh HMAC secret for WISDOM_SECRET or a secret file (`wisdom keygen`), apart from secrets.ts so the
 * command loads neither the YAML parser nor the schema.
 * @module
 */

/** 32 random bytes as base64url without padding (43 characters). */
export function generateSecret(randomBytes: (n: number) => Uint8Array): string {
  const b = randomBytes(32);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
