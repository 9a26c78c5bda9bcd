/**
 * Makes JavaScriptCore's JIT tiers slower to compile a gate thread's functions: their tier-up thresholds
 * times `scale` (Bun.unsafe.setJITPolicy, Bun 1.4; per thread, so every gate thread sets its own). What
 * an attack adds to a Bun server's memory is mostly the optimizing compilers' (issue 14's notes: with
 * DFG off, a small attack grew anonymous memory by 0.7 MB instead of 15-26 MB, but the server was about
 * twenty times slower). A scale keeps every tier and only compiles less of the code that runs rarely:
 * the mixed attack of bench/attack.ts peaked 4-6 MB lower with GATE_JIT_SCALE, and CPU per handshake
 * in bench/handshake.ts stayed within the run-to-run spread (docs/OPERATIONS.md has the runs).
 * Elsewhere (Deno, Node, a Bun without the call) nothing happens.
 * @module
 */
declare const Bun: { unsafe?: { setJITPolicy?: (scale: number) => void } } | undefined;

/** The scale `wisdom serve` runs its gate threads with (src/server.ts; the library's serve() sets none). */
export const GATE_JIT_SCALE = 32;

/** Sets the scale where the runtime can (a finite number >= 1); says whether it did. */
export function setJitPolicy(scale: number): boolean {
  if (!Number.isFinite(scale) || scale < 1) throw new RangeError(`JIT scale ${scale}: expected a finite number >= 1`);
  const set = typeof Bun !== "undefined" ? Bun.unsafe?.setJITPolicy : undefined;
  if (typeof set !== "function") return false;
  set(scale);
  return true;
}
