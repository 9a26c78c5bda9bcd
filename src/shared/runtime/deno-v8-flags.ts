/**
 * The V8 flags a Deno process of `wisdom` starts with. The deno.json task, the README's `deno run` line,
 * `deno compile` (scripts/build-binaries.ts), the test helpers that run the CLI and the benches that
 * start a Deno server use these; tests/unit/deno-v8-flags.test.ts checks the first three.
 *
 * `--max-semi-space-size` caps each isolate's young generation (the main thread's and every gate
 * thread's Worker). V8 doubles a young generation each time as many bytes have survived its scavenges
 * since the last growth as it holds, so under steady load it only grows (docs/OPERATIONS.md, Threads:
 * Memory, has the figures and the CPU it costs). It cannot be set from inside: V8 reads it when an
 * isolate is made, Deno's node:v8 setFlagsFromString does nothing, and its Worker takes no resource
 * limits. Deno puts `--v8-flags` after DENO_V8_FLAGS, and the last value of a flag wins, so the
 * environment cannot override these; another size needs a `deno run` line of one's own.
 * @module
 */

/** Young generation per isolate: at most this many MB a semi-space (V8 commits two). */
export const DENO_SEMI_SPACE_MB = 2;

export const DENO_V8_FLAGS: readonly string[] = [`--max-semi-space-size=${DENO_SEMI_SPACE_MB}`];

/** The `deno run` / `deno compile` argument that passes `flags` to V8 (none for an empty list). */
export function denoV8FlagsArg(flags: readonly string[] = DENO_V8_FLAGS): string[] {
  for (const f of flags) if (!/^--[a-z0-9_-]+(=[A-Za-z0-9._-]+)?$/.test(f)) throw new RangeError(`V8 flag ${JSON.stringify(f)}: expected --name or --name=value`);
  return flags.length === 0 ? [] : [`--v8-flags=${flags.join(",")}`];
}

/**
 * A bench's `--deno-v8-flags` value as a flag list: undefined gives the shipped flags, "none" V8's own
 * defaults, anything else a comma-separated list. `env` is the bench's environment: a DENO_V8_FLAGS
 * there would come before these and lose to them, so it is refused rather than silently overridden.
 */
export function parseDenoV8Flags(value: string | undefined, env: Record<string, string | undefined>): readonly string[] {
  if (env.DENO_V8_FLAGS) throw new RangeError(`DENO_V8_FLAGS=${env.DENO_V8_FLAGS}: the servers' --v8-flags come after it and win; unset it and pass --deno-v8-flags=...`);
  if (value === undefined) return DENO_V8_FLAGS;
  if (value === "none") return [];
  if (value.trim() === "") throw new RangeError("--deno-v8-flags: expected none or a comma-separated list of V8 flags");
  const flags = value.split(",").map((f) => f.trim()).filter((f) => f !== "");
  if (flags.length === 0) throw new RangeError(`--deno-v8-flags=${value}: expected none or a comma-separated list of V8 flags`);
  denoV8FlagsArg(flags); // validates
  return flags;
}
