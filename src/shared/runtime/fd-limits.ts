/**
 * The open-file limit and the descriptors in use, as this process sees them now: after Bun, Deno and
 * Node raised the soft limit to the hard one at start. Linux answers from /proc/self (limits, fd/);
 * elsewhere the answers are null (unknown) and callers keep their configured caps. Only node:fs, so
 * it runs unchanged on every runtime (Deno needs --allow-read).
 * @module
 */
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";

/** RLIMIT_NOFILE; `Infinity` stands for "unlimited". */
export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

/** Descriptors in use against the soft limit, for /metrics. */
export interface FdUsage {
  readonly open: number;
  readonly max: number;
}

/** An exhaustion found by probing, in the shape of an accept error (see transport/types.ts AcceptError). */
export interface FdExhaustion {
  readonly code: string;
  readonly message: string;
}

const _limitValue = (s: string | undefined): number => (s === "unlimited" ? Infinity : Number(s));

/** The "Max open files" row of a /proc/<pid>/limits text, or null when it has none. */
export function parseProcLimits(text: string): FdLimit | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return null;
  const soft = _limitValue(m[1]), hard = _limitValue(m[2]);
  return Number.isNaN(soft) || Number.isNaN(hard) ? null : { soft, hard };
}

const _isLinux = () => typeof process !== "undefined" && process.platform === "linux";
const _exhausted = (err: unknown) => {
  const code = (err as { code?: unknown })?.code;
  return code === "EMFILE" || code === "ENFILE";
};

/** This process's open-file limit, or null where it cannot be read (not Linux, no permission). */
export function readFdLimit(): FdLimit | null {
  if (!_isLinux()) return null;
  try {
    return parseProcLimits(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    return null;
  }
}

/**
 * Descriptors open now, or null when unknown. At exhaustion the directory cannot be opened (EMFILE):
 * then every descriptor is in use, and `limit` (when given) is the answer.
 */
export function countOpenFds(limit?: FdLimit | null): number | null {
  if (!_isLinux()) return null;
  try {
    // One entry is the descriptor readdirSync itself held while listing.
    return readdirSync("/proc/self/fd").length - 1;
  } catch (err) {
    return _exhausted(err) && limit && Number.isFinite(limit.soft) ? limit.soft : null;
  }
}

/** Descriptors in use against the soft limit, or null when either is unknown or the limit is unlimited. */
export function fdUsage(limit: FdLimit | null = readFdLimit()): FdUsage | null {
  if (!limit || !Number.isFinite(limit.soft)) return null;
  const open = countOpenFds(limit);
  return open === null ? null : { open, max: limit.soft };
}

/**
 * Whether one more descriptor can be opened now (opens and closes /dev/null: two system calls, any
 * Unix). False only on EMFILE/ENFILE; null when the probe itself cannot run (no /dev/null, no permission).
 */
export function canOpenFd(): boolean | null {
  let fd: number;
  try {
    fd = openSync("/dev/null", "r");
  } catch (err) {
    return _exhausted(err) ? false : null;
  }
  closeSync(fd);
  return true;
}

/**
 * For listeners whose runtime reports no accept error (Bun, node:net): probe every `intervalMs` and
 * call `onExhausted` while no descriptor is free, at most once per probe. `note` ends the message (what
 * the runtime does meanwhile). Returns a stop function; the timer does not keep the process alive.
 * Does nothing where the probe cannot run.
 */
export function watchFdExhaustion(onExhausted: (e: FdExhaustion) => void, note: string, intervalMs = 1000): () => void {
  if (canOpenFd() === null) return () => {};
  const limit = readFdLimit(); // read now: at exhaustion /proc/self/limits cannot be opened either
  const timer = setInterval(() => {
    if (canOpenFd() !== false) return;
    onExhausted({ code: "EMFILE", message: `no file descriptor free${limit ? ` (limit ${limit.soft})` : ""}, found by probing: ${note}` });
  }, intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
