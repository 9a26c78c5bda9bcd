/** Worker of bench/shared-tables.ts: attaches to the shared spent set and runs handshakes against it (or the control loop). */
import { SharedSpentSet } from "../src/shared/store/shared-spent.ts";
import { control, WARMUP_SET, work } from "./shared-tables.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };

self.onmessage = (e: MessageEvent) => {
  const { buffer, ms, seed, start, control: isControl, youngEvery = 0, warmupMs } = e.data as { buffer: SharedArrayBuffer; ms: number; seed: number; start: Int32Array; control?: boolean; youngEvery?: number; warmupMs: number };
  if (isControl) {
    control(warmupMs, seed); // warm up
    Atomics.add(start, 1, 1);
    while (Atomics.load(start, 0) === 0);
    self.postMessage(control(ms, seed));
    return;
  }
  const store = SharedSpentSet.attach(buffer);
  // Warm up on a set of this thread's own, so that every turn measures the same empty table whatever the
  // warm-up inserted, and long enough that the JIT has done its work (a gate thread runs for hours).
  work(SharedSpentSet.create(WARMUP_SET), warmupMs, seed + 1_000_000, youngEvery);
  Atomics.add(start, 1, 1);
  while (Atomics.load(start, 0) === 0);
  self.postMessage(work(store, ms, seed, youngEvery));
};
