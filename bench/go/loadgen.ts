/**
 * Builds the native load generator of the handshake benchmark (bench/go/loadgen, Go standard library
 * only) and returns the binary's path. `go build` is incremental: a second call with unchanged sources
 * only checks and relinks nothing. No network: GOPROXY=off (the module has no dependencies).
 * The binary goes to the repository's ignored .wisdom-tmp/go/; Go's build cache stays where `go`
 * keeps it (GOCACHE), or under the temporary directory when HOME is not writable.
 * @module
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The generator's Go module (main.go, answer.go and its `go test`). */
export const LOADGEN_SOURCE = fileURLToPath(new URL("./loadgen/", import.meta.url));
const OUT_DIR = fileURLToPath(new URL("../../.wisdom-tmp/go/", import.meta.url));

/** Thrown when the generator cannot be built; names the Debian package when Go is missing. */
export class LoadgenBuildError extends Error {
  override name = "LoadgenBuildError";
}

const _writable = (dir: string | undefined): boolean => {
  if (!dir) return false;
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/** The environment for `go build` and `go test` here: no module proxy, and a build cache it can write. */
export function goEnv(): Record<string, string> {
  const env: Record<string, string> = { ...process.env as Record<string, string>, GOPROXY: "off", GOFLAGS: "", CGO_ENABLED: "0" };
  if (!env.GOCACHE && !_writable(env.HOME)) {
    env.GOCACHE = join(tmpdir(), "wisdom-go-cache");
    env.GOPATH ??= join(tmpdir(), "wisdom-gopath");
  }
  return env;
}

/** Path of the built generator (`loadgen TARGETS_JSON SLICE_MS ROUNDS WIDTH WARMUP_S [RATE]`). */
export function buildLoadgen(): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const bin = join(OUT_DIR, "loadgen");
  const env = goEnv();
  const r = spawnSync("go", ["build", "-trimpath", "-o", bin, "."], { cwd: LOADGEN_SOURCE, env, encoding: "utf8", timeout: 180_000 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new LoadgenBuildError(missing
      ? "Cannot build the Go load generator: `go` is not installed (Debian package golang-go: apt-get install golang-go, or node scripts/ensure-deps.mjs)"
      : `Cannot build the Go load generator: go build did not run (${r.error.message})`);
  }
  if (r.status !== 0) throw new LoadgenBuildError(`Cannot build the Go load generator (go build in ${LOADGEN_SOURCE}):\n${r.stderr}`);
  return bin;
}
