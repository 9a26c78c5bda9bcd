/**
 * What `serve` keeps changing while it runs: the configuration in force and the defence built from it.
 * The composition root owns one; a reload replaces both fields, the adaptive loop and the debug snapshot read them.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import type { Defence } from "../defence/from-config.ts";

export interface ServeState {
  config: ServeConfig;
  defence: Defence;
}
