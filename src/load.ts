/**
 * `wisdom load HOST:PORT --profile P1,P2,... --duration SECONDS [--server-pid PID] [--json]`:
 * a load and attack generator against a `wisdom serve` on loopback, bounded in time, that stops by itself.
 * @module
 */
import { parseArgs } from "node:util";
import { EXIT, type Io, UsageError } from "./shared/cli/io.ts";
import { parseIPv4, parseHostPort } from "./shared/net/address.ts";
import { type AttackCounts, flood, forge, junk, newCounts, replay, slowloris, spam, type Target } from "./shared/load/attacks.ts";
import { legit, newLegit, percentile } from "./shared/load/legit.ts";
import { RssWatcher } from "./shared/load/rss.ts";
import { pickTransport } from "./shared/transport/index.ts";

export const PROFILES = ["legit", "flood", "slowloris", "junk", "replay", "forge", "spam"] as const;
type Profile = (typeof PROFILES)[number];

export const LOAD_HELP = `Usage: wisdom load HOST:PORT --profile P1,P2,... --duration SECONDS [options]

Load and attack generator for a wisdom server on loopback (127.0.0.0/8 or ::1 only). Runs the
profiles together for the duration, then stops by itself and prints what happened.

Profiles: legit (honest clients that solve), flood (connection flood), slowloris (silent and byte-drip
connections), junk (random and malformed frames), replay (one valid solution resent), forge (tampered
challenges), spam (wrong solutions).

Options:
  --profile LIST          comma-separated profiles (default legit)
  --duration SECONDS      how long to run, at most 600 (default 10)
  --server-pid PID        report the peak RSS of this process and its children
  --rate R                legit fetches started per second (default 2)
  --legit-threads N       solver threads for legit clients (default 1)
  --legit-timeout S       per-fetch timeout for legit clients (default 30)
  --slowloris N           connections slowloris holds (default 5000)
  --flood-width N         flood connections in flight (default 64)
  --sources N             source addresses per profile, spread over 127.0.0.0/8 (default 500)
  --json                  print one JSON object
  -h, --help              show this help
`;

function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  const v4 = parseIPv4(host);
  return v4 !== null && v4[0] === 127;
}

