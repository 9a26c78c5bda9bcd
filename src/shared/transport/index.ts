/**
 * Picks the transport for the runtime we run on, and names the runtime. Runtime globals are used by the
 * adapters here, by runtime/ (FFI, Redis client, heap, descriptors, nft) and, to pick the faster WASM
 * build, by solver/kernel-wasm.ts (from the user agent, no global).
 * @module
 */
import { type RuntimeName, runtimeName } from "../runtime/name.ts";
import type { Transport } from "./types.ts";

export { type RuntimeName, runtimeName, runtimeVersion } from "../runtime/name.ts";

/** The native transport of this runtime ("bun", "deno"), or node:net. `prefer` forces one. */
export async function pickTransport(prefer?: RuntimeName): Promise<Transport> {
  const name = prefer ?? runtimeName();
  if (name === "bun") return (await import("./bun.ts")).bunTransport;
  if (name === "deno") return (await import("./deno.ts")).denoTransport;
  return (await import("./node.ts")).nodeTransport;
}
