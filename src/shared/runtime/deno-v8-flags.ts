/**
 * The V8 flags a Deno process of `wisdom` starts with: the deno.json task, the README's `deno run` line,
 * `deno compile` (scripts/build-binaries.ts) and the benches that measure a Deno server (handshake,
 * thread-rss, idle-rss, attack, guard) use these, and tests/unit/deno-v8-flags.test.ts checks that the
 * first three agree.
 *
 * `--max-semi-space-size` caps each isolate's young generation (the main thread's and every gate
 * thread's Worker). V8 doubles a young generation each time as many bytes have survived its
 * scavenges since the last growth as it holds, up to 32 MB a semi-space here (64 MB committed): a
 * busy server only grows it. A Deno gate thread at 1,500 handshakes/s went from 4 to 13 to 26 MB in
 * 90 s, and a two-thread server at 3,000/s rose from 125 to 235 MB in its first 100 s and stayed there
 * (README, Performance). A process cannot change V8's heap flags once it runs (node:v8's
 * setFlagsFromString leaves a new Worker's heap as it was, checked on Deno 2.9), and Deno's Worker takes
 * no resource limits, so the flag goes on the command line. What the cap costs in CPU per handshake is
 * measured in README, Performance.
 * @module
 */

/** Young generation per isolate: at most this many MB a semi-space (V8 commits two). */
export const DENO_SEMI_SPACE_MB = 2;

export const DENO_V8_FLAGS: readonly string[] = [`--max-semi-space-size=${DENO_SEMI_SPACE_MB}`];

/** The `deno run` / `deno compile` argument that passes `flags` to V8 (none for an empty list). */
export function denoV8FlagsArg(flags: readonly string[] = DENO_V8_FLAGS): string[] {
  for (const f of flags) if (!/^--[a-z0-9-]+(=[A-Za-z0-9._-]+)?$/.test(f)) throw new RangeError(`V8 flag ${JSON.stringify(f)}: expected --name or --name=value`);
  return flags.length === 0 ? [] : [`--v8-flags=${flags.join(",")}`];
}

/**
 * A bench's `--deno-v8-flags` value as a flag list: undefined gives the shipped flags, "none" V8's own
 * defaults, anything else a comma-separated list.
 */
export function parseDenoV8Flags(value: string | undefined): readonly string[] {
  if (value === undefined) return DENO_V8_FLAGS;
  if (value === "none" || value === "") return [];
  const flags = value.split(",").map((f) => f.trim()).filter((f) => f !== "");
  denoV8FlagsArg(flags); // validates
  return flags;
}
