#!/usr/bin/env bun
/**
 * The `wisdom` command line: subcommands load lazily, so `wisdom version` starts fast.
 * main() takes argv and an Io, so tests run the CLI in-process.
 *
 * A subcommand's module is imported by a path held in a variable, which the bundler does not follow:
 * `bun build --compile` has no code splitting, and a literal `import("./server.ts")` would put every
 * subcommand into this entrypoint's bundle, which the binary then loads on every start. Each one is an
 * entrypoint of its own instead (scripts/build-binaries.ts), loaded only when its command runs. Errors
 * from those modules are matched by name: their classes are other copies than the ones imported here.
 * @module
 */
import { EXIT, type Io, UsageError } from "./shared/cli/io.ts";
import { fdWriter, lazyIsTerminal } from "./shared/cli/stdio.ts";
import { bunStdoutSink } from "./shared/runtime/stdout-sink.ts";
import { runHealthcheck } from "./commands/healthcheck.ts";
import { runKeygen } from "./commands/keygen.ts";
import { runVersion } from "./commands/version.ts";

/** The subcommands, each with its own --help. */
export const COMMANDS: ReadonlySet<string> = new Set(["serve", "guard", "connect", "tunnel", "fetch", "bench", "load", "healthcheck", "completion", "keygen", "version"]);

export const MAIN_HELP = `Usage: wisdom <command> [options]

A proof-of-work guarded quote server and its client.

Commands:
  serve      run the server (wisdom serve --help)
  guard      put the proof-of-work gate in front of any TCP service (wisdom guard --help)
  connect    solve a guard's challenge, then relay stdin/stdout (ssh ProxyCommand)
  tunnel     a local port whose connections each reach a guarded service
  fetch      solve a challenge and print a quote (wisdom fetch --help)
  bench      measure solver, verification and codec speed (wisdom bench --help)
  load       load and attack generator against a server on loopback (wisdom load --help)
  keygen     print a fresh HMAC secret for WISDOM_SECRET
  completion print a shell completion script (bash, zsh, fish)
  healthcheck exit 0 when the side listener's /healthz answers (container HEALTHCHECK)
  version    print the version (--json for details)

Options:
  -h, --help      show this help
  -v, --version   print the version
`;

/**
 * Imports one of this file's sibling modules at run time (see the module comment). In a compiled binary
 * the entrypoints sit at their paths relative to the entrypoints' common root, which `bun build` may take
 * as src/'s parent (then this file is /$bunfs/root/wisdom and the subcommand /$bunfs/root/src/server.js):
 * there, a module not found next to this file is looked for under ./src/ (as solver.ts finds its worker).
 */
async function lazy<T>(path: `./${string}.ts`): Promise<T> {
  try {
    return await import(path);
  } catch (err) {
    // (import.meta.url cannot tell: with --bytecode it is the source file's path in the binary too.)
    if (!String((err as Error)?.message).includes(`'${path}'`)) throw err;
    try {
      return await import(`./src/${path.slice(2)}`);
    } catch {
      throw err;
    }
  }
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "serve":
        return await (await lazy<typeof import("./server.ts")>("./server.ts")).runServe(rest, io);
      case "guard":
        return await (await lazy<typeof import("./commands/guard.ts")>("./commands/guard.ts")).runGuard(rest, io);
      case "connect":
        return await (await lazy<typeof import("./commands/guard-clients.ts")>("./commands/guard-clients.ts")).runConnect(rest, io);
      case "tunnel":
        return await (await lazy<typeof import("./commands/guard-clients.ts")>("./commands/guard-clients.ts")).runTunnel(rest, io);
      case "fetch":
        return await (await lazy<typeof import("./client.ts")>("./client.ts")).runFetch(rest, io);
      case "bench":
        return await (await lazy<typeof import("./commands/tools.ts")>("./commands/tools.ts")).runBench(rest, io);
      case "load":
        return await (await lazy<typeof import("./commands/tools.ts")>("./commands/tools.ts")).runLoad(rest, io);
      case "healthcheck":
        return await runHealthcheck(rest, io);
      case "completion":
        return (await lazy<typeof import("./commands/tools.ts")>("./commands/tools.ts")).runCompletion(rest, io);
      case "keygen":
        return await runKeygen(rest, io);
      case "version":
      case "--version":
      case "-v":
        return await runVersion(rest, io);
      case undefined:
      case "help":
      case "-h":
      case "--help":
        io.stdout(MAIN_HELP);
        return cmd === undefined ? EXIT.USAGE : EXIT.OK;
      default:
        throw new UsageError(`Unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (err) {
    if (err instanceof Error && err.name === "UsageError") {
      // A pointer to the command's own help only for a command that has one; otherwise to the list of commands.
      const known = cmd !== undefined && COMMANDS.has(cmd);
      io.stderr(`wisdom: ${err.message}\nRun 'wisdom ${known ? `${cmd} ` : ""}--help' for usage.\n`);
      return EXIT.USAGE;
    }
    // Bad configuration, or something this host cannot do (firewall: nft without nft or CAP_NET_ADMIN).
    if (err instanceof Error && (err.name === "ConfigError" || err.name === "FirewallError")) {
      io.stderr(`wisdom: ${err.message}\n`);
      return EXIT.USAGE;
    }
    io.stderr(`wisdom: ${(err as Error).message}\n`);
    return EXIT.FAILURE;
  }
}

/** The process's Io: real streams, env and signals. */
export function processIo(): Io {
  let stop: Promise<string> | null = null;
  // Signal handlers are installed only by commands that wait for a stop, so Ctrl-C still ends `fetch` at once.
  const waitForStop = () =>
    (stop ??= new Promise<string>((resolve) => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => resolve(sig));
    }));
  // Not process.stdout/stderr: building those streams costs more start-up time than `wisdom version` (cli/stdio.ts).
  const stdoutTTY = lazyIsTerminal(1);
  const stderrTTY = lazyIsTerminal(2);
  const sink = bunStdoutSink();
  return {
    stdout: sink ? sink.write : fdWriter(1),
    stderr: fdWriter(2),
    drain: sink?.drain,
    env: process.env,
    get stdoutIsTTY() {
      return stdoutTTY();
    },
    get stderrIsTTY() {
      return stderrTTY();
    },
    waitForStop,
    onReload: (fn) => {
      if (process.platform !== "win32") process.on("SIGHUP", fn);
    },
    onProfileSignal: (fn) => {
      if (process.platform !== "win32") process.on("SIGUSR2", fn);
    },
  };
}

if (import.meta.main) {
  // No top-level await here: the compiled binary is built as bytecode (scripts/build-binaries.ts).
  const io = processIo();
  void main(process.argv.slice(2), io)
    .then(async (code) => {
      await io.drain?.();
      return code;
    })
    .then((code) => process.exit(code));
}
