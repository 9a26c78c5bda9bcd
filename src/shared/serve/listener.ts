/**
 * The gate's TCP listener for `serve` (and `guard`): listens with accept-error reporting, and registers
 * its release on `serving`: stop accepting, then drain the open connections for the grace period that
 * close() set (none when a start fails).
 * @module
 */
import type { GateConnections } from "../gate/connections.ts";
import { formatHostPort, parseHostPort } from "../net/address.ts";
import type { Logger } from "../observe/logger.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { Listener, Transport } from "../transport/types.ts";
import { acceptErrorReporter } from "./accept-errors.ts";

export interface GateListener {
  readonly listener: Listener;
  /** close(): drain for this long instead of closing at once. */
  setGraceMs(ms: number): void;
}

export async function openGateListener(o: {
  readonly listen: string;
  readonly transport: Transport;
  readonly connections: GateConnections;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly mono: () => number;
  readonly maxConnections: () => number | null;
  readonly openFileLimit: number | null;
  readonly serving: AsyncDisposableStack;
  /** Share the port with the process's other gate threads (serve --threads). */
  readonly reusePort?: boolean;
}): Promise<GateListener> {
  const { host, port } = parseHostPort(o.listen, "0.0.0.0");
  const onAcceptError = acceptErrorReporter({
    metrics: o.metrics, log: o.log, mono: o.mono, openConnections: () => o.connections.openCount,
    maxConnections: o.maxConnections, openFileLimit: o.openFileLimit,
  });
  let listener: Listener;
  try {
    listener = await o.transport.listen({ host, port, onAcceptError, ...(o.reusePort ? { reusePort: true } : {}) }, o.connections);
  } catch (err) {
    throw new Error(`Cannot listen on ${formatHostPort(host, port)}: ${(err as Error).message}`, { cause: err });
  }
  let graceMs: number | null = null; // set by close(); a failed start drains at once
  o.serving.defer(async () => {
    await listener.stop();
    const forced = await o.connections.drain(graceMs ?? 0);
    if (graceMs !== null && forced > 0) o.log.warn("closed connections still open after the shutdown grace period", { forced });
  });
  return { listener, setGraceMs: (ms) => void (graceMs = ms) };
}
