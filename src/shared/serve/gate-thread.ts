/**
 * A gate thread of `wisdom serve --threads N` (a Worker module): one more server on the shared port,
 * built by startServer() like the main thread's, attached to the shared state. Its log lines go to the
 * main thread (one writer for stderr); it answers the main thread's reload, metrics and close requests.
 * The main thread supervises it (serve/threads.ts).
 * @module
 */
import { startServer, type RunningServer } from "./start-server.ts";
import { createLogger, type Fields, type Logger } from "../observe/logger.ts";
import type { FromThread, ThreadInit, ToThread } from "./thread-messages.ts";
import { attachThreadState } from "./thread-state.ts";

const post = (m: FromThread) => (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(m);

/** Every line says which thread wrote it. */
function threadLogger(init: ThreadInit): Logger {
  const base = createLogger({ format: init.config.log_format, level: init.config.log_level, write: (line) => post({ type: "log", line }), color: false });
  const tag = (f?: Fields): Fields => ({ thread: init.index, ...f });
  return {
    error: (m, f) => base.error(m, tag(f)),
    warn: (m, f) => base.warn(m, tag(f)),
    info: (m, f) => base.info(m, tag(f)),
    debug: (m, f) => base.debug(m, tag(f)),
  };
}

let server: RunningServer | null = null;
let init: ThreadInit | null = null;

async function start(i: ThreadInit): Promise<void> {
  init = i;
  const shared = attachThreadState(i.shared, i.index, i.config);
  try {
    server = await startServer({
      config: i.config, keys: i.keys, signingId: i.signingId, storePasswords: i.storePasswords, configDir: i.configDir,
      logger: threadLogger(i), ...(shared.store ? { store: shared.store } : {}), thread: { index: i.index, board: shared.board, admission: shared.admission },
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
