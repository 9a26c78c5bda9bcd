/**
 * Runtime adapter: the runtime's own one-shot SHA-256, where it has a synchronous one (Bun's
 * `Bun.SHA256.hash`, native code). The solver uses it for small puzzles in a fresh process
 * (pow/solver/kernel-hasher.ts): it is at full speed from the first call, while the JavaScript kernel
 * starts in the engine's interpreter and picking a faster kernel costs start-up time. Elsewhere: null.
 * @module
 */

declare const Bun: { SHA256?: { hash(data: Uint8Array, out: Uint8Array): unknown } } | undefined;

/** Writes SHA-256(`data`) into `out` (32 bytes). */
export type OneShotSha256 = (data: Uint8Array, out: Uint8Array) => void;

export function runtimeSha256(): OneShotSha256 | null {
  const h = typeof Bun === "undefined" ? undefined : Bun.SHA256;
  if (!h || typeof h.hash !== "function") return null;
  return (data, out) => void h.hash(data, out);
}
