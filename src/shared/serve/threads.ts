/**
 * `wisdom serve --threads N`: the main thread runs gate thread 0 (with the metrics listener, the
 * profiles and the signals) and supervises N-1 gate threads in Workers (serve/gate-thread.ts), all on
 * one port (SO_REUSEPORT: the kernel spreads connections over them) and one shared state
 * (serve/thread-state.ts). /metrics adds every thread's numbers up; a reload and a shutdown reach every
 * thread; a thread that fails is started again (counted in wisdom_thread_restarts_total) while the
 * others keep serving.
 * @module
 */
import { availableParallelism } from "node:os";
import type { ServeConfig } from "../config/schema.ts";
import { formatHostPort } from "../net/address.ts";
import { type Logger, silentLogger } from "../observe/log.ts";
import type { MetricsSnapshot } from "../observe/metrics.ts";
import type { KeySpec } from "../pow/keys.ts";
import { workerUrls } from "../runtime/worker-urls.ts";
import { sharedPortProblem } from "../transport/index.ts";
import { measureFds } from "./fd-caps.ts";
import type { ReloadReport } from "./reload-diff.ts";
import type { FromThread, ThreadInit, ToThread } from "./thread-messages.ts";
import { createThreadState, releaseDeadThread, spentHorizonMs } from "./thread-state.ts";
import type { RunningServer, ServerOptions } from "./start-server.ts";

/** How many gate threads to run, and why fewer than asked for. */
export interface ThreadPlan {
  readonly threads: number;
  /** Set when the server runs one thread although more were asked for (0 asks for one per core). */
  readonly reason: string | null;
}

export function planThreads(c: ServeConfig, cores = availableParallelism(), portProblem: string | null = sharedPortProblem()): ThreadPlan {
  const wanted = c.threads === 0 ? Math.max(1, Math.min(64, cores)) : c.threads;
  if (wanted <= 1) return { threads: 1, reason: null };
  if (portProblem) return { threads: 1, reason: portProblem };
  if (c.firewall === "nft") return { threads: 1, reason: "firewall: nft bans from one thread's refusals; run it with threads: 1" };
  return { threads: wanted, reason: null };
}

/** Longest wait for a gate thread to start (a Deno worker loading the whole server takes seconds under test). */
const START_MS = 60_000;
/** Restart back-off after a thread failed: doubles from the first value up to the last. */
const RESTART_MIN_MS = 100, RESTART_MAX_MS = 10_000;
/** A metrics request a thread has not answered in this long is left out of the scrape. */
const METRICS_MS = 2_000;

interface _Thread {
  readonly index: number;
  worker: Worker | null;
  ready: boolean;
  failures: number;
  /** Its owner ids in the shared admission tables: a thread that dies holding a stripe lock has it freed. */
  owners: readonly number[];
  restartTimer: ReturnType<typeof setTimeout> | null;
}

export interface ThreadsOptions extends ServerOptions {
  readonly threads: number;
}

export interface ThreadedServer extends RunningServer {
  /** Gate threads, the main one included. */
  readonly threads: number;
  /** Gate threads running now. */
  readonly running: () => number;
  /** Make thread `index` (1..threads-1) fail as a bug would; for tests. */
  failThread(index: number): void;
}

