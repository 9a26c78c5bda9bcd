/**
 * Picks a hashcash kernel by name. "auto" takes the fastest one this engine runs: the WebAssembly
 * SIMD kernel wherever the module validates (measured on one thread: about 6 M/s on Bun and
 * 9-10 M/s on Deno, against 1.5-1.9 M/s for the pure-JS kernel), the pure-JS kernel otherwise.
 * node:crypto was measured too and is slower than both (a hash object per attempt: 1.6 M/s on Bun,
 * 0.16 M/s on Deno), so it is not offered.
 * @module
 */
import { createJsKernel } from "./kernel-js.ts";
import { createWasmKernel, wasmSimdSupported } from "./kernel-wasm.ts";
import type { Kernel, KernelName } from "./types.ts";

export type KernelChoice = "auto" | KernelName;

/** Kernel names in order of preference. */
export const KERNEL_NAMES: readonly KernelName[] = ["wasm-simd", "js"];

/** The kernel `choice` resolves to on this engine. */
export function resolveKernel(choice: KernelChoice = "auto"): KernelName {
  if (choice === "auto") return wasmSimdSupported() ? "wasm-simd" : "js";
  if (!KERNEL_NAMES.includes(choice)) throw new RangeError(`Unknown kernel "${String(choice)}": expected auto, ${KERNEL_NAMES.join(", ")}`);
  return choice;
}

/** A new kernel instance for `choice`. */
export function createKernel(choice: KernelChoice = "auto"): Kernel {
  return resolveKernel(choice) === "wasm-simd" ? createWasmKernel() : createJsKernel();
}
