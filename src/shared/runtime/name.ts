/**
 * Which runtime this is and its version, apart from transport/index.ts so `wisdom version --json`
 * loads no transport.
 * @module
 */
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
  // deno-lint-ignore no-explicit-any
  if (name === "bun") return (globalThis as any).Bun.version;
  // deno-lint-ignore no-explicit-any
  if (name === "deno") return (globalThis as any).Deno.version.deno;
  return process.versions.node;
}
