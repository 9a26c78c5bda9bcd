/**
 * Messages between isolated.ts (the `wisdom load` main thread) and a load worker (worker.ts).
 * The worker says "hello" once its handler is in place (Bun drops messages sent before), gets "init",
 * answers "ready"; then each "run" is answered by "done" with that phase's counts, or "failed".
 * @module
 */
import type { LegitCounts } from "./legit.ts";
import type { RunnerInit } from "./runner.ts";
import type { SpamCounts } from "./spam.ts";

export type ToLoadWorker =
  | { type: "init"; init: RunnerInit }
  | { type: "run"; ms: number };

export type FromLoadWorker =
  | { type: "hello" }
  | { type: "ready"; kernel: string }
  | { type: "done"; counts: LegitCounts | SpamCounts }
  | { type: "failed"; message: string };