export async function runLoad(argv: string[], io: Io): Promise<number> {
  let p;
  try {
    p = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        profile: { type: "string" },
        duration: { type: "string" },
        "server-pid": { type: "string" },
        rate: { type: "string" },
        "legit-threads": { type: "string" },
        "legit-timeout": { type: "string" },
        slowloris: { type: "string" },
        "flood-width": { type: "string" },
        sources: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = p.values;
  if (v.help) {
    io.stdout(LOAD_HELP);
    return EXIT.OK;
  }
  if (p.positionals.length !== 1) throw new UsageError("Expected one HOST:PORT");
  let hp;
  try {
    hp = parseHostPort(p.positionals[0]!);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!isLoopback(hp.host)) throw new UsageError(`wisdom load only targets loopback (127.0.0.0/8, ::1, localhost), not ${hp.host}`);
  const num = (name: string, text: string | undefined, dflt: number, min: number, max: number, integer = true): number => {
    if (text === undefined) return dflt;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) throw new UsageError(`--${name}: ${JSON.stringify(text)} is not a number in ${min}..${max}`);
    return n;
  };
  const profiles = new Set((v.profile ?? "legit").split(",").map((s) => s.trim()) as Profile[]);
  for (const pr of profiles) if (!PROFILES.includes(pr)) throw new UsageError(`--profile: unknown profile ${pr}; known: ${PROFILES.join(", ")}`);
  const duration = num("duration", v.duration, 10, 0.1, 600, false);
  const serverPid = v["server-pid"] === undefined ? undefined : num("server-pid", v["server-pid"], 0, 1, 2 ** 31);
  const rate = num("rate", v.rate, 2, 0.01, 10_000, false);
  const legitThreads = num("legit-threads", v["legit-threads"], 1, 1, 256);
  const legitTimeoutMs = num("legit-timeout", v["legit-timeout"], 30, 0.1, 600, false) * 1000;
  const slowCount = num("slowloris", v.slowloris, 5000, 1, 15_000);
  const floodWidth = num("flood-width", v["flood-width"], 64, 1, 4096);
  const sources = num("sources", v.sources, 500, 1, 62_500);

  const isV4Loopback = parseIPv4(hp.host) !== null;
  // Source spreading binds 127.x.y.z addresses, which needs the node:net transport and an IPv4 target.
  const transport = await pickTransport(isV4Loopback ? "node" : undefined);
  const t0 = performance.now();
  const target: Target = { host: hp.host, port: hp.port, transport, until: t0 + duration * 1000, sources: isV4Loopback ? sources : 1 };
  const rss = serverPid ? new RssWatcher(serverPid) : null;
  const counts: Partial<Record<Profile, AttackCounts>> = {};
  const legitCounts = newLegit();
  const jobs: Promise<void>[] = [];
  let solver: { close(): Promise<void>; kernel: string; threads: number } | null = null;
  if (profiles.has("legit")) {
    const { createSolver } = await import("./shared/pow/solver/solver.ts");
    const s = await createSolver({ threads: legitThreads });
    solver = s;
    jobs.push(legit(target, legitCounts, { ratePerSec: rate, solver: s, timeoutMs: legitTimeoutMs }));
  }
  const run = (name: Profile, f: (c: AttackCounts) => Promise<void>) => {
    if (!profiles.has(name)) return;
    const c = (counts[name] = newCounts());
    jobs.push(f(c));
  };
  run("flood", (c) => flood(target, c, floodWidth));
  run("slowloris", (c) => slowloris(target, c, slowCount));
  run("junk", (c) => junk(target, c));
  run("replay", (c) => replay(target, c, 22));
  run("forge", (c) => forge(target, c));
  run("spam", (c) => spam(target, c));
  if (!v.json) io.stderr(`wisdom load: ${[...profiles].join(", ")} against ${hp.host}:${hp.port} for ${duration} s\n`);
  await Promise.all(jobs);
  await solver?.close();
  const rssMax = rss?.stop() ?? null;
  const elapsed = (performance.now() - t0) / 1000;

  const acc = (k: Profile) => counts[k]?.accepted ?? 0;
  const maxBits = Math.max(legitCounts.maxBits, ...Object.values(counts).map((c) => c!.maxBits));
  const rateMeasured = legitCounts.solveMsTotal > 0 ? (legitCounts.attempts / legitCounts.solveMsTotal) * 1000 : 0;
  const result = {
    duration_s: Math.round(elapsed * 10) / 10,
    profiles: [...profiles],
    legit_ok: legitCounts.ok,
    legit_failed: legitCounts.failed,
    legit_success_rate: legitCounts.ok + legitCounts.failed > 0 ? legitCounts.ok / (legitCounts.ok + legitCounts.failed) : null,
    legit_failures: legitCounts.failures,
    legit_p50_ms: Math.round(percentile(legitCounts.latencies, 50)),
    legit_p99_ms: Math.round(percentile(legitCounts.latencies, 99)),
    legit_solve_p50_ms: Math.round(percentile(legitCounts.solves, 50)),
    legit_solve_p99_ms: Math.round(percentile(legitCounts.solves, 99)),
    legit_overhead_p99_ms: Math.round(percentile(legitCounts.overheads, 99)),
    legit_solver_hps: Math.round(rateMeasured),
    legit_expected_solve_ms: rateMeasured > 0 ? Math.round((2 ** legitCounts.maxBits / rateMeasured) * 1000) : null,
    attack_accepted: acc("junk") + acc("replay") + acc("forge") + acc("spam") + acc("flood") + acc("slowloris"),
    replays_accepted: acc("replay"),
    forgeries_accepted: acc("forge"),
    spam_accepted: acc("spam"),
    spam_lucky: counts.spam?.lucky ?? 0,
    server_rss_max_mb: rssMax === null ? null : Math.round(rssMax * 10) / 10,
    difficulty_max: maxBits,
    attacks: Object.fromEntries(Object.entries(counts).map(([k, c]) => [k, { connects: c!.connects, connect_errors: c!.connectErrors, challenges: c!.challenges, refused: c!.refused, errors: c!.errorsByCode }])),
  };
  if (v.json) io.stdout(`${JSON.stringify(result)}\n`);
  else io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  return EXIT.OK;
}
