/**
 * The report `wisdom load` prints: one flat JSON object from the counts of both phases. The attack-phase
 * honest-client fields keep their historical names (legit_ok, legit_p99_ms, ...); the rest phase adds
 * `_rest`, and legit_p99_ratio compares the two. Pure: counts in, plain values out.
 * @module
 */
import type { AttackCounts } from "./attacks.ts";
import { type LegitCounts, newLegit, percentile } from "./legit.ts";
import type { PhaseView } from "./server-watch.ts";
import { newSpam, type SpamCounts } from "./spam.ts";

export type AttackProfile = "flood" | "slowloris" | "junk" | "replay" | "forge" | "wrong";

/** What one run measured. */
export interface RunOutcome {
  profiles: string[];
  restS: number;
  durationS: number;
  legitIsolation: "worker" | "inline" | null;
  /** Why a runner fell back to the calling thread (null when every runner got its worker). */
  isolationError?: string | null;
  /** null: no rest phase. */
  legitRest: LegitCounts | null;
  legitAttack: LegitCounts;
  /** 0: no spam profile. */
  spamThreads: number;
  spamIsolation: "worker" | "inline" | null;
  /** One entry per spam runner (thread). */
  spam: SpamCounts[];
  attacks: Partial<Record<AttackProfile, AttackCounts>>;
  rssRestMb: number | null;
  rssMaxMb: number | null;
  restView: PhaseView | null;
  attackView: PhaseView | null;
  /** null: no --metrics. */
  scrapeErrors: number | null;
}

const _ms = (x: number) => Math.round(x);
const _ratio = (a: number, b: number) => (b > 0 ? a / b : null);
const _bitsOrNull = (x: number) => (Number.isFinite(x) ? x : null);
const _round = (x: number | null, digits: number) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/** The legit fields of one phase: `key(name)` names them. */
function _legitFields(c: LegitCounts, key: (name: string) => string): Record<string, unknown> {
  return {
    [key("legit_ok")]: c.ok,
    [key("legit_failed")]: c.failed,
    [key("legit_success_rate")]: _ratio(c.ok, c.ok + c.failed),
    [key("legit_failures")]: c.failures,
    [key("legit_p50_ms")]: c.latencies.length > 0 ? _ms(percentile(c.latencies, 50)) : null,
    [key("legit_p99_ms")]: c.latencies.length > 0 ? _ms(percentile(c.latencies, 99)) : null,
  };
}

function _sumSpam(parts: SpamCounts[]): SpamCounts & { hps: number } {
  const t = { ...newSpam(), hps: 0 };
  for (const p of parts) {
    for (const k of ["connects", "connectErrors", "challenges", "solves", "quotes", "attempts", "solveMsTotal"] as const) t[k] += p[k];
    t.minBits = Math.min(t.minBits, p.minBits);
    t.maxBits = Math.max(t.maxBits, p.maxBits);
    for (const [code, n] of Object.entries(p.failures)) t.failures[code] = (t.failures[code] ?? 0) + n;
    // Each runner solves on its own thread: their rates add up.
    if (p.solveMsTotal > 0) t.hps += (p.attempts / p.solveMsTotal) * 1000;
  }
  return t;
}

