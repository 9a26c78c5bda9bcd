/**
 * Builds the defence parts from the serve configuration (the composition root calls this), and
 * updates them in place when the configuration is reloaded.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import { FixedDifficulty, type DifficultyPolicy } from "../gate/types.ts";
import { Admission, type AdmissionSpec, type SharedAdmissionTables } from "./admission.ts";
import { type ControllerSpec, DifficultyController } from "./controller.ts";
import { Escalation, type EscalationCounts, type EscalationSpec } from "./escalation.ts";
import { AdaptivePolicy } from "./policy.ts";
import { AdaptiveWindows, type WindowSpec } from "./windows.ts";
import type { RateLimiter } from "./rate-limiter.ts";

export interface Defence {
  readonly admission: Admission | null;
  /** The base difficulty (null with the defence off). Fixed at `difficulty` unless adaptive. */
  readonly controller: DifficultyController | null;
  /** Whether the controller is driven by pressure. */
  readonly adaptive: boolean;
  readonly escalation: EscalationCounts | null;
  /** Escalation counted per network (IPv4 /24, IPv6 /64). */
  readonly netEscalation: EscalationCounts | null;
  /** Windows that shrink under connection pressure (null with the defence off). */
  readonly windows: AdaptiveWindows | null;
  readonly policy: DifficultyPolicy;
}

export function admissionSpec(c: ServeConfig): AdmissionSpec {
  return {
    maxConnections: c.max_connections,
    maxConnectionsPerAddr: c.max_connections_per_addr,
    maxConnectionsPerNet: c.max_connections_per_net,
    challengesPerAddr: { ratePerSec: c.challenge_rate, burst: c.challenge_burst },
    challengesPerNet: { ratePerSec: c.net_challenge_rate, burst: c.net_challenge_burst },
    solutionsPerAddr: { ratePerSec: c.solution_rate, burst: c.solution_burst },
    maxOutstandingPerAddr: c.max_outstanding,
    ttlMs: c.challenge_ttl_ms,
  };
}

export function controllerSpec(c: ServeConfig): ControllerSpec {
  return {
    floor: c.difficulty,
    ceiling: c.difficulty_max,
    thresholds: { validProofsPerSec: c.pressure_valid_proofs_per_s, loopDelayMs: c.pressure_loop_delay_ms },
  };
}

export function windowSpec(c: ServeConfig): WindowSpec {
  return {
    minMs: c.window_min_ms,
    thresholds: { openConnections: c.pressure_open_connections, acceptsPerSec: c.pressure_accepts_per_s, failedProofsPerSec: c.pressure_failed_proofs_per_s },
  };
}

export function escalationSpec(c: ServeConfig): EscalationSpec {
  return { halfLifeMs: c.escalation_half_life_ms, freeRequests: c.escalation_free_requests, maxExtraBits: c.escalation_max_bits };
}

export function netEscalationSpec(c: ServeConfig): EscalationSpec {
  return { ...escalationSpec(c), freeRequests: c.escalation_net_free_requests };
}

export function controllerSpecFor(c: ServeConfig): ControllerSpec {
  return c.adaptive === "on" ? controllerSpec(c) : { ...controllerSpec(c), ceiling: c.difficulty };
}

/**
 * State the gate threads of one process share (store/shared-admission.ts): connection and outstanding
 * counts, token buckets and, when it has them, escalation counts.
 */
export interface SharedDefenceState extends SharedAdmissionTables {
  readonly limiter: RateLimiter;
  readonly escalation: EscalationCounts | null;
  readonly netEscalation: EscalationCounts | null;
}

/**
 * `limiter`: a shared rate limiter (Redis); default, this process's memory (or `shared`'s buckets).
 * `shared`: state shared with the other gate threads of this process; default, this thread's own.
 */
export function createDefence(c: ServeConfig, limiter?: RateLimiter, shared?: SharedDefenceState | null): Defence {
  if (c.defence === "off") {
    return { admission: null, controller: null, adaptive: false, escalation: null, netEscalation: null, windows: null, policy: new FixedDifficulty(c.difficulty) };
  }
  const admission = new Admission(admissionSpec(c), limiter ?? shared?.limiter, shared ?? null);
  const escalation = c.escalation_max_bits > 0 ? sharedEscalation(shared?.escalation, escalationSpec(c)) : null;
  const netEscalation = c.escalation_max_bits > 0 ? sharedEscalation(shared?.netEscalation, netEscalationSpec(c)) : null;
  const controller = new DifficultyController(controllerSpecFor(c));
  const windows = new AdaptiveWindows(windowSpec(c));
  return { admission, controller, adaptive: c.adaptive === "on", escalation, netEscalation, windows, policy: new AdaptivePolicy(controller, escalation, netEscalation) };
}

/** The shared escalation table under `spec` when there is one, else a table of this thread's own. */
function sharedEscalation(e: EscalationCounts | null | undefined, spec: EscalationSpec): EscalationCounts {
  if (!e) return new Escalation(spec);
  e.spec = spec;
  return e;
}

/**
 * Apply a new configuration to running defence parts, in place where the mode is unchanged, so that
 * rate-limit state and the difficulty in force survive a reload. Returns the defence to use from now on.
 * `shared`: as createDefence (pass the same state on every reload).
 */
export function reconfigureDefence(d: Defence, prev: ServeConfig, next: ServeConfig, limiter?: RateLimiter, shared?: SharedDefenceState | null): Defence {
  if (next.defence !== prev.defence || next.adaptive !== prev.adaptive || !d.admission || !d.controller) return createDefence(next, limiter, shared);
  d.admission.reconfigure(admissionSpec(next));
  d.controller.spec = controllerSpecFor(next);
  d.controller.bits = Math.min(d.controller.spec.ceiling, Math.max(d.controller.spec.floor, d.controller.bits));
  if (d.windows) d.windows.spec = windowSpec(next);
  const keep = (e: EscalationCounts | null, s: EscalationCounts | null | undefined, spec: EscalationSpec): EscalationCounts | null => {
    if (next.escalation_max_bits <= 0) return null;
    return sharedEscalation(e ?? s, spec);
  };
  const escalation = keep(d.escalation, shared?.escalation, escalationSpec(next));
  const netEscalation = keep(d.netEscalation, shared?.netEscalation, netEscalationSpec(next));
  return { ...d, escalation, netEscalation, policy: new AdaptivePolicy(d.controller, escalation, netEscalation) };
}
