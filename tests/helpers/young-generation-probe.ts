/**
 * Prints the largest young generation (V8's new space, MB) a Worker of this process reached while it
 * allocated short-lived objects with some survivors, as a gate thread does. Deno only (node:v8 in a
 * Worker). Run by tests/unit/deno-v8-flags.test.ts with and without the V8 flags `deno task wisdom` ships.
 *   deno run -A [--v8-flags=...] tests/helpers/young-generation-probe.ts [iterations]
 */
const worker = `
import v8 from "node:v8";
const n = ${Number(Deno.args[0] ?? 4_000_000)};
const ring = new Array(20000);
let max = 0;
for (let i = 0; i < n; i++) {
  ring[i % 20000] = { a: i, b: [i] };
  if (i % 50000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size);
}
postMessage(max);
`;
const w = new Worker(URL.createObjectURL(new Blob([worker], { type: "text/javascript" })), { type: "module" });
w.onmessage = (e: MessageEvent<number>) => {
  console.log((e.data / 1048576).toFixed(1));
  w.terminate();
};
