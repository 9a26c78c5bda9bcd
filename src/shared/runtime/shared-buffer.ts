/**
 * Zeroed shared memory that costs no resident memory until it is written. On Bun a plain `new
 * SharedArrayBuffer(n)` comes from its allocator's arena, and when the arena hands back memory freed
 * earlier (not yet returned to the system), the runtime zeroes it by writing every page: the whole buffer
 * becomes resident at once. Measured (bench/idle-rss.ts): `serve --threads 2` idled at 64 to 122 MB from
 * one start to the next (the 53 MB spent set zeroed page by page, or not). A growable SharedArrayBuffer
 * is reserved from the system instead (it must never move), and fresh pages are zero without being
 * written; with `maxByteLength` equal to its length it is a fixed-size buffer read and posted like any
 * other (bench/shared-tables.ts: the same speed on Bun). Deno (V8) gets large buffers from the system
 * already, and reads typed arrays over growable buffers 10-15 % slower (the same bench), so it keeps the
 * plain kind. Only on Linux x64, where it is tested: Bun 1.4.5's linux-arm64 build under
 * qemu-aarch64-static aborts the process ("mprotect failed: Cannot allocate memory") on any growable
 * SharedArrayBuffer, 64 KB included, and an abort cannot be caught to fall back.
 * @module
 */

declare const Bun: unknown;

/** Where a growable buffer is used: Bun on Linux x64 (see above). */
const GROWABLE = typeof Bun !== "undefined" && globalThis.process?.platform === "linux" && globalThis.process?.arch === "x64";

/** A SharedArrayBuffer of `bytes` zero bytes, resident only where written. */
export function zeroedSharedBuffer(bytes: number): SharedArrayBuffer {
  if (GROWABLE) {
    const Growable = SharedArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => SharedArrayBuffer;
    try {
      const b = new Growable(bytes, { maxByteLength: bytes });
      if (b.byteLength === bytes) return b;
    } catch {
      // a Bun without growable shared buffers: the plain kind below
    }
  }
  return new SharedArrayBuffer(bytes);
}