/** The report of one run. */
export function loadReport(o: RunOutcome): Record<string, unknown> {
  const la = o.legitAttack;
  const lr = o.legitRest ?? newLegit();
  const sp = _sumSpam(o.spam);
  const counts = o.attacks;
  const acc = (k: AttackProfile) => counts[k]?.accepted ?? 0;
  const legitHps = la.solveMsTotal > 0 ? (la.attempts / la.solveMsTotal) * 1000 : 0;
  const p99Rest = percentile(lr.latencies, 99);
  const p99 = percentile(la.latencies, 99);
  const hasSpam = o.spamThreads > 0;
  const server = (view: PhaseView | null, suffix: string) => ({
    [`server_handshakes${suffix}`]: view?.handshakes ?? null,
    [`server_handshake_p99${suffix}_ms`]: view?.handshake_p99_ms ?? null,
    [`server_handshake_p50${suffix}_ms`]: view?.handshake_p50_ms ?? null,
    [`server_served${suffix}`]: view?.served ?? null,
    [`server_served_p99${suffix}_ms`]: view?.served_p99_ms ?? null,
    [`server_difficulty${suffix}_min`]: view?.difficulty_min ?? null,
    [`server_difficulty${suffix}_max`]: view?.difficulty_max ?? null,
  });
  return {
    rest_s: Math.round(o.restS * 10) / 10,
    duration_s: Math.round(o.durationS * 10) / 10,
    profiles: o.profiles,
    legit_isolation: o.legitIsolation,
    ...(o.isolationError ? { isolation_error: o.isolationError } : {}),
    // Rest phase (honest clients alone), then the attack phase under the historical names.
    ..._legitFields(lr, (name) => name.replace(/^legit_(ok|failed|success_rate|failures)$/, "legit_$1_rest").replace(/_ms$/, "_rest_ms")),
    ..._legitFields(la, (name) => name),
    legit_p99_ratio: _round(_ratio(p99, p99Rest), 2),
    legit_solve_p50_ms: _ms(percentile(la.solves, 50)),
    legit_solve_p99_ms: _ms(percentile(la.solves, 99)),
    legit_overhead_p99_rest_ms: lr.overheads.length > 0 ? _ms(percentile(lr.overheads, 99)) : null,
    legit_overhead_p99_ms: _ms(percentile(la.overheads, 99)),
    legit_solver_hps: Math.round(legitHps),
    legit_expected_solve_ms: legitHps > 0 ? _ms((2 ** la.maxBits / legitHps) * 1000) : null,
    // Difficulty of the challenges behind the honest clients' quotes: both phases, then each.
    difficulty_min: _bitsOrNull(Math.min(lr.minBits, la.minBits)),
    difficulty_max: lr.ok + la.ok > 0 ? Math.max(lr.maxBits, la.maxBits) : null,
    difficulty_rest_min: _bitsOrNull(lr.minBits),
    difficulty_rest_max: lr.ok > 0 ? lr.maxBits : null,
    difficulty_attack_min: _bitsOrNull(la.minBits),
    difficulty_attack_max: la.ok > 0 ? la.maxBits : null,
    // The solving flood against the honest clients in the attack phase. Hashes: the solver's attempts
    // of the solves that won a quote, counted the same way on both sides.
    hashes_counted: "solver attempts of the solves that won a quote",
    spam_threads: o.spamThreads,
    spam_isolation: o.spamIsolation,
    spam_quotes: sp.quotes,
    spam_solves: sp.solves,
    spam_hashes: sp.attempts,
    spam_solver_hps: Math.round(sp.hps),
    spam_difficulty_min: _bitsOrNull(sp.minBits),
    spam_difficulty_max: Number.isFinite(sp.minBits) ? sp.maxBits : null,
    legit_quotes: la.ok,
    legit_hashes: la.attempts,
    spam_share_of_quotes: hasSpam ? _round(_ratio(sp.quotes, sp.quotes + la.ok), 4) : null,
    spam_share_of_hashes: hasSpam ? _round(_ratio(sp.attempts, sp.attempts + la.attempts), 4) : null,
    // Attacks that must get nothing: quotes without the work.
    attack_accepted: acc("junk") + acc("replay") + acc("forge") + acc("wrong") + acc("flood") + acc("slowloris"),
    replays_accepted: acc("replay"),
    forgeries_accepted: acc("forge"),
    wrong_accepted: acc("wrong"),
    wrong_lucky: counts.wrong?.lucky ?? 0,
    attack_difficulty_max: Math.max(sp.maxBits, ...Object.values(counts).map((c) => c!.maxBits)),
    server_rss_rest_mb: _round(o.rssRestMb, 1),
    server_rss_max_mb: _round(o.rssMaxMb, 1),
    ...server(o.restView, "_rest"),
    ...server(o.attackView, ""),
    metrics_scrape_errors: o.scrapeErrors,
    attacks: {
      ...Object.fromEntries(Object.entries(counts).map(([k, c]) => [k, { connects: c!.connects, connect_errors: c!.connectErrors, challenges: c!.challenges, refused: c!.refused, errors: c!.errorsByCode }])),
      ...(hasSpam ? { spam: { connects: sp.connects, connect_errors: sp.connectErrors, challenges: sp.challenges, solves: sp.solves, quotes: sp.quotes, errors: sp.failures } } : {}),
    },
  };
}
