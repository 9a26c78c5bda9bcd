/**
 * What a CLI command gets from the outside world, handed in so tests can run commands in-process.
 * @module
 */

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); only long-running commands call it. */
  readonly waitForStop?: () => Promise<string>;
  /** Registers a callback for SIGHUP-style reloads. */
  readonly onReload?: (fn: () => void) => void;
  /** Resolves when output written so far has left the process (called before it exits). */
  readonly drain?: () => Promise<void>;
  /** Registers a callback for SIGUSR2: write a CPU profile (`profile_dir`). */
  readonly onProfileSignal?: (fn: () => void) => void;
}

/** Exit codes, documented in the README. */
export const EXIT = {
  OK: 0,
  FAILURE: 1, // unexpected internal error
  USAGE: 2, // bad flags, arguments or configuration
  CONNECT: 3, // cannot connect to the server
  PROTOCOL: 4, // bad or unexpected server reply
  TIMEOUT: 5, // --timeout passed
  TOO_HARD: 6, // puzzle harder than --max-difficulty
  REFUSED: 7, // server refused: busy, rate-limited or shutting down (after retries)
  REJECTED: 8, // server rejected the proof (expired, bad signature, replay, ...)
} as const;

/** A usage problem: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {
  readonly code = "USAGE";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
