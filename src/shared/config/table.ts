/**
 * The README's configuration table, made from the schema's keys, defaults and one-line docs, so the
 * README cannot drift from what `wisdom serve` accepts (scripts/gen-config-table.ts writes it,
 * tests/unit/readme-config.test.ts checks it).
 * @module
 */
import { CONFIG_DOCS, CONFIG_KEYS, SERVE_DEFAULTS } from "./schema.ts";

export const TABLE_HEADER = "| key | default | meaning |\n|---|---|---|";

/** The table's rows, one per flat key, in schema order. */
export function configTableRows(): string[] {
  return CONFIG_KEYS.map((k) => {
    const d = (SERVE_DEFAULTS as Record<string, unknown>)[k];
    return `| \`${k}\` | ${d === undefined ? "" : `\`${d}\``} | ${CONFIG_DOCS[k as keyof typeof CONFIG_DOCS]} |`;
  });
}

/** `readme` with the table after the header replaced by the current one. Throws when there is no table. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_HEADER);
  if (start < 0) throw new Error("README has no configuration table header");
  const body = start + TABLE_HEADER.length + 1;
  let end = body;
  while (end < readme.length && readme.startsWith("| `", end)) end = readme.indexOf("\n", end) + 1 || readme.length;
  return readme.slice(0, body) + configTableRows().join("\n") + "\n" + readme.slice(end);
}
