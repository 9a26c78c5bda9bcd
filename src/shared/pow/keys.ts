/**
 * HMAC-SHA256 key ring (RFC 2104): one key signs, every key verifies.
 * Each key's inner and outer hash states are computed once (sha256-fast.ts), so a tag costs only the
 * message blocks plus one outer block. Secrets never leave this module: there is no getter and toJSON hides them.
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { FastHmac } from "./sha256-fast.ts";

export interface KeySpec {
  /** Key id, carried in every challenge: 1..32 of A-Z a-z 0-9 . _ - */
  readonly id: string;
  readonly secret: Uint8Array;
}

export const MIN_SECRET_BYTES = 16;
const KID_RE = /^[A-Za-z0-9._-]{1,32}$/;

/** Thrown for a bad key ring; `code` is stable. */
export class KeyError extends Error {
  readonly code = "KEY_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "KeyError";
  }
}

/** The id used for a secret when none is given: 8 hex digits of SHA-256("wisdom/kid" || secret). Same secret, same id. */
export function deriveKeyId(secret: Uint8Array): string {
  const h = sha256.create().update(new TextEncoder().encode("wisdom/kid")).update(secret).digest();
  return `k${bytesToHex(h.subarray(0, 4))}`;
}

export class KeyRing {
  readonly signingId: string;
  private readonly _keys = new Map<string, FastHmac>();

  constructor(keys: readonly KeySpec[], signingId?: string) {
    if (keys.length === 0) throw new KeyError("Key ring is empty: at least one key is needed");
    for (const k of keys) {
      if (!KID_RE.test(k.id)) throw new KeyError(`Key id ${JSON.stringify(k.id)} must be 1 to 32 of A-Z a-z 0-9 . _ -`);
      if (k.secret.length < MIN_SECRET_BYTES) {
        throw new KeyError(`Key ${k.id}: secret is ${k.secret.length} bytes, at least ${MIN_SECRET_BYTES} needed`);
      }
      if (this._keys.has(k.id)) throw new KeyError(`Key id ${k.id} appears twice`);
      this._keys.set(k.id, new FastHmac(k.secret));
    }
    this.signingId = signingId ?? keys[0]!.id;
    if (!this._keys.has(this.signingId)) throw new KeyError(`Signing key ${this.signingId} is not in the key ring`);
  }

  get ids(): string[] {
    return [...this._keys.keys()];
  }

  has(id: string): boolean {
    return this._keys.has(id);
  }

  /** HMAC-SHA256 of the first `length` bytes of `message` under key `id`, into `out` (32 bytes). False when the id is unknown. */
  tagInto(id: string, message: Uint8Array, out: Uint8Array, length = message.length): boolean {
    const h = this._keys.get(id);
    if (!h) return false;
    h.tagInto(message, length, out);
    return true;
  }

  toJSON(): { signingId: string; ids: string[] } {
    return { signingId: this.signingId, ids: this.ids };
  }
}

/**
 * Compare two byte arrays in time that depends only on their lengths.
 * JavaScript gives no hard guarantee: a JIT may still short-cut, and timing of typed-array reads is not
 * specified. The loop has no data-dependent branch and always reads every byte, which is the best
 * portable code can do (Deno std's timing_safe_equal makes the same trade).
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
