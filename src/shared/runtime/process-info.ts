/**
 * The host name, process id and platform, read without touching `node:` modules or the `process`
 * global on Deno: in a Worker, either one brings Deno's Node compatibility layer in, about 4 MB of
 * resident memory per gate thread (measured: `process.pid` alone took a Deno Worker from 10.6 to
 * 14.1 MB, `Deno.pid` left it at 10.7; docs/OPERATIONS.md, threads). Bun and Node use `process`.
 * @module
 */
declare const Deno: { hostname(): string; readonly pid: number; readonly build: { readonly os: string } } | undefined;

const deno = () => (typeof Deno !== "undefined" ? Deno : null);

export async function hostName(): Promise<string> {
  const d = deno();
  return d ? d.hostname() : (await import("node:os")).hostname();
}

export function processId(): number {
  return deno()?.pid ?? process.pid;
}

/** The platform as Node names it: linux, darwin, win32, freebsd... */
export function osPlatform(): string {
  const d = deno();
  if (!d) return process.platform;
  return d.build.os === "windows" ? "win32" : d.build.os;
}
