/**
 * The gate's settings from the configuration, at start and on every reload.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import type { GateSettings } from "../gate/types.ts";

export function gateSettings(c: ServeConfig, prev?: GateSettings): GateSettings {
  return {
    timeouts: { firstByteMs: c.first_byte_timeout_ms, frameMs: c.frame_timeout_ms, handshakeMs: c.handshake_timeout_ms },
    ttlMs: c.challenge_ttl_ms,
    skewMs: c.clock_skew_ms,
    // Never lowered by a reload: challenges already issued with the longer lifetime must still verify.
    maxTtlMs: Math.max(c.challenge_ttl_ms, prev?.maxTtlMs ?? 0),
    maxPayload: c.max_frame_bytes,
  };
}
