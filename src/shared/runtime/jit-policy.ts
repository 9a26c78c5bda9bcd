/**
 * Makes JavaScriptCore's optimizing tiers (DFG, FTL) slower to compile a gate thread's functions: their
 * tier-up thresholds times `scale` (Bun.unsafe.setJITPolicy, Bun 1.4; per thread, so every gate thread
 * sets its own). Under an attack the optimizing compilers are most of what the process grows by: with
 * DFG off, a small attack grew anonymous memory by 0.7 MB instead of 15-26 MB (issue 14's notes). A
 * handshake's hot path still reaches the top tier within a second at a few hundred handshakes per
 * second; what stops being compiled is code that runs rarely. Measured in bench/attack.ts and
 * bench/handshake.ts (docs/OPERATIONS.md has the figures). Elsewhere (Deno, Node, an older Bun) nothing.
 * @module
 */
declare const Bun: { unsafe?: { setJITPolicy?: (scale: number) => void } } | undefined;

/** Sets the scale where the runtime can; says whether it did. */
export function setJitPolicy(scale: number): boolean {
  const set = typeof Bun !== "undefined" ? Bun.unsafe?.setJITPolicy : undefined;
  if (typeof set !== "function") return false;
  set(scale);
  return true;
}
