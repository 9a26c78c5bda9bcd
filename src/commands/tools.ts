/**
 * One build entrypoint for the occasional commands (`wisdom bench`, `wisdom load`, `wisdom completion`),
 * loaded only when one of them runs (see guard-clients.ts for why commands share entrypoints).
 * @module
 */
export { runBench } from "./bench.ts";
export { runLoad } from "./load.ts";
export { runCompletion } from "./completion.ts";
