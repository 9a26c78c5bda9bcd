/**
 * The parts of SHA-256 (FIPS 180-4, section 6.2) that every solver kernel shares: the round
 * constants, the initial hash value, one scalar compression, and the hashcash-specific split of
 * the 72-byte message (../hashcash.ts) into a prefix midstate and a constant final block.
 *
 * The final block of every attempt is: W0 = counter high word, W1 = counter low word,
 * W2 = 0x80000000 (the padding bit), W3..W14 = 0, W15 = 576 (the message length in bits).
 * @module
 */

/** FIPS 180-4 section 4.2.2: the 64 round constants. */
export const K: readonly number[] = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/** FIPS 180-4 section 5.3.3: the initial hash value. */
export const IV: readonly number[] = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/** Final-block words W2..W15: padding bit, zeros, and the bit length of a 72-byte message. */
export const FINAL_BLOCK_PAD: readonly number[] = [0x80000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 576];

/**
 * Compress one 16-word block into `state` (8 words, updated in place). `w` must have room for
 * 64 words; its first 16 are the block and the rest is scratch. Scalar and allocation-free.
 */
export function compress(state: Int32Array, w: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!, y = w[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  let e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + (g ^ (e & (f ^ g))) + K[t]! + w[t]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) | (c & (a | b)))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0;
    d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0; state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0; state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0; state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0; state[7] = (state[7]! + h) | 0;
}

/** The SHA-256 state after compressing the 64-byte hashcash prefix (its first block). */
export function midstate(prefix: Uint8Array): Int32Array {
  if (prefix.length !== 64) throw new RangeError(`Cannot compute midstate: prefix is ${prefix.length} bytes, expected 64`);
  const w = new Int32Array(64);
  for (let i = 0; i < 16; i++) {
    w[i] = (prefix[4 * i]! << 24) | (prefix[4 * i + 1]! << 16) | (prefix[4 * i + 2]! << 8) | prefix[4 * i + 3]!;
  }
  const state = Int32Array.from(IV);
  compress(state, w);
  return state;
}

/** Digest words -> the 32 big-endian digest bytes. */
export function digestBytes(words: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = words[i]!;
    out[4 * i] = v >>> 24; out[4 * i + 1] = (v >>> 16) & 255; out[4 * i + 2] = (v >>> 8) & 255; out[4 * i + 3] = v & 255;
  }
  return out;
}

/**
 * The difficulty test on the first digest word: at least `bits` (0..32) leading zero bits.
 * Only the first word can matter, since 32 is the largest difficulty v1 allows.
 */
export function difficultyMask(bits: number): number {
  return bits === 0 ? 0 : (-1 << (32 - bits)) | 0;
}
