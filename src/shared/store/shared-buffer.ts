/**
 * Zeroed shared memory that costs no resident memory until it is written. A plain `new
 * SharedArrayBuffer(n)` on Bun comes from its allocator's arena, and when the arena hands back memory
 * freed earlier (not yet returned to the system), the runtime zeroes it by writing every page: the whole
 * buffer becomes resident at once. Measured: `serve --threads 2 --defence off` idled at 64 MB in half of
 * its starts and at 120 MB in the other half (the 53 MB spent set zeroed page by page), and with the
 * defence on at 64 to 124 MB. A growable SharedArrayBuffer is reserved from the system instead (it must
 * never move), whose fresh pages are zero without being written; with `maxByteLength` equal to its
 * length it is a fixed-size buffer that every engine reads and posts like any other.
 * @module
 */

/** A SharedArrayBuffer of `bytes` zero bytes, resident only where written. */
export function zeroedSharedBuffer(bytes: number): SharedArrayBuffer {
  const Growable = SharedArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => SharedArrayBuffer;
  try {
    const b = new Growable(bytes, { maxByteLength: bytes });
    if (b.byteLength === bytes) return b;
  } catch {
    // an engine without growable shared buffers: the plain kind below
  }
  return new SharedArrayBuffer(bytes);
}
