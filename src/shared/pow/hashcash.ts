/**
 * SHA-256 hashcash, wire protocol v1 (docs/PROTOCOL.md, section "What the client hashes").
 *
 * The hashed message is exactly 72 bytes: a 64-byte prefix fixed per challenge, then an 8-byte
 * big-endian counter chosen by the client. SHA-256 therefore compresses the prefix block once
 * (the midstate) and one final block per attempt, in which only the first two words vary.
 *
 *   prefix[0..16)  ASCII "wisdom/hashcash1" (domain separation)
 *   prefix[16]     difficulty in bits (0..32 are valid in v1, the range the server may sign)
 *   prefix[17..32) zero
 *   prefix[32..64) the challenge's HMAC-SHA256 tag (binds every signed field)
 *
 * A proof is valid when SHA-256(prefix || counter) starts with `difficulty` zero bits.
 * Everything here is a pure function over bytes.
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";

export const PREFIX_BYTES = 64;
export const COUNTER_BYTES = 8;
export const MESSAGE_BYTES = PREFIX_BYTES + COUNTER_BYTES;
export const MAX_BITS = 32;
const DOMAIN = new TextEncoder().encode("wisdom/hashcash1");

/** Build the 64-byte prefix for a challenge of `bits` difficulty whose tag is `mac`. */
export function buildPrefix(bits: number, mac: Uint8Array): Uint8Array {
  if (!Number.isInteger(bits) || bits < 0 || bits > 255) {
    throw new RangeError(`Cannot build prefix: difficulty ${bits} is not an integer in 0..255`);
  }
  if (mac.length !== 32) throw new RangeError(`Cannot build prefix: tag is ${mac.length} bytes, expected 32`);
  const out = new Uint8Array(PREFIX_BYTES);
  out.set(DOMAIN, 0);
  out[16] = bits;
  out.set(mac, 32);
  return out;
}

/** Write `counter` (an integer in 0..2^53-1) as 8 big-endian bytes into `out` at `offset`. */
export function writeCounter(out: Uint8Array, offset: number, counter: number): void {
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError(`Cannot encode counter ${counter}: expected a safe non-negative integer`);
  }
  const hi = Math.floor(counter / 0x1_0000_0000);
  const lo = counter >>> 0;
  out[offset] = hi >>> 24; out[offset + 1] = (hi >>> 16) & 255; out[offset + 2] = (hi >>> 8) & 255; out[offset + 3] = hi & 255;
  out[offset + 4] = lo >>> 24; out[offset + 5] = (lo >>> 16) & 255; out[offset + 6] = (lo >>> 8) & 255; out[offset + 7] = lo & 255;
}

/** The 8-byte big-endian counter encoding. */
export function encodeCounter(counter: number): Uint8Array {
  const out = new Uint8Array(COUNTER_BYTES);
  writeCounter(out, 0, counter);
  return out;
}

/** Count the leading zero bits of a digest (0..256). */
export function leadingZeroBits(digest: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < digest.length; i++) {
    const b = digest[i]!;
    if (b === 0) { n += 8; continue; }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

/** SHA-256(prefix || counterBytes). `counterBytes` is the raw 8-byte counter. */
export function workDigest(prefix: Uint8Array, counterBytes: Uint8Array): Uint8Array {
  if (prefix.length !== PREFIX_BYTES) throw new RangeError(`Cannot hash: prefix is ${prefix.length} bytes, expected 64`);
  if (counterBytes.length !== COUNTER_BYTES) throw new RangeError(`Cannot hash: counter is ${counterBytes.length} bytes, expected 8`);
  return sha256.create().update(prefix).update(counterBytes).digest();
}

/** True when SHA-256(prefix || counterBytes) has at least `bits` leading zero bits. */
export function meetsDifficulty(prefix: Uint8Array, counterBytes: Uint8Array, bits: number): boolean {
  return leadingZeroBits(workDigest(prefix, counterBytes)) >= bits;
}

/** Expected number of attempts for a difficulty: 2^bits. */
export function expectedAttempts(bits: number): number {
  return 2 ** bits;
}

/**
 * Reference solver: tries counters start, start+1, ... up to `limit` attempts.
 * Slow (one @noble/hashes call per attempt); the fast kernels live in ./solver/.
 * Returns the first counter that works, or -1.
 */
export function solveReference(prefix: Uint8Array, bits: number, start = 0, limit = 2 ** 40): number {
  const buf = new Uint8Array(COUNTER_BYTES);
  for (let c = start; c < start + limit; c++) {
    writeCounter(buf, 0, c);
    if (meetsDifficulty(prefix, buf, bits)) return c;
  }
  return -1;
}
