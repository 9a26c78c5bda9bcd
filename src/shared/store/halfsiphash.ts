/**
 * HalfSipHash-1-3 with a 64-bit output (Aumasson and Bernstein's SipHash family, the 32-bit variant; the
 * Linux kernel's `hsiphash` for hash tables) over the UTF-16LE bytes of a string: a keyed hash for the
 * shared tables' client keys (store/shared-table.ts), so that a client who does not know the key cannot
 * choose addresses that collide or crowd one stripe.
 *
 * Reference: https://github.com/veorq/SipHash (halfsiphash.c: v0..v3 init, SIPROUND, the last block
 * carrying the byte length in its top byte, 0xee/0xdd for the 64-bit output). The 1-3 round counts are
 * the hash-table strength the kernel uses, not a MAC: fine for spreading keys, not for authenticating.
 *
 * Pure and allocation-free: the two output words are left in `out` (an Int32Array of 2).
 * @module
 */

/** `out[0]`, `out[1]` = HalfSipHash-1-3-64 of `s` (as UTF-16LE bytes) under the key (k0, k1). */
export function halfSipHash64(s: string, k0: number, k1: number, out: Int32Array): void {
  let v0 = k0 | 0, v1 = k1 ^ 0xee, v2 = 0x6c796765 ^ k0, v3 = 0x74656462 ^ k1;
  const n = s.length;
  const end = n & ~1;
  for (let i = 0; i < end; i += 2) {
    const m = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    v3 ^= m;
    // one SIPROUND (c = 1)
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
  }
  // last block: the byte length (mod 256) in the top byte, the odd trailing UTF-16 unit below it
  const b = (((n * 2) & 0xff) << 24) | (n & 1 ? s.charCodeAt(n - 1) : 0);
  v3 ^= b;
  v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
  v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
  v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  v0 ^= b;
  v2 ^= 0xee;
  for (let r = 0; r < 3; r++) { // d = 3
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  }
  out[0] = v1 ^ v3;
  v1 ^= 0xdd;
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  }
  out[1] = v1 ^ v3;
}
