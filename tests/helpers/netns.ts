/**
 * Private network namespaces for the tests that change the kernel's firewall (`firewall: nft`): a command
 * runs under `unshare -n` with its own loopback, so nftables rules and the 127.x addresses it binds never
 * touch the host. Needs root (CAP_SYS_ADMIN for unshare, CAP_NET_ADMIN for nft) and the tools named by
 * prerequisites(); the tests fail naming what is missing rather than skip.
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { runtimeName } from "../../src/shared/transport/index.ts";
import { denoV8FlagsArg } from "../../src/shared/runtime/deno-v8-flags.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface NetnsResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TOOLS: Record<string, string> = { unshare: "util-linux", setpriv: "util-linux", ip: "iproute2", nft: "nftables" };

/** What is missing to run commands in a private network namespace with nft: [] when all is there. */
export function prerequisites(tools: string[] = Object.keys(TOOLS)): string[] {
  const missing: string[] = [];
  if (typeof process.getuid !== "function" || process.getuid() !== 0) missing.push("root (CAP_NET_ADMIN and CAP_SYS_ADMIN for unshare -n)");
  for (const bin of tools) {
    if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) missing.push(`${bin} (Debian package ${TOOLS[bin] ?? bin}; npm test installs it as root)`);
  }
  return missing;
}

/** The command line that runs `script` (a .ts file) on the current runtime; Deno with every permission. */
export function scriptCommand(script: string, args: string[] = []): string[] {
  return runtimeName() === "deno" ? [process.execPath, "run", "-A", script, ...args] : [process.execPath, script, ...args];
}

export interface NetnsOptions {
  /** Goes before the command inside the namespace (e.g. setpriv ... --). */
  readonly wrap?: string[];
  /** Shell run first inside the namespace; default: loopback up. */
  readonly setup?: string;
  /** Kill the whole thing after this long (default 15 s). */
  readonly timeoutMs?: number;
  readonly env?: Record<string, string>;
}

/** Run `command` in a fresh network namespace (loopback up) and collect its output. */
export function inNetns(command: string[], o: NetnsOptions = {}): Promise<NetnsResult> {
  const setup = o.setup ?? "ip link set lo up";
  const child = spawn("unshare", ["-n", "sh", "-c", `${setup} && exec "$@"`, "sh", ...(o.wrap ?? []), ...command], {
    cwd: ROOT,
    env: { ...process.env, ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve) => {
    let stdout = "", stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 15_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last stdout line of a child that exited 0, parsed as JSON (the children print one result line). */
export function lastJson(r: NetnsResult): any {
  if (r.code !== 0) throw new Error(`child exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "");
}

/** Whether a TCP handshake from `localAddress` completes within `ms` (a SYN the firewall drops never does). */
export function connects(host: string, port: number, localAddress: string, ms = 800): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, localAddress });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/**
 * The CLI (src/main.ts) on the current runtime, with what `firewall: nft` needs: on Deno the permissions of
 * the `wisdom` task in deno.json (its V8 flags, and --allow-run=nft added to the CLI's usual ones).
 */
export function wisdomCommand(args: string[]): string[] {
  const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
  if (runtimeName() === "deno") return [process.execPath, "run", ...denoV8FlagsArg(), "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "--allow-run=nft", main, ...args];
  return [process.execPath, main, ...args];
}
