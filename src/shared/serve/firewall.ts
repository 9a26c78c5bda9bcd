/**
 * Kernel-level shedding (firewall: nft): prefixes that keep being refused go into an nftables drop set.
 * The gate's refusals reach the firewall through `offences`, which forwards to it once it is started.
 * @module
 */
import type { ServeConfig } from "../config/schema.ts";
import { OFFENCES } from "../defence/offenders.ts";
import type { GateObserver } from "../gate/types.ts";
import type { Logger } from "../observe/logger.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { Firewall } from "../runtime/nft-firewall.ts";

export interface FirewallSlot {
  /** The started firewall; null while off or not started yet. */
  firewall: Firewall | null;
  /** Hands refused addresses to the firewall. */
  readonly offences: GateObserver;
}

export function firewallSlot(): FirewallSlot {
  const slot: FirewallSlot = {
    firewall: null,
    offences: {
      connRefused: (reason, addr) => {
        if (slot.firewall && addr && OFFENCES.has(reason)) slot.firewall.onRefused(addr, Date.now(), reason);
      },
    },
  };
  return slot;
}

/** Start the firewall for the listener on `port` (c.firewall must be "nft"). */
export async function startServeFirewall(c: ServeConfig, port: number, log: Logger, metrics: Metrics): Promise<Firewall> {
  if (c.proxy_protocol === "on") log.warn("firewall: nft behind a proxy drops little: the kernel sees the proxy's address, not the client's");
  // proxy_trusted is never banned, even with the PROXY protocol off: by default it keeps loopback safe.
  const { startFirewall } = await import("../runtime/nft-firewall.ts");
  const firewall = await startFirewall({
    table: c.firewall_table, port, refusals: c.firewall_refusals, windowMs: c.firewall_window_ms, banMs: c.firewall_ban_ms,
    maxEntries: c.firewall_max_entries, trusted: c.proxy_trusted, onError: (e) => log.warn("firewall: nft failed", { error: e.message }),
  });
  metrics.bindFirewall(() => firewall.stats());
  log.info("firewall on", { table: `inet ${c.firewall_table}`, port, refusals: c.firewall_refusals, window_ms: c.firewall_window_ms, ban_ms: c.firewall_ban_ms });
  return firewall;
}
