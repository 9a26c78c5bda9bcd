/**
 * A gate thread of `wisdom serve --threads N` (a Worker module): one more server on the shared port,
 * built by startServer() like the main thread's, attached to the shared state. Its log records go to the
 * main thread (one logger, one writer for stderr); it answers the main thread's reload, metrics and close requests.
 * The main thread supervises it (serve/threads.ts).
 * @module
 */
import { startServer, type RunningServer } from "./start-server.ts";
import { type Fields, LEVELS, type Logger, type LogLevelName } from "../observe/log.ts";
import type { FromThread, ThreadInit, ToThread } from "./thread-messages.ts";
import { attachThreadState } from "./thread-state.ts";

const post = (m: FromThread) => (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(m);

/**
 * Each record goes to the main thread, which formats and writes it with its own logger (so a Worker loads
 * no formatter); every record says which thread wrote it. Records below the configured level stay here.
 */
function threadLogger(init: ThreadInit): Logger {
  const max = LEVELS[init.config.log_level];
  const send = (level: Exclude<LogLevelName, "silent">) => (msg: string, f?: Fields) => {
    if (LEVELS[level] <= max) post({ type: "log", level, msg, fields: { thread: init.index, ...f } });
  };
  return { error: send("error"), warn: send("warn"), info: send("info"), debug: send("debug") };
}

let server: RunningServer | null = null;
let init: ThreadInit | null = null;

async function start(i: ThreadInit): Promise<void> {
  init = i;
  const shared = attachThreadState(i.shared, i.index, i.config);
  try {
    server = await startServer({
      config: i.config, keys: i.keys, signingId: i.signingId, storePasswords: i.storePasswords, configDir: i.configDir, jitScale: i.jitScale,
      logger: threadLogger(i), ...(shared.store ? { store: shared.store } : {}), thread: { index: i.index, threads: i.threads, board: shared.board, admission: shared.admission, fds: i.fds },
    });
    post({ type: "ready", port: server.port, owners: shared.admission?.owners ?? [] });
  } catch (err) {
    const e = err as Error & { problems?: string[] };
    post({ type: "start-failed", error: e.problems?.join("; ") ?? e.message ?? String(err) });
  }
}

async function onMessage(m: ToThread): Promise<void> {
  switch (m.type) {
    case "init":
      return start(m.init);
    case "reload":
      try {
        if (!server) throw new Error("gate thread not started");
        post({ type: "reloaded", id: m.id, report: await server.reload(m.config, m.keys, m.signingId) });
      } catch (err) {
        post({ type: "reloaded", id: m.id, error: (err as Error).message });
      }
      return;
    case "metrics":
      post({ type: "metrics", id: m.id, snapshot: server ? await server.metrics.snapshot() : null });
      return;
    case "close":
      await server?.close(); // drains for shutdown_grace_ms, kept in step with the main thread's by reloads
      post({ type: "closed" });
      return;
    case "fail":
      setTimeout(() => {
        throw new Error(`gate thread ${init?.index} failed on purpose (a test)`);
      }, 0);
      return;
  }
}

addEventListener("message", (e) => void onMessage((e as MessageEvent<ToThread>).data));
post({ type: "hello" });
