/**
 * The pressure board in Redis: each instance publishes its latest sample and reads the fleet's in
 * one round trip (redis-lua.ts PRESSURE_LUA). Samples expire by the Redis server's clock, so a dead
 * instance drops out after its ttl whatever the survivors' clocks say.
 * @module
 */
import type { PressureSample } from "../defence/controller.ts";
import { type RedisLink, script } from "./redis-link.ts";
import { PRESSURE_LUA } from "./redis-lua.ts";
import type { PressureBoard, PressureReport } from "./types.ts";

type Published = PressureSample & { readonly bits: number };

const _PRESSURE = script(PRESSURE_LUA);

/** The report of an instance on its own: what a board answers when it cannot reach the others. */
export function soloPressure(s: Published): PressureReport {
  const { openConnections, acceptsPerSec, challengesPerSec, failedProofsPerSec, validProofsPerSec, loopDelayMs, sourceSaturation } = s;
  return { aggregate: { openConnections, acceptsPerSec, challengesPerSec, failedProofsPerSec, validProofsPerSec, loopDelayMs, sourceSaturation }, maxBits: s.bits, instances: 1 };
}

export class RedisPressureBoard implements PressureBoard {
  constructor(private readonly _link: RedisLink, private readonly _prefix: string) {}

  async exchange(instanceId: string, sample: Published, ttlMs: number): Promise<PressureReport> {
    const fin = (v: number) => (Number.isFinite(v) ? v : 0);
    const json = JSON.stringify({
      openConnections: fin(sample.openConnections),
      acceptsPerSec: fin(sample.acceptsPerSec),
      challengesPerSec: fin(sample.challengesPerSec),
      failedProofsPerSec: fin(sample.failedProofsPerSec),
      validProofsPerSec: fin(sample.validProofsPerSec),
      loopDelayMs: fin(sample.loopDelayMs),
      sourceSaturation: fin(sample.sourceSaturation),
      bits: fin(sample.bits),
    });
    try {
      const ttl = Math.max(1, Math.ceil(ttlMs));
      const r = JSON.parse(String(await this._link.eval(_PRESSURE, [this._prefix + "pressure"], [instanceId, ttl, json])));
      const { maxBits, instances, ...aggregate } = r as PressureSample & { maxBits: number; instances: number };
      return { aggregate, maxBits, instances };
    } catch (err) {
      this._link.fallback("pressure", err);
      return soloPressure(sample);
    }
  }
}
