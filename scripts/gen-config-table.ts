/**
 * Rewrites the configuration table in README.md from the schema (src/shared/config/table.ts).
 *
 *   npx bun scripts/gen-config-table.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withConfigTable } from "../src/shared/config/table.ts";

const path = fileURLToPath(new URL("../README.md", import.meta.url));
const before = readFileSync(path, "utf8");
const after = withConfigTable(before);
writeFileSync(path, after);
console.log(before === after ? "README.md: configuration table already current" : "README.md: configuration table rewritten");