/** Start the main gate thread and the others; resolves once every one listens. */
export async function startThreads(o: ThreadsOptions, startServer: (opts: ServerOptions) => Promise<RunningServer>): Promise<ThreadedServer> {
  const log: Logger = o.logger ?? silentLogger;
  const n = o.threads;
  const state = createThreadState(o.config, n);
  const fds = measureFds(o.config); // once for the process: the threads share its descriptors
  const main = await startServer({ ...o, ...(state.store ? { store: state.store } : {}), thread: { index: 0, threads: n, board: state.board, admission: state.admission, fds } });
  let keys = o.keys, signingId = o.signingId;
  let config = main.config;
  const horizon = spentHorizonMs(o.config);
  const urls = workerUrls(import.meta.url, "shared/serve/threads.ts", "shared/serve/gate-thread.ts");
  const threads: _Thread[] = Array.from({ length: n - 1 }, (_, i) => ({ index: i + 1, worker: null, ready: false, failures: 0, owners: [], restartTimer: null }));
  let nextId = 1;
  const waiting = new Map<number, (m: FromThread) => void>();
  let closing = false;
  const threadConfig = (c: ServeConfig): ServeConfig => ({
    ...c,
    listen: formatHostPort(main.host, main.port),
    // The main thread alone serves /metrics and the profiles.
    metrics_listen: "", debug_runtime: "off", profile_dir: "",
  });
  const initFor = (t: _Thread): ThreadInit => ({
    index: t.index, threads: n, config: threadConfig(config), keys, signingId, storePasswords: o.storePasswords, configDir: o.configDir, shared: state.buffers, fds,
    ...(o.jitScale !== undefined ? { jitScale: o.jitScale } : {}),
  });

  const onFailure = (t: _Thread, why: string) => {
    t.ready = false;
    t.worker?.terminate();
    t.worker = null;
    // A stripe lock it held would stall every thread; the connections it counted would shrink the caps for good.
    const released = releaseDeadThread(state, t.index, t.owners);
    t.owners = [];
    if (closing) return;
    main.metrics.threadRestarts.inc();
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.min(16, t.failures++));
    log.error("gate thread failed; starting it again", { thread: t.index, error: why, restart_in_ms: delay, connections_released: released });
    t.restartTimer = setTimeout(() => {
      t.restartTimer = null;
      spawn(t).then(
        () => log.info("gate thread restarted", { thread: t.index }),
        (err) => onFailure(t, (err as Error).message),
      );
    }, delay);
  };

  /** Start `t`'s worker; resolves once it listens. */
  const spawn = async (t: _Thread): Promise<void> => {
    let lastError = "";
    for (const url of urls) {
      try {
        await _startOne(t, url);
        return;
      } catch (err) {
        lastError = (err as Error).message;
        if (!/Cannot (find|load|resolve)|not found|ModuleNotFound|failed to load/i.test(lastError)) break; // a real failure, not a missing file
      }
    }
    throw new Error(lastError);
  };
  const _startOne = (t: _Thread, url: string) =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(url, { type: "module" });
      t.worker = w;
      let started = false;
      const timer = setTimeout(() => fail(`gate thread ${t.index} did not start within ${START_MS} ms`), START_MS);
      const fail = (why: string) => {
        clearTimeout(timer);
        if (!started) {
          w.terminate();
          if (t.worker === w) t.worker = null;
          reject(new Error(why));
        } else if (t.worker === w) onFailure(t, why);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault(); // a failed thread must not end the process
        fail(e.message || String(e.error ?? "error"));
      };
      w.onmessage = (e: MessageEvent<FromThread>) => {
        const m = e.data;
        if (m.type === "hello") w.postMessage({ type: "init", init: initFor(t) } satisfies ToThread);
        else if (m.type === "ready") {
          clearTimeout(timer);
          t.owners = m.owners;
          started = true;
          t.ready = true;
          resolve();
        } else if (m.type === "start-failed") fail(m.error);
        else if (m.type === "log") log[m.level](m.msg, m.fields);
        else if (m.type === "reloaded" || m.type === "metrics") waiting.get(m.id)?.(m);
        else if (m.type === "closed") waiting.get(-t.index)?.(m);
      };
    });

  /** Ask every ready thread; resolves with the answers that came within `ms` (null for the rest). */
  const ask = <A extends FromThread>(make: (id: number) => ToThread, ms: number, key?: (t: _Thread) => number): Promise<(A | null)[]> =>
    Promise.all(
      threads.filter((t) => t.ready && t.worker).map((t) => {
        const id = key ? key(t) : nextId++;
        return new Promise<A | null>((resolve) => {
          const timer = setTimeout(() => done(null), ms);
          const done = (m: A | null) => {
            clearTimeout(timer);
            waiting.delete(id);
            resolve(m);
          };
          waiting.set(id, (m) => done(m as A));
          t.worker!.postMessage(make(id));
        });
      }),
    );

  try {
    await Promise.all(threads.map((t) => spawn(t)));
  } catch (err) {
    closing = true;
    for (const t of threads) t.worker?.terminate();
    await main.close();
    throw new Error(`Cannot start the gate threads: ${(err as Error).message}`, { cause: err });
  }
  main.metrics.threads.set(n);
  main.metrics.bindPeers(async () => (await ask<Extract<FromThread, { type: "metrics" }>>((id) => ({ type: "metrics", id }), METRICS_MS)).flatMap((m) => (m?.snapshot ? [m.snapshot] : [])) as MetricsSnapshot[]);
  const running = () => 1 + threads.filter((t) => t.ready).length;
  main.metrics.bindThreads(running);

  const reload = async (next: ServeConfig, nextKeys: readonly KeySpec[], nextSigningId?: string): Promise<ReloadReport> => {
    // The shared spent set covers the lifetime it was sized for at the start: a longer one takes a restart.
    const tooLong = spentHorizonMs(next) > horizon && state.store !== null;
    const applied = tooLong ? { ...next, challenge_ttl_ms: config.challenge_ttl_ms, clock_skew_ms: config.clock_skew_ms } : next;
    const report = await main.reload(applied, nextKeys, nextSigningId); // throws (bad keys) before any thread changes
    config = main.config;
    keys = nextKeys;
    signingId = nextSigningId;
    const answers = await ask<Extract<FromThread, { type: "reloaded" }>>((id) => ({ type: "reload", id, config: threadConfig(config), keys, signingId }), 10_000);
    for (const a of answers) if (!a || a.error) log.error("a gate thread did not take the reload", { error: a?.error ?? "no answer within 10 s" });
    if (!tooLong) return report;
    const held = (["challenge_ttl_ms", "clock_skew_ms"] as const).filter((k) => next[k] !== config[k]);
    log.warn("with threads, a longer challenge lifetime takes a restart (the shared spent set covers the one it started with)", { keys: held.join(",") });
    return { changed: [...new Set([...report.changed, ...held])], needRestart: [...new Set([...report.needRestart, ...held])] };
  };

  let closed: Promise<void> | null = null;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      for (const t of threads) if (t.restartTimer) clearTimeout(t.restartTimer);
      const grace = config.shutdown_grace_ms;
      await Promise.all([
        ask((): ToThread => ({ type: "close" }), grace + 5_000, (t) => -t.index),
        main.close(),
      ]);
      for (const t of threads) {
        t.worker?.terminate();
        t.worker = null;
        t.ready = false;
      }
    })());

  const server = Object.create(main) as ThreadedServer;
  return Object.assign(server, {
    threads: n,
    running,
    reload,
    close,
    [Symbol.asyncDispose]: close,
    failThread(index: number) {
      threads[index - 1]?.worker?.postMessage({ type: "fail" } satisfies ToThread);
    },
  });
}
