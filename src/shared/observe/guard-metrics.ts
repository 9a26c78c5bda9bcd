/**
 * The guard's own Prometheus metrics (wisdom_guard_*), in the same registry as the gate's: streams
 * relayed, bytes, the upstream slot queue and upstream failures.
 * @module
 */
import { Counter, Gauge, type Metric, type Registry } from "prom-client";
import { LocalHistogram } from "./local-histogram.ts";
import type { GuardObserver, UpstreamFailure } from "../guard/passages.ts";
import type { SlotRefusal } from "../guard/upstream-slots.ts";

export class GuardMetrics implements GuardObserver {
  readonly opened: Counter;
  readonly closed: Counter;
  readonly idleClosed: Counter;
  readonly bytes: Counter<"direction">;
  readonly upstreamFailures: Counter<"reason">;
  readonly slotRefusals: Counter<"reason">;
  readonly queueWait: LocalHistogram;

  /** `slots`: read at scrape time. */
  constructor(registry: Registry, slots: () => { active: number; waiting: number; max: number }) {
    const r = [registry];
    this.opened = new Counter({ name: "wisdom_guard_streams_opened_total", help: "Streams opened to the upstream after a valid proof (Open frames sent).", registers: r });
    this.closed = new Counter({ name: "wisdom_guard_streams_closed_total", help: "Relayed streams that ended.", registers: r });
    this.idleClosed = new Counter({ name: "wisdom_guard_streams_idle_closed_total", help: "Relayed streams closed by idle_timeout_ms.", registers: r });
    this.bytes = new Counter({ name: "wisdom_guard_bytes_total", help: "Bytes relayed, by direction (up: client to upstream, down: upstream to client), counted when a stream ends.", labelNames: ["direction"], registers: r });
    this.upstreamFailures = new Counter({ name: "wisdom_guard_upstream_failures_total", help: "Connections to the upstream that failed (refused, timeout, error); each client got UPSTREAM_UNAVAILABLE.", labelNames: ["reason"], registers: r });
    this.slotRefusals = new Counter({ name: "wisdom_guard_queue_refused_total", help: "Clients refused an upstream slot with BUSY, by reason (full: queue full, timeout: waited too long).", labelNames: ["reason"], registers: r });
    for (const reason of ["refused", "timeout", "error"]) this.upstreamFailures.inc({ reason }, 0);
    for (const reason of ["full", "timeout"]) this.slotRefusals.inc({ reason }, 0);
    new Gauge({ name: "wisdom_guard_upstream_connections", help: "Connections open to the upstream.", registers: r, collect() { this.set(slots().active); } });
    new Gauge({ name: "wisdom_guard_upstream_max_connections", help: "Configured upstream_max_connections (0: no limit).", registers: r, collect() { this.set(slots().max); } });
    new Gauge({ name: "wisdom_guard_queue_waiting", help: "Clients with an accepted proof waiting for an upstream slot.", registers: r, collect() { this.set(slots().waiting); } });
    this.queueWait = new LocalHistogram("wisdom_guard_queue_wait_seconds", "Time from an accepted proof to the upstream slot.", [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30]);
    registry.registerMetric(this.queueWait as unknown as Metric);
  }

  streamOpened(_effort: number, queuedMs: number): void {
    this.opened.inc();
    this.queueWait.observe(queuedMs / 1000);
  }
  streamClosed(bytesUp: number, bytesDown: number, _lifetimeMs: number, idle: boolean): void {
    this.closed.inc();
    if (idle) this.idleClosed.inc();
    this.bytes.inc({ direction: "up" }, bytesUp);
    this.bytes.inc({ direction: "down" }, bytesDown);
  }
  queueRefused(why: SlotRefusal): void {
    this.slotRefusals.inc({ reason: why });
  }
  upstreamFailed(why: UpstreamFailure): void {
    this.upstreamFailures.inc({ reason: why });
  }
}
