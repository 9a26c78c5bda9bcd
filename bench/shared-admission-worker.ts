/** Worker of bench/shared-admission.ts: attaches to the shared admission state and runs connections against it. */
import { type SharedAdmissionBuffers, SharedAdmissionState } from "../src/shared/store/shared-admission.ts";
import { type Loop, work } from "./shared-admission.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };

self.onmessage = (e: MessageEvent) => {
  const { loop, buffers, ms, seed, start } = e.data as { loop: Loop; buffers: SharedAdmissionBuffers; ms: number; seed: number; start: Int32Array };
  const st = SharedAdmissionState.attach(buffers);
  work(loop, st, 200, seed + 100); // warm up
  Atomics.add(start, 1, 1);
  while (Atomics.load(start, 0) === 0);
  self.postMessage(work(loop, st, ms, seed));
};
