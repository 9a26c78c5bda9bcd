/**
 * The /debug/runtime snapshot (debug_runtime: on): memory, event-loop delay, connections, spent set,
 * difficulty, runtime and version.
 * @module
 */
import type { GateConnections } from "../gate/connections.ts";
import type { Gate } from "../gate/gate.ts";
import type { LoopDelayMonitor } from "../observe/loop-delay.ts";
import { runtimeName } from "../transport/index.ts";
import { VERSION } from "../version.ts";
import type { ServeState } from "./state.ts";

export interface DebugSnapshotParts {
  readonly startedAt: number;
  readonly loop: LoopDelayMonitor;
  readonly connections: GateConnections;
  readonly gate: Gate;
  readonly state: ServeState;
}

export function debugSnapshot(p: DebugSnapshotParts): () => Record<string, unknown> {
  return () => {
    const m = process.memoryUsage();
    return {
      uptime_s: Math.round((Date.now() - p.startedAt) / 100) / 10,
      rss_bytes: m.rss,
      heap_used_bytes: m.heapUsed,
      heap_total_bytes: m.heapTotal,
      event_loop_delay_ms: Math.round(p.loop.last * 100) / 100,
      open_connections: p.connections.openCount,
      spent_entries: p.gate.store.size(),
      difficulty_bits: p.state.defence.controller?.bits ?? p.state.config.difficulty,
      runtime: runtimeName(),
      version: VERSION,
    };
  };
}
