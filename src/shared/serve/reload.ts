/**
 * A reload (SIGHUP): apply a new configuration and key ring to the running parts without dropping
 * connections. Everything that can fail (the key ring, the quote source) is built before anything changes.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import { reconfigureDefence, type SharedDefenceState } from "../defence/from-config.ts";
import type { RateLimiter } from "../defence/rate-limiter.ts";
import type { GateConnections } from "../gate/connections.ts";
import type { Gate } from "../gate/gate.ts";
import { CidrList } from "../net/cidr.ts";
import type { Metrics } from "../observe/metrics.ts";
import { type KeySpec, KeyRing } from "../pow/keys.ts";
import type { QuoteSource } from "../quotes/types.ts";
import type { FdCaps } from "./fd-caps.ts";
import type { FirewallSlot } from "./firewall.ts";
import { gateSettings } from "./gate-settings.ts";
import { type ReloadReport, reloadDiff } from "./reload-diff.ts";
import type { ServeState } from "./state.ts";

/** The PROXY protocol's trusted senders, or null while it is off. */
export function proxyList(cfg: ServeConfig): CidrList | null {
  return cfg.proxy_protocol === "on" ? new CidrList(cfg.proxy_trusted) : null;
}

export interface ReloadParts {
  readonly state: ServeState;
  readonly gate: Gate;
  readonly connections: GateConnections;
  readonly caps: FdCaps;
  /** The shared store's limiter, when there is one. */
  readonly limiter?: RateLimiter;
  /** The admission state shared with the process's other gate threads (serve --threads). */
  readonly shared?: SharedDefenceState | null;
  readonly firewall: FirewallSlot;
  readonly metrics: Metrics;
  /** Rebuilds the quote source; null when the caller handed one in (it is kept). */
  readonly buildQuotes: ((cfg: ServeConfig) => Promise<QuoteSource>) | null;
}

export function reloader(p: ReloadParts): (n: ServeConfig, keys: readonly KeySpec[], signingId?: string) => Promise<ReloadReport> {
  const { state, gate, connections, metrics } = p;
  return async (n, keys, signingId) => {
    const nextRing = new KeyRing(keys, signingId); // throws before anything changes
    // Rebuilt on every reload, so edited quote files are read again; throws before anything changes.
    const nextQuotes = p.buildQuotes ? await p.buildQuotes(n) : null;
    const { changed, needRestart, applied } = reloadDiff(state.config, n);
    gate.ring = nextRing;
    gate.settings = gateSettings(applied, gate.settings);
    if (nextQuotes) {
      const old = gate.quotes;
      gate.quotes = nextQuotes;
      void old.close?.();
    }
    if (changed.some((k) => k === "max_connections" || k === "max_connections_per_net" || k === "max_connections_per_addr" || k === "fd_reserve")) p.caps.logFit(applied);
    state.defence = reconfigureDefence(state.defence, p.caps.fitted(state.config), p.caps.fitted(applied), p.limiter, p.shared);
    gate.policy = state.defence.policy;
    connections.admission = state.defence.admission;
    connections.windows = state.defence.windows;
    connections.proxyTrusted = proxyList(applied);
    p.firewall.firewall?.setTrusted(applied.proxy_trusted);
    state.config = applied;
    metrics.difficultyFloor.set(applied.difficulty);
    metrics.difficultyCeiling.set(state.defence.adaptive ? applied.difficulty_max : applied.difficulty);
    metrics.difficulty.set(state.defence.controller?.bits ?? applied.difficulty);
    metrics.keys.set(nextRing.ids.length);
    return { changed, needRestart };
  };
}
