/** Worker of bench/shared-tables.ts: attaches to the shared spent set and runs handshakes against it (or the control loop). */
import { SharedSpentSet } from "../src/shared/store/shared-spent.ts";
import { control, work } from "./shared-tables.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };

self.onmessage = (e: MessageEvent) => {
  const { buffer, ms, seed, start, control: isControl, youngEvery = 0 } = e.data as { buffer: SharedArrayBuffer; ms: number; seed: number; start: Int32Array; control?: boolean; youngEvery?: number };
  if (isControl) {
    control(100, seed); // warm up
    Atomics.add(start, 1, 1);
    while (Atomics.load(start, 0) === 0);
    self.postMessage(control(ms, seed));
    return;
  }
  const store = SharedSpentSet.attach(buffer);
  work(store, 100, seed + 1_000_000, youngEvery); // warm up
  Atomics.add(start, 1, 1);
  while (Atomics.load(start, 0) === 0);
  self.postMessage(work(store, ms, seed, youngEvery));
};
