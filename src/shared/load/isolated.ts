/**
 * Runs a load runner (runner.ts) in its own module worker (worker.ts), started the way the solver starts
 * its pool: `new Worker(url, { type: "module" })`, which Bun and Deno both run from source.
 *
 * In a `bun build --compile` binary the worker must be an extra entrypoint (like the solver's) and is
 * looked up at ./src/shared/load/worker.ts, then ./shared/load/worker.ts. When no worker starts,
 * startRunner() falls back to the calling thread and says so (`isolation: "inline"`).
 * @module
 */
import { createRunner, type CountsOf, type Role, type Runner, type RunnerInit } from "./runner.ts";
import type { FromLoadWorker, ToLoadWorker } from "./worker-protocol.ts";

/** How long a worker may take to start, load its modules and build its solver. */
const _START_MS = 30_000;

/** A runner on its own thread, or on this one when no worker can start. */
export async function startRunner<R extends Role>(init: RunnerInit<R>): Promise<Runner<R>> {
  const why: string[] = [];
  for (const url of _workerUrls()) {
    try {
      return await _startWorker(url, init);
    } catch (err) {
      why.push(`${url}: ${(err as Error).message}`); // next candidate, then the calling thread
    }
  }
  const runner = createRunner(init);
  return Object.assign(runner, { isolationError: why.join("; ") });
}

function _startWorker<R extends Role>(url: string, init: RunnerInit<R>): Promise<Runner<R>> {
  const worker = new Worker(url, { type: "module" });
  let pending: { resolve(v: CountsOf<R>): void; reject(e: unknown): void } | undefined;
  let broken: Error | undefined;
  const post = (m: ToLoadWorker) => worker.postMessage(m);
  return new Promise<Runner<R>>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`Load worker did not start within ${_START_MS} ms`)), _START_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      broken = error;
      worker.terminate();
      reject(error);
      pending?.reject(error);
      pending = undefined;
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      fail(new Error(`Load worker failed: ${event.message}`));
    };
    worker.onmessage = (event: MessageEvent<FromLoadWorker>) => {
      const m = event.data;
      if (m.type === "hello") post({ type: "init", init });
      else if (m.type === "ready") {
        clearTimeout(timer);
        resolve({
          role: init.role,
          isolation: "worker",
          kernel: m.kernel,
          run(ms) {
            if (broken) return Promise.reject(broken);
            return new Promise<CountsOf<R>>((res, rej) => {
              pending = { resolve: res, reject: rej };
              post({ type: "run", ms });
            });
          },
          close() {
            worker.terminate();
            return Promise.resolve();
          },
        });
      } else if (m.type === "done") {
        pending?.resolve(m.counts as CountsOf<R>);
        pending = undefined;
      } else if (m.type === "failed") fail(new Error(`Load worker failed: ${m.message}`));
    };
  });
}

/** Where worker.ts may be: next to this file, or inside a `bun build --compile` binary. */
function _workerUrls(): string[] {
  const near = ["./src/shared/load/worker.ts", "./shared/load/worker.ts"].map((path) => new URL(path, import.meta.url).href);
  // With --bytecode, import.meta.url in the binary is the source file's path at build time, so the URLs
  // above name files on the build machine's disk; a specifier relative to the binary's root names the
  // bundled worker (tried by hand with the source's worker.ts moved away).
  const bundled = ["./src/shared/load/worker.ts", "./shared/load/worker.ts"];
  if (import.meta.url.endsWith("/isolated.ts")) return [new URL("./worker.ts", import.meta.url).href, ...bundled];
  return [...near, ...bundled];
}
