/** Deterministic PRNGs (xorshift32) so random tests replay exactly. */

/** Uniform 32-bit unsigned integers. */
export function rngU32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
}

/** Floats in [0, 1). */
export function rngFloat(seed: number): () => number {
  const next = rngU32(seed);
  return () => next() / 0x1_0000_0000;
}

/** `n` bytes from a rngU32. */
export const randomBytes = (r: () => number, n: number): Uint8Array => Uint8Array.from({ length: n }, () => r() & 255);
