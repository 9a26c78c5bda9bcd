/**
 * What the main thread and its gate threads (serve --threads) say to each other over postMessage.
 * Secrets travel here (the HMAC keys, store passwords) only between threads of one process, never logged.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import type { Fields } from "../observe/log.ts";
import type { MetricsSnapshot } from "../observe/metrics.ts";
import type { KeySpec } from "../pow/keys.ts";
import type { Passwords } from "../store/redis-connection.ts";
import type { SharedAdmissionBuffers } from "../store/shared-admission.ts";
import type { ReloadReport } from "./reload-diff.ts";
import type { MeasuredFds } from "./fd-caps.ts";

/** The SharedArrayBuffers every gate thread attaches to (serve/thread-state.ts). */
export interface SharedBuffers {
  /** The spent set, with store: memory (else each thread opens the shared store itself). */
  readonly spent: SharedArrayBuffer | null;
  readonly board: SharedArrayBuffer;
  /** Connection counts, outstanding challenges, token buckets, escalation (null with the defence off). */
  readonly admission: SharedAdmissionBuffers | null;
  /** Per worker thread (index - 1): its ledger of connections counted in the shared table (store/shared-ledger.ts). */
  readonly ledgers: readonly SharedArrayBuffer[];
}

export interface ThreadInit {
  readonly index: number;
  /** Gate threads in the process, the main one included. */
  readonly threads: number;
  /** The configuration for this thread: the main one with `listen` pinned to the port the main thread got. */
  readonly config: ServeConfig;
  readonly keys: readonly KeySpec[];
  readonly signingId?: string;
  readonly storePasswords?: Passwords;
  readonly configDir?: string;
  readonly shared: SharedBuffers;
  /** The process's descriptors, measured once by the main thread (serve/fd-caps.ts). */
  readonly fds: MeasuredFds;
  /** JavaScriptCore's tier-up scale for this thread, as the main thread's (ServerOptions.jitScale). */
  readonly jitScale?: number;
}

export type ToThread =
  | { readonly type: "init"; readonly init: ThreadInit }
  | { readonly type: "reload"; readonly id: number; readonly config: ServeConfig; readonly keys: readonly KeySpec[]; readonly signingId?: string }
  | { readonly type: "metrics"; readonly id: number }
  | { readonly type: "close" }
  /** Fail as a bug would (an uncaught error in the thread): how the tests show a crashed thread is restarted. */
  | { readonly type: "fail" };

export type FromThread =
  | { readonly type: "hello" }
  /** `owners`: the thread's owner id in each shared admission table, to free its locks if it dies. */
  | { readonly type: "ready"; readonly port: number; readonly owners: readonly number[] }
  | { readonly type: "start-failed"; readonly error: string }
  /** A log record, for the main thread's logger (fields include `thread`). */
  | { readonly type: "log"; readonly level: "error" | "warn" | "info" | "debug"; readonly msg: string; readonly fields: Fields }
  | { readonly type: "reloaded"; readonly id: number; readonly report?: ReloadReport; readonly error?: string }
  | { readonly type: "metrics"; readonly id: number; readonly snapshot: MetricsSnapshot | null }
  | { readonly type: "closed" };
