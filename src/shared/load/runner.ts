/**
 * A solving client population of `wisdom load` (honest clients, or the solving flood) behind one small
 * interface: run a phase of `ms`, get its counts. createRunner() runs it on the calling thread;
 * isolated.ts runs the same thing in a worker (worker.ts), so that the attack profiles sharing the
 * caller's event loop cannot delay it.
 * @module
 */
import { createSolver, type Solver } from "../pow/solver/solver.ts";
import { pickTransport, type RuntimeName } from "../transport/index.ts";
import { legit, type LegitCounts, newLegit } from "./legit.ts";
import { newSpam, spam, type SpamCounts } from "./spam.ts";

export type Role = "legit" | "spam";

/** Everything a runner needs, as plain data (it crosses to a worker). */
export interface RunnerInit<R extends Role = Role> {
  role: R;
  host: string;
  port: number;
  /** Source addresses to spread over (legit: each fetch takes the next address of its block anyway). */
  sources: number;
  /** Transport to pick ("node" to bind 127.x source addresses); default the runtime's own. */
  transport?: RuntimeName;
  /** Solver threads. */
  threads: number;
  /** legit: fetches started per second and the timeout of each. */
  ratePerSec?: number;
  timeoutMs?: number;
  /** spam: exchanges in flight, and this runner's share of the source addresses. */
  lanes?: number;
  offset?: number;
  stride?: number;
}

export type CountsOf<R extends Role> = R extends "legit" ? LegitCounts : SpamCounts;

export interface Runner<R extends Role = Role> {
  readonly role: R;
  /** "worker" when it runs on its own thread, "inline" on the caller's. */
  readonly isolation: "worker" | "inline";
  /** Why no worker started, when the runner fell back to the calling thread. */
  readonly isolationError?: string;
  readonly kernel: string;
  /** Runs one phase of `ms` milliseconds (plus the exchanges still in flight then) and returns its counts. */
  run(ms: number): Promise<CountsOf<R>>;
  close(): Promise<void>;
}

const _WARM_BITS = 12;

/** A runner on the calling thread. */
export async function createRunner<R extends Role>(init: RunnerInit<R>): Promise<Runner<R>> {
  const solver: Solver = await createSolver({ threads: init.threads });
  // One local solve first, so that compiling the kernel is not billed to the first measured fetch.
  await solver.solve(new Uint8Array(64), _WARM_BITS);
  const transport = await pickTransport(init.transport);
  let firstSource = 0;
  const target = (ms: number) => ({ host: init.host, port: init.port, transport, sources: init.sources, until: performance.now() + ms });
  const run = async (ms: number): Promise<LegitCounts | SpamCounts> => {
    if (init.role === "legit") {
      const c = newLegit();
      firstSource = await legit(target(ms), c, { ratePerSec: init.ratePerSec ?? 2, solver, timeoutMs: init.timeoutMs ?? 30_000, firstSource });
      return c;
    }
    const c = newSpam();
    await spam(target(ms), c, { solver, lanes: init.lanes, offset: init.offset, stride: init.stride });
    return c;
  };
  return {
    role: init.role,
    isolation: "inline",
    kernel: solver.kernel,
    run: run as (ms: number) => Promise<CountsOf<R>>,
    close: () => solver.close(),
  };
}
