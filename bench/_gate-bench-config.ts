/**
 * The gate the handshake benches measure (bench/handshake.ts, bench/handshake-heap-profile.ts): difficulty 1,
 * every cap and limit opened, no escalation, so that what is timed or profiled is one handshake's work.
 */
import { SERVE_DEFAULTS, type ServeConfig } from "../src/shared/config/schema.ts";
import type { KeySpec } from "../src/shared/pow/keys.ts";

export function benchGateConfig(store: string, threads: number): ServeConfig {
  return {
    ...SERVE_DEFAULTS, listen: "127.0.0.1:0", metrics_listen: "", difficulty: 1, difficulty_max: 1, log_level: "silent",
    max_connections_per_addr: 1_000_000, max_connections_per_net: 1_000_000, max_outstanding: 1_000_000,
    challenge_rate: 1e6, challenge_burst: 1e6, net_challenge_rate: 1e6, net_challenge_burst: 1e6, solution_rate: 1e6, solution_burst: 1e6,
    escalation_max_bits: 0, store, store_failure: "fail-closed", threads,
  };
}

/** The benches' signing key (the "shape" server of bench/handshake.ts mints with it too). */
export const BENCH_KEYS: readonly KeySpec[] = [{ id: "bench", secret: new TextEncoder().encode("handshake-bench-secret-0123") }];
