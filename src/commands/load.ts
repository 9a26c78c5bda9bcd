/**
 * `wisdom load HOST:PORT --profile P1,P2,... [--rest SECONDS] --duration SECONDS [--json]`: a load and attack
 * generator against a `wisdom serve` on loopback, bounded in time, that stops by itself.
 *
 * A run has two phases: rest (honest clients alone, the baseline) and then attack (honest clients and the
 * attack profiles together). Honest clients and the solving flood run in their own workers
 * (shared/load/isolated.ts), so the event loop driving the other attack profiles does not inflate the
 * honest latency it is meant to measure.
 * @module
 */
import { parseArgs } from "node:util";
import { EXIT, type Io, UsageError } from "../shared/cli/io.ts";
import { parseIPv4, parseHostPort } from "../shared/net/address.ts";
import { type AttackCounts, flood, forge, junk, newCounts, replay, slowloris, type Target, wrong } from "../shared/load/attacks.ts";
import { startRunner } from "../shared/load/isolated.ts";
import { type LegitCounts, newLegit } from "../shared/load/legit.ts";
import { type AttackProfile, loadReport } from "../shared/load/report.ts";
import { RssWatcher } from "../shared/load/rss.ts";
import type { Runner } from "../shared/load/runner.ts";
import { type PhaseView, ServerWatch } from "../shared/load/server-watch.ts";
import { pickTransport } from "../shared/transport/index.ts";

export const PROFILES = ["legit", "flood", "slowloris", "junk", "replay", "forge", "wrong", "spam"] as const;
type Profile = (typeof PROFILES)[number];

