/**
 * Solver benchmark: attempts per second of each kernel on one thread, of the worker pool on every
 * thread, and of a native reference measured in the same run (bench/native/sha256_midstate.c:
 * OpenSSL's SHA-256 block function on the prefix midstate and a pre-padded final block, the
 * fastest way a C client can solve with OpenSSL).
 *
 *   npx bun bench/solver.ts [--seconds N]
 *   npx deno run --allow-read --allow-run --allow-env --allow-ffi bench/solver.ts [--seconds N]
 *
 * The native part needs `cc` and OpenSSL's headers (Debian: apt-get install gcc libssl-dev); Deno
 * needs --allow-run and --allow-env for it (node:child_process reads the environment), and --allow-ffi
 * for the native kernel. Without
 * them the kernels are still measured.
 */
import { execFileSync } from "node:child_process";
import { createJsKernel } from "../src/shared/pow/solver/kernel-js.ts";
import { createWasmKernel, preferredShape, WASM_SHAPES, wasmSimdSupported } from "../src/shared/pow/solver/kernel-wasm.ts";
import { createKernel, kernelAvailable } from "../src/shared/pow/solver/kernels.ts";
import type { NativeKernel } from "../src/shared/pow/solver/kernel-native.ts";
import { measureKernel, measurePool } from "../src/shared/pow/solver/measure.ts";
import { createSolver } from "../src/shared/pow/solver/solver.ts";

const args = process.argv.slice(2);
const secondsAt = args.indexOf("--seconds");
const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : 2;
if (!(seconds > 0)) throw new RangeError(`--seconds must be a positive number, got ${args[secondsAt + 1]}`);

const versions = process.versions as Record<string, string | undefined>;
const runtime = versions.bun ? `bun ${versions.bun}` : versions.deno ? `deno ${versions.deno}` : `node ${process.version}`;
const mps = (hps: number) => `${(hps / 1e6).toFixed(2).padStart(7)} M/s`;

/** The native reference, compiled into a temporary directory; undefined (reason printed) if it cannot be. */
function compileNative(): { binary: string; dir: string } | undefined {
  const source = new URL("./native/sha256_midstate.c", import.meta.url).pathname;
  let dir: string;
  try {
    dir = execFileSync("mktemp", ["-d"], { encoding: "utf8" }).trim();
  } catch (error) {
    console.log(`native reference skipped: cannot run programs here (${(error as Error).message.split("\n")[0]})`);
    return undefined;
  }
  const binary = `${dir}/sha256_midstate`;
  try {
    execFileSync("cc", ["-O2", "-o", binary, source, "-lcrypto"], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).split("\n")[0];
    console.log(`native reference skipped: cannot compile ${source} (needs cc and libssl-dev: apt-get install gcc libssl-dev): ${stderr}`);
    execFileSync("rm", ["-rf", dir]);
    return undefined;
  }
  return { binary, dir };
}

/** Attempts per second of `processes` copies of the native reference running at once. */
function runNative(binary: string, processes: number): number {
  const script = `for i in $(seq ${processes}); do "$0" ${seconds} & done; wait`;
  const lines = execFileSync("sh", ["-c", script, binary], { encoding: "utf8" }).trim().split("\n");
  return lines.map((line) => line.split(" ").map(Number)).reduce((sum, [attempts, elapsed]) => sum + attempts! / elapsed!, 0);
}

const native = compileNative();
const solver = await createSolver();
try {
  console.log(`solver bench on ${runtime}, ${solver.threads} threads, ${seconds} s per figure`);
  const nativeOne: number[] = [];
  if (native) nativeOne.push(runNative(native.binary, 1));

  const kernels = [
    ...(kernelAvailable("native") ? [createKernel("native")] : []),
    ...(wasmSimdSupported() ? WASM_SHAPES.map((shape) => createWasmKernel(shape)) : []),
    createJsKernel(),
  ];
  if (!kernelAvailable("native")) console.log("native kernel: not available here (needs libcrypto; on Deno also --allow-ffi)");
  const single: [string, number][] = [];
  for (const kernel of kernels) {
    const used = kernel.name === solver.kernel;
    const label = "shape" in kernel
      ? `${kernel.name} (${kernel.shape}${used && kernel.shape === preferredShape() ? ", used here" : ""})`
      : "library" in kernel ? `${kernel.name} (${(kernel as NativeKernel).library}${used ? ", used here" : ""})`
      : `${kernel.name}${used ? " (used here)" : ""}`;
    single.push([label, measureKernel(kernel, seconds)]);
  }
  const one = await createSolver({ threads: 1 });
  const poolOne = await measurePool(one, seconds).finally(() => one.close());
  const pool = await measurePool(solver, seconds);
  const nativeAll = native && solver.threads > 1 ? runNative(native.binary, solver.threads) : undefined;
  if (native) nativeOne.push(runNative(native.binary, 1));

  const nativeRate = nativeOne.length > 0 ? nativeOne.reduce((a, b) => a + b) / nativeOne.length : undefined;
  if (nativeRate) console.log(`${"native OpenSSL midstate, 1 thread".padEnd(44)} ${mps(nativeRate)}   (runs: ${nativeOne.map((r) => (r / 1e6).toFixed(2)).join(", ")})`);
  if (nativeAll && nativeRate) {
    console.log(`${`native OpenSSL midstate, ${solver.threads} processes`.padEnd(44)} ${mps(nativeAll)}   ${(nativeAll / nativeRate).toFixed(2)}x one thread`);
  }
  for (const [label, hps] of single) {
    console.log(`${`${label}, 1 thread`.padEnd(44)} ${mps(hps)}${nativeRate ? `   ${(hps / nativeRate).toFixed(2)}x native` : ""}`);
  }
  const best = measureBest(single);
  console.log(`${`pool ${solver.kernel} x 1 thread`.padEnd(44)} ${mps(poolOne)}   ${(poolOne / best).toFixed(2)}x the same kernel on the main thread${nativeRate ? `, ${(poolOne / nativeRate).toFixed(2)}x native` : ""}`);
  console.log(`${`pool ${solver.kernel} x ${solver.threads} threads`.padEnd(44)} ${mps(pool)}   ${(pool / poolOne).toFixed(2)}x the pool on 1 thread, ${(pool / best).toFixed(2)}x main thread${nativeRate ? `, ${(pool / nativeRate).toFixed(2)}x native` : ""}`);
} finally {
  await solver.close();
  if (native) execFileSync("rm", ["-rf", native.dir]);
}

/** The one-thread figure of the kernel the solver uses. */
function measureBest(single: [string, number][]): number {
  return single.find(([label]) => label.includes("used here"))?.[1] ?? single[single.length - 1]![1];
}
