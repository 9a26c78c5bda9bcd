/**
 * The byte layout of SHA-256 hashcash, wire protocol v1 (docs/PROTOCOL.md, "What the client hashes"):
 * the 64-byte prefix, the 8-byte big-endian counter, and leading zero bits. No hash function here, so
 * `wisdom fetch` can build a prefix and encode a counter without loading @noble/hashes (hashcash.ts
 * re-exports all of it). Pure functions over bytes.
 * @module
 */
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
