/**
 * Where a Worker module is, from the module that starts it: beside it when run from source, or the
 * copy `bun build --compile` bundled (scripts/build-binaries.ts names every worker as an entrypoint).
 * In a compiled binary import.meta.url is the build machine's path of the bundle it is in (with
 * --bytecode) or /$bunfs/root/..., so specifiers relative to the binary's root are tried as well.
 * @module
 */

/**
 * URLs to try in order for the worker at `fromSrc` (its path under src/, e.g. "shared/serve/gate-thread.ts"),
 * asked by the module at `metaUrl` whose own path under src/ is `selfFromSrc`.
 */
export function workerUrls(metaUrl: string, selfFromSrc: string, fromSrc: string): string[] {
  const bundled = [`./src/${fromSrc}`, `./${fromSrc}`];
  const name = selfFromSrc.slice(selfFromSrc.lastIndexOf("/"));
  if (metaUrl.endsWith(name)) {
    // From source: the worker's path relative to this module's directory.
    const up = selfFromSrc.split("/").length - 1;
    return [new URL(`${"../".repeat(up)}${fromSrc}`, metaUrl).href, ...bundled];
  }
  const near = bundled.map((p) => new URL(p, metaUrl).href);
  return [...near, ...bundled];
}
