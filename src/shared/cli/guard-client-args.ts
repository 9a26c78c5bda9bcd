/**
 * Flags shared by the guard's clients, `wisdom connect` and `wisdom tunnel`: how hard to try and how
 * much effort to add.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./io.ts";
import { parseHostPort } from "../net/address.ts";
import type { AnswerMode } from "../client/fetch.ts";

export interface GuardClientArgs {
  readonly host: string;
  readonly port: number;
  readonly effort: number;
  readonly timeoutMs: number;
  readonly maxDifficulty: number;
  readonly threads: number | undefined;
  readonly mode: AnswerMode;
  readonly quiet: boolean;
}

export const GUARD_CLIENT_OPTIONS = `  --effort +N               solve N bits more than asked (0..16): served first while the upstream is full (default +0)
  --timeout SECONDS         give up the handshake after this long, retries included (default 30)
  --max-difficulty BITS     refuse puzzles harder than this (default 28)
  --threads N               solver threads (default: every core)
  --mode auto|same|reconnect answer on the same connection, or close while solving and reconnect (default auto)
  -q, --quiet               no messages on stderr but errors`;

function num(name: string, text: string | undefined, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!/^\s*\+?\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name}: ${JSON.stringify(text)} is not a number in ${min}..${max}`);
  }
  return n;
}

export function hostPortArg(what: string, text: string | undefined): { host: string; port: number } {
  if (text === undefined) throw new UsageError(`${what}: HOST:PORT is required`);
  try {
    const hp = parseHostPort(text);
    if (hp.host === "") throw new Error(`no host in ${JSON.stringify(text)}`);
    return hp;
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
}

/** Parse `argv` with the shared flags plus `extra` string flags; returns null for --help. */
export function parseGuardClientArgs(
  argv: string[],
  extra: readonly string[],
  positional: "target" | "none",
): { args: GuardClientArgs; extra: Record<string, string | undefined> } | null {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    effort: { type: "string" },
    timeout: { type: "string" },
    "max-difficulty": { type: "string" },
    threads: { type: "string" },
    mode: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    help: { type: "boolean", short: "h" },
  };
  for (const e of extra) options[e] = { type: "string" };
  let p;
  try {
    p = parseArgs({ args: argv, options, allowPositionals: positional === "target", strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = p.values as Record<string, string | boolean | undefined>;
  if (v.help) return null;
  let target = { host: "", port: 0 };
  if (positional === "target") {
    if (p.positionals.length !== 1) throw new UsageError(`Expected one HOST:PORT, got ${p.positionals.length} arguments`);
    target = hostPortArg("HOST:PORT", p.positionals[0]);
  }
  const mode = ((v.mode as string | undefined) ?? "auto") as AnswerMode;
  if (!["auto", "same", "reconnect"].includes(mode)) throw new UsageError(`--mode: ${JSON.stringify(v.mode)} is not auto, same or reconnect`);
  const effortText = v.effort as string | undefined;
  if (effortText !== undefined && !/^\+?\d+$/.test(effortText.trim())) throw new UsageError(`--effort: ${JSON.stringify(effortText)} is not +N (extra bits, 0..16)`);
  return {
    args: {
      host: target.host,
      port: target.port,
      effort: Math.floor(num("effort", effortText, 0, 0, 16)),
      timeoutMs: num("timeout", v.timeout as string | undefined, 30, 0.001, 86_400) * 1000,
      maxDifficulty: Math.floor(num("max-difficulty", v["max-difficulty"] as string | undefined, 28, 0, 32)),
      threads: v.threads === undefined ? undefined : Math.floor(num("threads", v.threads as string, 1, 1, 256)),
      mode,
      quiet: v.quiet === true,
    },
    extra: Object.fromEntries(extra.map((e) => [e, v[e] as string | undefined])),
  };
}
