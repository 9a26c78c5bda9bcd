/**
 * A strict flag parser for `wisdom fetch`, whose start-up is measured (bench/startup.ts): the part of
 * node:util's `parseArgs` it uses, because loading node:util costs Bun several milliseconds of a
 * process that should be as short as the runtime allows. tests/unit/flags.test.ts checks it against
 * parseArgs itself.
 *
 * Long flags as `--name value` or `--name=value`, short aliases (`-q`; booleans grouped as `-qh`); `--` ends
 * the flags. An unknown flag, a missing value, or a value given to a boolean is an error.
 * @module
 */

export interface FlagSpec {
  readonly type: "boolean" | "string";
  readonly short?: string;
}

export interface ParsedFlags {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

export function parseFlags(argv: readonly string[], options: Readonly<Record<string, FlagSpec>>): ParsedFlags {
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!Object.hasOwn(options, name)) throw new TypeError(`Unknown option '--${name}'`);
    } else if (arg.startsWith("-") && arg.length > 2) {
      // Grouped short booleans (-qh), as parseArgs takes them.
      for (const letter of arg.slice(1)) {
        const n = byShort.get(letter);
        if (n === undefined || options[n]!.type !== "boolean") throw new TypeError(`Unknown option '-${letter}' in '${arg}'`);
        values[n] = true;
      }
      continue;
    } else if (arg.startsWith("-") && arg.length > 1) {
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw new TypeError(`Unknown option '${arg}'`);
    } else {
      positionals.push(arg);
      continue;
    }
    if (options[name]!.type === "boolean") {
      if (inline !== undefined) throw new TypeError(`Option '--${name}' does not take an argument`);
      values[name] = true;
    } else {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new TypeError(`Option '--${name} <value>' argument missing`);
      if (inline === undefined && value.startsWith("-")) throw new TypeError(`Option '--${name}' argument is ambiguous: ${JSON.stringify(value)} looks like a flag; use --${name}=${value}`);
      values[name] = value;
    }
  }
  return { values, positionals };
}
