/**
 * Readiness (/readyz and the `ready` gauge): not while draining, nor while the spent set's store is down.
 * @module
 */
import type { GateConnections } from "../gate/connections.ts";
import type { Gate } from "../gate/gate.ts";
import type { Readiness } from "../observe/http.ts";

export function readinessOf(connections: GateConnections, gate: Gate): () => Readiness {
  return () => {
    const reasons: string[] = [];
    if (connections.draining) reasons.push("draining");
    if (!(gate.store.ready?.() ?? gate.store.healthy())) reasons.push(`store ${gate.store.name} is down`);
    return { ready: reasons.length === 0, reasons };
  };
}
