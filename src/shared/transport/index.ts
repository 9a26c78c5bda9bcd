/**
 * Picks the transport for the runtime we run on, and names the runtime. Runtime globals are used by the
 * adapters here, by runtime/ (FFI, Redis client, heap, descriptors, nft) and, to pick the faster WASM
 * build, by solver/kernel-wasm.ts (from the user agent, no global).
 * @module
 */
import type { Transport } from "./types.ts";

declare const Bun: unknown;
declare const Deno: unknown;

export type RuntimeName = "bun" | "deno" | "node";

export function runtimeName(): RuntimeName {
  if (typeof Bun !== "undefined") return "bun";
  if (typeof Deno !== "undefined") return "deno";
  return "node";
}

export function runtimeVersion(): string {
  const name = runtimeName();
  if (name === "bun") return (globalThis as any).Bun.version;
  if (name === "deno") return (globalThis as any).Deno.version.deno;
  return process.versions.node;
}

/** The native transport of this runtime ("bun", "deno"), or node:net. `prefer` forces one. */
export async function pickTransport(prefer?: RuntimeName): Promise<Transport> {
  const name = prefer ?? runtimeName();
  if (name === "bun") return (await import("./bun.ts")).bunTransport;
  if (name === "deno") return (await import("./deno.ts")).denoTransport;
  return (await import("./node.ts")).nodeTransport;
}
