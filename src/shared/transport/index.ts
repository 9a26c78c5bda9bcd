/**
 * Picks the transport for the runtime we run on, and names the runtime. Runtime globals are used by the
 * adapters here, by runtime/ (FFI, Redis client, heap, descriptors, nft) and, to pick the faster WASM
 * build, by solver/kernel-wasm.ts (from the user agent, no global).
 * @module
 */
import { type RuntimeName, runtimeName } from "../runtime/name.ts";
import { osPlatform } from "../runtime/process-info.ts";
import type { Transport } from "./types.ts";

export { type RuntimeName, runtimeName, runtimeVersion } from "../runtime/name.ts";

/** The native transport of this runtime ("bun", "deno"), or node:net. `prefer` forces one. */
export async function pickTransport(prefer?: RuntimeName): Promise<Transport> {
  const name = prefer ?? runtimeName();
  if (name === "bun") return (await import("./bun.ts")).bunTransport;
  if (name === "deno") return (await import("./deno.ts")).denoTransport;
  return (await import("./node.ts")).nodeTransport;
}

/**
 * Why gate threads cannot share one port here, or null when they can: listeners with SO_REUSEPORT
 * (ListenOptions.reusePort) on Linux, where the kernel spreads new connections over them. macOS and
 * Windows accept the option without balancing; Deno 2.9 ends the process on it without --unstable-net
 * (it cannot be caught), so that flag is looked for first: an unstable-net API is defined only with it.
 */
export function sharedPortProblem(name: RuntimeName = runtimeName()): string | null {
  const platform = osPlatform();
  if (platform !== "linux") return `the kernel balances a shared port (SO_REUSEPORT) only on Linux, not on ${platform}`;
  if (name === "bun") return null;
  if (name === "deno") {
    const deno = (globalThis as { Deno?: Record<string, unknown> }).Deno;
    return typeof deno?.listenDatagram === "function" ? null : "Deno shares a port only with --unstable-net (or \"unstable\": [\"net\"] in deno.json)";
  }
  return "the node:net transport cannot share a port between listeners";
}
