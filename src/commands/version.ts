/**
 * `wisdom version [--json]`. Bundled into main so that it starts as fast as the binary can; the runtime's
 * name loads only for --json.
 * @module
 */
import { EXIT, type Io, UsageError } from "../shared/cli/io.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../shared/version.ts";

export async function runVersion(rest: string[], io: Io): Promise<number> {
  if (rest.includes("-h") || rest.includes("--help")) {
    io.stdout("Usage: wisdom version [--json]\n\nPrint the version; --json adds commit, runtime and platform.\n");
    return EXIT.OK;
  }
  const unknown = rest.filter((r) => r !== "--json");
  if (unknown.length > 0) throw new UsageError(`version: unknown argument ${unknown[0]}`);
  if (rest.includes("--json")) {
    const t = await import("../shared/runtime/name.ts");
    const info = { version: VERSION, commit: COMMIT, build_date: BUILD_DATE, runtime: t.runtimeName(), runtime_version: t.runtimeVersion(), platform: `${process.platform}-${process.arch}` };
    io.stdout(`${JSON.stringify(info)}\n`);
  } else {
    io.stdout(`wisdom ${VERSION} (${COMMIT})\n`);
  }
  return EXIT.OK;
}
