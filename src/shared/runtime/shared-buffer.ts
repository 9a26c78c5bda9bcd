/**
 * Zeroed shared memory that costs no resident memory until it is written. On Bun a plain `new
 * SharedArrayBuffer(n)` comes from its allocator's arena, and when the arena hands back memory freed
 * earlier (not yet returned to the system), the runtime zeroes it by writing every page: the whole buffer
 * becomes resident at once, and idle `serve --threads` memory depended on where the buffers landed
 * (README and docs/OPERATIONS.md give the figures; bench/idle-rss.ts measures them). A growable
 * SharedArrayBuffer is reserved from the system instead (it must never move), and fresh pages are zero
 * without being written. With `maxByteLength` equal to its length it cannot grow; it stays growable when
 * posted, and typed arrays over it track its (fixed) length.
 *
 * Only Bun on Linux x64 uses it. Deno (V8) gets large buffers from the system already, and reads typed
 * arrays over growable buffers slower (bench/shared-tables.ts). Bun's linux-arm64 build under
 * qemu-aarch64-static aborts the process ("mprotect failed") on any growable SharedArrayBuffer, and an
 * abort cannot be caught to fall back.
 * @module
 */
import { runtimeName } from "./name.ts";

/** Where a growable buffer is used: Bun on Linux x64 (see above). */
const GROWABLE = runtimeName() === "bun" && process.platform === "linux" && process.arch === "x64";

/** A SharedArrayBuffer of `bytes` zero bytes, resident only where written. */
export function zeroedSharedBuffer(bytes: number): SharedArrayBuffer {
  if (GROWABLE) {
    const Growable = SharedArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => SharedArrayBuffer;
    try {
      return new Growable(bytes, { maxByteLength: bytes });
    } catch {
      // the reservation was refused (a RangeError): the plain kind below
    }
  }
  return new SharedArrayBuffer(bytes);
}
