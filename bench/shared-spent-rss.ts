/**
 * Resident memory of the shared spent set (src/shared/store/shared-spent.ts) against the keys it holds (issue 15):
 * create it as `wisdom serve` would (spent_max_entries 2,000,000, challenge lifetime 60 s + skew), insert
 * --inserts random keys whose expiry runs 60 s ahead of a clock that advances over --span-ms (so they are
 * spread over the generations and reuse the tables), and print process RSS before and after.
 *
 *   npx bun bench/shared-spent-rss.ts --inserts 100000 [--span-ms 124000]
 *   npx deno run -A bench/shared-spent-rss.ts --inserts 100000
 *
 * Run one size per process: RSS only grows within a process.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { SharedSpentSet } from "../src/shared/store/shared-spent.ts";

if (import.meta.main) {
  const { values } = parseArgs({ options: { inserts: { type: "string", default: "1000" }, "span-ms": { type: "string", default: "124000" } } });
  const n = Number(values.inserts), span = Number(values["span-ms"]);
  if (!(n >= 1 && span >= 0)) throw new Error("--inserts >= 1, --span-ms >= 0");
  const hex = new Array<string>(n);
  const bytes = new Uint8Array(16);
  for (let i = 0; i < n; i++) { // made before the first RSS reading, so the keys themselves are not counted
    crypto.getRandomValues(bytes);
    hex[i] = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const mb = (b: number) => Number((b / 1048576).toFixed(1));
  const t0 = 1_800_000_000_000;
  const before = process.memoryUsage().rss;
  const set = SharedSpentSet.create({ maxEntries: 2_000_000, maxTtlMs: 62_000, nowMs: t0 });
  const created = process.memoryUsage().rss;
  let refused = 0;
  for (let i = 0; i < n; i++) {
    const now = t0 + Math.floor((i * span) / n);
    try {
      if (!set.markSpent(hex[i]!, now + 60_000, now)) throw new Error("a random key was already spent");
    } catch (err) {
      if (!(err instanceof Error) || err.name !== "StoreUnavailableError") throw err;
      refused++;
    }
  }
  const after = process.memoryUsage().rss;
  const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
  console.log(JSON.stringify({
    runtime, inserts: n, span_ms: span, refused, held: set.size(), buffer_mb: mb(set.buffer.byteLength),
    rss_before_mb: mb(before), rss_create_delta_mb: mb(created - before), rss_insert_delta_mb: mb(after - created),
    // what the set's structure says it touched (absent before the chained layout)
    entry_area_mb: "allocatedBytes" in set ? mb(set.allocatedBytes()) : null, directories_mb: "directoryBytes" in set ? mb(set.directoryBytes) : null,
  }));
}
