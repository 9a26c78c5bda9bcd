/**
 * The open-file limit and the descriptors in use, as this process sees them now: after Bun, Deno and
 * Node raised the soft limit to the hard one at start. Linux answers from /proc/self (limits, fd/);
 * elsewhere the answers are null (unknown) and callers keep their configured caps. Only node:fs, so
 * it runs unchanged on every runtime (Deno needs --allow-read).
 * @module
 */
// node:fs is fetched at the first call, not imported: a bundle hoists a builtin's import to its top, and
// `wisdom fetch` (whose transport imports this module) would pay for loading it at start-up.
const _fs = () => process.getBuiltinModule("node:fs");

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
    return parseProcLimits(_fs().readFileSync("/proc/self/limits", "utf8"));
  } catch {
    return null;
  }
}

/**
 * Descriptors open now, or null when unknown. Given the limit, only those numbered below it count: a
 * descriptor inherited above a lowered limit (a parent's pipe at 251 under `ulimit -n 64`, seen) takes
 * none of the room. At exhaustion the directory cannot be opened (EMFILE): then every descriptor is in
 * use, and `limit` (when given) is the answer.
 */
export function countOpenFds(limit?: FdLimit | null): number | null {
  if (!_isLinux()) return null;
  try {
    const names = _fs().readdirSync("/proc/self/fd");
    const below = limit && Number.isFinite(limit.soft) ? names.filter((n) => Number(n) < limit.soft).length : names.length;
    return below - 1; // one entry is the descriptor readdirSync itself held while listing
  } catch (err) {
    return _exhausted(err) && limit && Number.isFinite(limit.soft) ? limit.soft : null;
  }
}

/**
 * Descriptors in use against the soft limit, or null when either is unknown or the limit is unlimited.
 * Pass the limit read at start: with no descriptor free, /proc/self/limits cannot be opened either.
 */
export function fdUsage(limit: FdLimit | null = readFdLimit()): FdUsage | null {
  if (!limit || !Number.isFinite(limit.soft)) return null;
  const open = countOpenFds(limit);
  return open === null ? null : { open, max: limit.soft };
}

/** The descriptors at start, as fitCaps() (defence/fd-budget.ts) takes them, and where they came from. */
export interface StartDescriptors {
  /** The soft limit; null when unknown (then at least `need` descriptors were free, or nothing could be told). */
  readonly limit: number | null;
  readonly inUse: number;
  readonly source: "proc" | "probe" | "unknown";
}

/**
 * The limit and the descriptors in use at start. From /proc/self where it can be read; Deno denies
 * /proc to anything short of --allow-all, so otherwise by opening /dev/null up to `need` times (then
 * closing them all): stopped by EMFILE after k opens, k were free, and the last descriptor handed out
 * (the kernel gives the lowest free number) was limit - 1. Not stopped, at least `need` are free and
 * the limit stays unknown. Call it once, before listening: the probe holds every descriptor a moment.
 */
export function startDescriptors(need: number): StartDescriptors {
  const limit = readFdLimit();
  const inUse = countOpenFds(limit);
  if (limit && inUse !== null) return { limit: limit.soft, inUse, source: "proc" };
  return probeDescriptors(need);
}

/** startDescriptors() without /proc: the /dev/null probe alone. */
export function probeDescriptors(need: number): StartDescriptors {
  const fds: number[] = [];
  let stop: unknown = null;
  try {
    while (fds.length < need) fds.push(_fs().openSync("/dev/null", "r"));
  } catch (err) {
    stop = err;
  } finally {
    for (const fd of fds) _fs().closeSync(fd);
  }
  if (stop === null) return { limit: null, inUse: 0, source: "probe" };
  // ENFILE (the system's table full) or no /dev/null: nothing to tell about this process's limit.
  if ((stop as { code?: unknown }).code !== "EMFILE" || fds.length === 0) return { limit: null, inUse: 0, source: "unknown" };
  let last = 0;
  for (const fd of fds) if (fd > last) last = fd;
  return { limit: last + 1, inUse: last + 1 - fds.length, source: "probe" };
}

/**
 * Whether one more descriptor can be opened now (opens and closes /dev/null: two system calls, any
 * Unix). False only on EMFILE/ENFILE; null when the probe itself cannot run (no /dev/null, no permission).
 */
export function canOpenFd(): boolean | null {
  let fd: number;
  try {
    fd = _fs().openSync("/dev/null", "r");
  } catch (err) {
    return _exhausted(err) ? false : null;
  }
  _fs().closeSync(fd);
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
