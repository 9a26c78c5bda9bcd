/**
 * CPU profiles written to a directory on SIGUSR2 (`profile_dir`), for hosts where the side listener is
 * off: the same gzipped pprof as /debug/pprof/profile, in a new file named by process and time.
 * @module
 */
import { statSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Profiles } from "./profiles.ts";

/**
 * Problems with `dir` as a place to write profiles (empty when it is a writable directory). Writability
 * is tried by creating and removing a file, which also catches a runtime's own permissions (Deno
 * without --allow-write for the directory).
 */
export function profileDirProblems(dir: string, pid: number = process.pid): string[] {
  try {
    if (!statSync(dir).isDirectory()) return [`profile_dir: ${dir} is not a directory`];
    const probe = join(dir, `.wisdom-probe-${pid}`);
    writeFileSync(probe, "", { flag: "wx", mode: 0o600 });
    unlinkSync(probe);
    return [];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" || code === "EPERM" ? "is not writable" : `cannot be written (${code ?? (err as Error).message.split("\n")[0]})`;
    return [`profile_dir: ${dir} ${why}`];
  }
}

/** The file a profile taken at `atMs` goes to: wisdom-cpu-<pid>-<UTC time>.pb.gz in `dir`. */
export function profilePath(dir: string, pid: number, atMs: number): string {
  const stamp = new Date(atMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return join(resolve(dir), `wisdom-cpu-${pid}-${stamp}.pb.gz`);
}

/**
 * Takes a CPU profile of `seconds` and writes it to a new file (mode 0600, never over an existing one).
 * Resolves with the path; rejects with ProfileBusyError while another CPU profile runs.
 */
export async function writeCpuProfile(profiles: Profiles, dir: string, seconds: number, now: () => number = Date.now): Promise<string> {
  const path = profilePath(dir, process.pid, now());
  const body = await profiles.cpu(seconds);
  writeFileSync(path, body, { mode: 0o600, flag: "wx" });
  return path;
}
