/**
 * `wisdom bench`: solver attempts/s (one thread and all threads), proof verifications/s, challenges minted/s,
 * frames encoded and decoded/s, on the runtime it runs on. Micro-benchmarks use tinybench.
 * @module
 */
import { parseArgs } from "node:util";
import { Bench } from "tinybench";
import { bytesToHex } from "@noble/hashes/utils.js";
import { EXIT, type Io, UsageError } from "../shared/cli/io.ts";
import { challengePrefix, mintChallenge, verifySolution } from "../shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../shared/pow/hashcash.ts";
import { KeyRing } from "../shared/pow/keys.ts";
import { FrameDecoder } from "../shared/protocol/frame.ts";
import { decodeMessage, encodeSolution, type Solution } from "../shared/protocol/messages.ts";
import { runtimeName, runtimeVersion } from "../shared/transport/index.ts";
import { measureSolver } from "../shared/pow/solver/measure.ts";

export const BENCH_HELP = `Usage: wisdom bench [options]

Measure this machine: solver attempts/s on one thread and on all threads, proof verifications/s,
challenges minted/s, frames encoded and decoded/s.

Options:
  --json             print one JSON object
  --seconds S        time per solver measurement (default 2)
  --threads N        threads for the all-threads figure (default: every core)
  --only LIST        comma-separated parts: solver,verify,mint,codec (default all)
  -h, --help         show this help
`;

export interface BenchResult {
  runtime: string;
  runtime_version: string;
  kernel: string;
  threads: number;
  solver_hps_1: number;
  solver_hps_all: number;
  verify_per_s: number;
  mint_per_s: number;
  frames_encoded_per_s: number;
  frames_decoded_per_s: number;
}

function perSecond(task: { result?: unknown }): number {
  const r = task.result as { period?: number } | undefined;
  return r?.period ? Math.round(1000 / r.period) : 0;
}

/** Verification, minting and codec throughput (single thread). */
export async function measureGate(ms: number): Promise<Pick<BenchResult, "verify_per_s" | "mint_per_s" | "frames_encoded_per_s" | "frames_decoded_per_s">> {
  const ring = new KeyRing([{ id: "bench", secret: new TextEncoder().encode("wisdom-bench-secret-0123456789") }]);
  const now = Date.now();
  const nonce = () => crypto.getRandomValues(new Uint8Array(16));
  const sols: Solution[] = [];
  for (let i = 0; i < 512; i++) {
    const c = mintChallenge(ring, { bits: 8, nowMs: now, ttlMs: 600_000, addr: "127.0.0.1", nonce: nonce() });
    sols.push({ challenge: c, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(c), c.bits))) });
  }
  const ctx = { nowMs: now + 1, addr: "127.0.0.1", skewMs: 2000, maxTtlMs: 600_000 };
  const frames = sols.map((s) => encodeSolution(s));
  const fixedNonce = nonce();
  let i = 0;
  const bench = new Bench({ time: ms, warmup: true });
  bench
    .add("verify", () => {
      const v = verifySolution(ring, sols[i++ & 511]!, ctx);
      if (!v.ok) throw new Error(`bench proof failed: ${v.code}`);
    })
    .add("mint", () => {
      mintChallenge(ring, { bits: 20, nowMs: now, ttlMs: 60_000, addr: "127.0.0.1", nonce: fixedNonce });
    })
    .add("encode", () => {
      encodeSolution(sols[i++ & 511]!);
    })
    .add("decode", () => {
      const [f] = new FrameDecoder().push(frames[i++ & 511]!);
      decodeMessage(f!);
    });
  await bench.run();
  const [verify, mint, encode, decode] = bench.tasks;
  return {
    verify_per_s: perSecond(verify!),
    mint_per_s: perSecond(mint!),
    frames_encoded_per_s: perSecond(encode!),
    frames_decoded_per_s: perSecond(decode!),
  };
}

export async function runBench(argv: string[], io: Io): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        json: { type: "boolean" },
        seconds: { type: "string" },
        threads: { type: "string" },
        only: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout(BENCH_HELP);
    return EXIT.OK;
  }
  const seconds = values.seconds === undefined ? 2 : Number(values.seconds);
  if (!(seconds > 0 && seconds <= 600)) throw new UsageError(`--seconds: ${JSON.stringify(values.seconds)} is not a number in (0, 600]`);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new UsageError(`--threads: ${JSON.stringify(values.threads)} is not an integer in 1..256`);
  }
  const parts = new Set((values.only ?? "solver,verify,mint,codec").split(","));
  for (const p of parts) if (!["solver", "verify", "mint", "codec"].includes(p)) throw new UsageError(`--only: unknown part ${p}`);
  const say = (s: string) => {
    if (!values.json) io.stderr(s);
  };
  const result: BenchResult = {
    runtime: runtimeName(),
    runtime_version: runtimeVersion(),
    kernel: "",
    threads: 0,
    solver_hps_1: 0,
    solver_hps_all: 0,
    verify_per_s: 0,
    mint_per_s: 0,
    frames_encoded_per_s: 0,
    frames_decoded_per_s: 0,
  };
  if (parts.has("solver")) {
    say(`measuring the solver (${seconds} s per figure)...\n`);
    const s = await measureSolver({ seconds, threads });
    Object.assign(result, { kernel: s.kernel, threads: s.threads, solver_hps_1: Math.round(s.solver_hps_1), solver_hps_all: Math.round(s.solver_hps_all) });
  }
  if (parts.has("verify") || parts.has("mint") || parts.has("codec")) {
    say("measuring verification, minting and the codec...\n");
    Object.assign(result, await measureGate(Math.max(200, Math.min(2000, seconds * 500))));
  }
  if (values.json) {
    io.stdout(`${JSON.stringify(result)}\n`);
  } else {
    const m = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(1)} k/s`);
    // Only what was measured (--only): a part left out prints nothing rather than a zero.
    const gate = parts.has("verify") || parts.has("mint") || parts.has("codec");
    io.stdout(
      [
        `runtime            ${result.runtime} ${result.runtime_version}`,
        ...(parts.has("solver") ? [
          `kernel             ${result.kernel || "-"}`,
          `solver, 1 thread   ${m(result.solver_hps_1)} attempts`,
          `solver, ${String(result.threads).padEnd(2)} threads ${m(result.solver_hps_all)} attempts`,
        ] : []),
        ...(gate ? [
          `verify             ${m(result.verify_per_s)} proofs`,
          `mint               ${m(result.mint_per_s)} challenges`,
          `encode             ${m(result.frames_encoded_per_s)} frames`,
          `decode             ${m(result.frames_decoded_per_s)} frames`,
        ] : []),
        "",
      ].join("\n"),
    );
  }
  return EXIT.OK;
}
