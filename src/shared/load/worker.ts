/**
 * A load worker (started by isolated.ts): one runner (runner.ts) on its own thread, so honest clients
 * and solving attackers are not slowed by the event loop that drives the other attack profiles.
 * @module
 */
import { createRunner, type Runner } from "./runner.ts";
import type { FromLoadWorker, ToLoadWorker } from "./worker-protocol.ts";

interface _WorkerScope {
  onmessage: ((event: MessageEvent<ToLoadWorker>) => void) | null;
  postMessage(message: FromLoadWorker): void;
}

const scope = globalThis as unknown as _WorkerScope;
let runner: Runner | undefined;

const failed = (error: unknown) => scope.postMessage({ type: "failed", message: error instanceof Error ? error.message : String(error) });

scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === "init") {
    createRunner(message.init).then((r) => {
      runner = r;
      scope.postMessage({ type: "ready", kernel: r.kernel });
    }, failed);
  } else if (message.type === "run") {
    if (!runner) return failed(new Error("Cannot run: the load worker got no init"));
    runner.run(message.ms).then((counts) => scope.postMessage({ type: "done", counts }), failed);
  }
};
scope.postMessage({ type: "hello" });
