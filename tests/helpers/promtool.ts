/** Runs promtool (Debian package prometheus; npm test installs it when missing). */
import { spawnSync } from "node:child_process";

export function promtool(args: string[], stdin?: string): { code: number; out: string } {
  const r = spawnSync("promtool", args, { input: stdin, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new Error(`promtool not runnable (${r.error.message}); install Debian's prometheus package (npm test does this as root)`);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
