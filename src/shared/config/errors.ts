/**
 * The configuration error, apart from the loader (load.ts) so that code which only reports one (a gate
 * thread's start, serve/start-server.ts) does not load the YAML parser and the schema library with it.
 * @module
 */

/** Bad configuration; `problems` lists every one, each naming its key and origin. Exit code 2. */
export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}
