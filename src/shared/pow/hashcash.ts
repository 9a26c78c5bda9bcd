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

export { buildPrefix, COUNTER_BYTES, encodeCounter, leadingZeroBits, MAX_BITS, MESSAGE_BYTES, PREFIX_BYTES, writeCounter } from "./hashcash-bytes.ts";
import { COUNTER_BYTES, leadingZeroBits, PREFIX_BYTES, writeCounter } from "./hashcash-bytes.ts";

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