export const LOAD_HELP = `Usage: wisdom load HOST:PORT --profile P1,P2,... [--rest SECONDS] --duration SECONDS [options]

Load and attack generator for a wisdom server on loopback (127.0.0.0/8 or ::1 only). First a rest
phase (honest clients alone: the baseline), then an attack phase (honest clients and the other
profiles together); then it stops by itself and prints what happened. Honest clients and the
solving flood run on their own threads, apart from the other attack profiles.

Profiles: legit (honest clients that solve), flood (connection flood), slowloris (silent and byte-drip
connections), junk (random and malformed frames), replay (one valid solution resent), forge (tampered
challenges), wrong (wrong solutions), spam (a solving flood: attackers that do the work at full speed).

Options:
  --profile LIST          comma-separated profiles (default legit)
  --rest SECONDS          rest phase before the attack, honest clients only; 0: none (default 10)
  --duration SECONDS      attack phase, at most 600 (default 10)
  --server-pid PID        report the peak RSS of this process and its children
  --metrics URL           the server's /metrics on loopback (e.g. http://127.0.0.1:9077/metrics): report
                          its handshake p99 and difficulty range per phase
  --rate R                legit fetches started per second (default 2)
  --legit-threads N       solver threads for legit clients (default 1)
  --legit-timeout S       per-fetch timeout for legit clients (default 30)
  --spam-threads K        solving threads of the spam flood, one worker each (default 1)
  --spam-lanes N          spam exchanges in flight per thread (default 3)
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

/** `--metrics URL`: an http URL on loopback, or a usage error. */
function metricsUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`--metrics: ${JSON.stringify(text)} is not a URL`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (u.protocol !== "http:" || !isLoopback(host)) throw new UsageError(`--metrics: only http URLs on loopback (127.0.0.0/8, ::1, localhost), not ${text}`);
  return u.href;
}

export async function runLoad(argv: string[], io: Io): Promise<number> {
  let p;
  try {
    p = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        profile: { type: "string" },
        rest: { type: "string" },
        duration: { type: "string" },
        "server-pid": { type: "string" },
        metrics: { type: "string" },
        rate: { type: "string" },
        "legit-threads": { type: "string" },
        "legit-timeout": { type: "string" },
        "spam-threads": { type: "string" },
        "spam-lanes": { type: "string" },
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
  const rest = num("rest", v.rest, 10, 0, 600, false);
  const duration = num("duration", v.duration, 10, 0.1, 600, false);
  const serverPid = v["server-pid"] === undefined ? undefined : num("server-pid", v["server-pid"], 0, 1, 2 ** 31);
  const metrics = v.metrics === undefined ? undefined : metricsUrl(v.metrics);
  const rate = num("rate", v.rate, 2, 0.01, 10_000, false);
  const legitThreads = num("legit-threads", v["legit-threads"], 1, 1, 256);
  const legitTimeoutMs = num("legit-timeout", v["legit-timeout"], 30, 0.1, 600, false) * 1000;
  const spamThreads = num("spam-threads", v["spam-threads"], 1, 1, 64);
  const spamLanes = num("spam-lanes", v["spam-lanes"], 3, 1, 64);
  const slowCount = num("slowloris", v.slowloris, 5000, 1, 15_000);
  const floodWidth = num("flood-width", v["flood-width"], 64, 1, 4096);
  const sources = num("sources", v.sources, 500, 1, 62_500);

  const isV4Loopback = parseIPv4(hp.host) !== null;
  // Source spreading binds 127.x.y.z addresses, which needs the node:net transport and an IPv4 target.
  const transportName = isV4Loopback ? ("node" as const) : undefined;
  const transport = await pickTransport(transportName);
  const targetSources = isV4Loopback ? sources : 1;
  const base = { host: hp.host, port: hp.port, sources: targetSources, transport: transportName };
  const say = (text: string) => void (v.json ? undefined : io.stderr(`wisdom load: ${text}\n`));

  let watch: ServerWatch | null = null;
  if (metrics) {
    try {
      watch = await ServerWatch.start(metrics);
    } catch (err) {
      throw new UsageError(`--metrics: cannot scrape ${metrics}: ${(err as Error).message}`);
    }
  }
  const rss = serverPid ? new RssWatcher(serverPid) : null;
  let legitRunner: Runner<"legit"> | null = null;
  const spamRunners: Runner<"spam">[] = [];
  try {
    if (profiles.has("legit")) legitRunner = await startRunner({ ...base, role: "legit", threads: legitThreads, ratePerSec: rate, timeoutMs: legitTimeoutMs });
    if (profiles.has("spam")) {
      const started = await Promise.allSettled(
        Array.from({ length: spamThreads }, (_, k) => startRunner({ ...base, role: "spam", threads: 1, lanes: spamLanes, offset: k, stride: spamThreads })),
      );
      for (const s of started) if (s.status === "fulfilled") spamRunners.push(s.value);
      for (const s of started) if (s.status === "rejected") throw s.reason;
    }

    // Rest: honest clients alone, the baseline the attack phase is compared with.
    let legitRest: LegitCounts | null = null;
    let restView: PhaseView | null = null;
    let rssRest: number | null = null;
    const tRest = performance.now();
    if (rest > 0) {
      say(`rest phase: ${legitRunner ? "legit only" : "idle"} for ${rest} s against ${hp.host}:${hp.port}`);
      if (legitRunner) legitRest = await legitRunner.run(rest * 1000);
      else await new Promise((r) => setTimeout(r, rest * 1000));
      restView = (await watch?.mark()) ?? null;
      rssRest = rss?.peakMb ?? null;
    }
    const restElapsed = (performance.now() - tRest) / 1000;

    // Attack: every profile at once, honest clients included.
    say(`attack phase: ${[...profiles].join(", ")} for ${duration} s`);
    const t0 = performance.now();
    const target: Target = { host: hp.host, port: hp.port, transport, until: t0 + duration * 1000, sources: targetSources };
    const counts: Partial<Record<AttackProfile, AttackCounts>> = {};
    const jobs: Promise<unknown>[] = [];
    const legitAttackP = legitRunner ? legitRunner.run(duration * 1000) : Promise.resolve(newLegit());
    const spamP = Promise.all(spamRunners.map((r) => r.run(duration * 1000)));
    const run = (name: AttackProfile, f: (c: AttackCounts) => Promise<void>) => {
      if (!profiles.has(name)) return;
      const c = (counts[name] = newCounts());
      jobs.push(f(c));
    };
    run("flood", (c) => flood(target, c, floodWidth));
    run("slowloris", (c) => slowloris(target, c, slowCount));
    run("junk", (c) => junk(target, c));
    run("replay", (c) => replay(target, c, 22));
    run("forge", (c) => forge(target, c));
    run("wrong", (c) => wrong(target, c));
    const [legitAttack, spamParts] = await Promise.all([legitAttackP, spamP, ...jobs]);
    const attackView = (await watch?.mark()) ?? null;
    const elapsed = (performance.now() - t0) / 1000;
    const rssMax = rss?.stop() ?? null;
    const scrapeErrors = watch?.errors ?? 0;
    watch?.stop();

    const result = loadReport({
      profiles: [...profiles],
      restS: restElapsed,
      durationS: elapsed,
      legitIsolation: legitRunner?.isolation ?? null,
      isolationError: legitRunner?.isolationError ?? spamRunners[0]?.isolationError ?? null,
      legitRest,
      legitAttack,
      spamThreads: profiles.has("spam") ? spamThreads : 0,
      spamIsolation: spamRunners[0]?.isolation ?? null,
      spam: spamParts,
      attacks: counts,
      rssRestMb: rssRest,
      rssMaxMb: rssMax,
      restView,
      attackView,
      scrapeErrors: watch ? scrapeErrors : null,
    });
    if (v.json) io.stdout(`${JSON.stringify(result)}\n`);
    else io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.OK;
  } finally {
    rss?.stop();
    watch?.stop();
    await Promise.all([legitRunner?.close(), ...spamRunners.map((r) => r.close())]);
  }
}
