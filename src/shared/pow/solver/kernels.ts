/**
 * Picks a hashcash kernel by name. "auto" takes the fastest one this engine runs, in this order:
 *
 * - "native": the system OpenSSL's SHA-256 block function through the runtime's FFI
 *   (kernel-native.ts), where it loads and passes its known-answer test: Linux with libcrypto 3 or
 *   1.1, Homebrew OpenSSL on macOS; on Deno only with --allow-ffi, which `deno task wisdom` does not
 *   grant. Measured on one thread here: 16-18 M/s on Bun, 10-14 M/s on Deno (where two workers
 *   calling FFI at once scale by 1.6-2.2x only).
 * - "wasm-simd": wherever the module validates: about 6 M/s on Bun and 7-10 M/s on Deno.
 * - "js": the pure-JS kernel otherwise, 1.5-1.9 M/s.
 *
 * node:crypto was measured too and is slower than all of them (a hash object per attempt: 1.6 M/s
 * on Bun, 0.16 M/s on Deno), so it is not offered.
 * @module
 */
import { nativeSha256, NATIVE_STATE_WORDS } from "../../runtime/native-sha256.ts";
import { createJsKernel } from "./kernel-js.ts";
import { createNativeKernel } from "./kernel-native.ts";
import { createWasmKernel, wasmSimdSupported } from "./kernel-wasm.ts";
import type { Kernel, KernelName } from "./types.ts";

export type KernelChoice = "auto" | KernelName;

/** Kernel names in order of preference. */
export const KERNEL_NAMES: readonly KernelName[] = ["native", "wasm-simd", "js"];

/** Whether `name` runs on this engine (and, for "native", on this system). */
export function kernelAvailable(name: KernelName): boolean {
  if (name === "native") return nativeSha256() !== null;
  if (name === "wasm-simd") return wasmSimdSupported();
  return true;
}

/** The kernel `choice` resolves to on this engine. */
export function resolveKernel(choice: KernelChoice = "auto"): KernelName {
  if (choice === "auto") return KERNEL_NAMES.find(kernelAvailable)!;
  if (!KERNEL_NAMES.includes(choice)) throw new RangeError(`Unknown kernel "${String(choice)}": expected auto, ${KERNEL_NAMES.join(", ")}`);
  return choice;
}

/** A new kernel instance for `choice`. */
export function createKernel(choice: KernelChoice = "auto"): Kernel {
  const name = resolveKernel(choice);
  if (name === "native") {
    const native = nativeSha256();
    if (!native) throw new RangeError("Cannot use the native kernel: no usable libcrypto SHA256_Transform here (on Deno it also needs --allow-ffi)");
    return createNativeKernel(native.transform, native.library, NATIVE_STATE_WORDS);
  }
  return name === "wasm-simd" ? createWasmKernel() : createJsKernel();
}
