/** Run the CLI in-process (main() with captured streams) or as a subprocess on the runtime running the tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { main } from "../../src/main.ts";
import type { Io } from "../../src/shared/cli/io.ts";
import { runtimeName } from "../../src/shared/transport/index.ts";
import { denoV8FlagsArg } from "../../src/shared/runtime/deno-v8-flags.ts";

export const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export async function runCli(argv: string[], env: Record<string, string> = {}, extra: Partial<Io> = {}) {
  let stdout = "", stderr = "";
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, stdoutIsTTY: false, stderrIsTTY: false, ...extra };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** Command line that runs src/main.ts on the current runtime (on Deno with the V8 flags the task ships). */
export function cliCommand(args: string[]): [string, string[]] {
  if (runtimeName() === "deno") {
    return [process.execPath, ["run", ...denoV8FlagsArg(), "--allow-net", "--allow-read", "--allow-env", "--allow-sys", MAIN, ...args]];
  }
  return [process.execPath, [MAIN, ...args]];
}

export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  const [cmd, argv] = cliCommand(args);
  return spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Send a signal by pid. Deno's node:child_process ignores a second ChildProcess.kill() (it marks the
 * child killed after the first signal, even SIGHUP), so tests signal through process.kill.
 */
export function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid !== undefined && child.exitCode === null) {
    try {
      process.kill(child.pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Run to completion, with a hard time limit. */
export function execCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawnCli(args, env);
    let stdout = "", stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => signal(child, "SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Start `serve` as a subprocess on port 0 and wait for its "listening" log line (JSON logs on a pipe). */
export async function spawnServer(args: string[] = [], env: Record<string, string> = {}) {
  const child = spawnCli(["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", ...args], env);
  let stderr = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20_000);
    child.stderr!.on("data", (d) => {
      stderr += d;
      const m = /"msg":"listening","address":"[^"]*:(\d+)"/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const metricsPort = Number(/"metrics":"[^"]*:(\d+)"/.exec(stderr)?.[1] ?? 0);
  return {
    child,
    port,
    metricsPort,
    exited,
    get stderr() {
      return stderr;
    },
    signal: (sig: NodeJS.Signals) => signal(child, sig),
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null) {
        signal(child, "SIGKILL");
        await exited;
      }
    },
  };
}

/**
 * Start a long-running CLI command (`guard`, `tunnel`) as a subprocess and wait until its stderr matches
 * `ready` (group 1: the port it listens on). Killed by `await using`.
 */
export async function spawnUntil(args: string[], ready: RegExp, env: Record<string, string> = {}) {
  const child = spawnCli(args, env);
  let stderr = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start: ${stderr}`)), 20_000);
    child.stderr!.on("data", (d) => {
      stderr += d;
      const m = ready.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`${args[0]} exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    child,
    port,
    exited,
    get stderr() {
      return stderr;
    },
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null) {
        signal(child, "SIGKILL");
        await exited;
      }
    },
  };
}
