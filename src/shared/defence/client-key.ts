/**
 * Client keys for limits: the address itself, and its network (IPv4 /24, IPv6 /64), so that one
 * host cannot dodge a per-address limit by using its neighbours.
 * @module
 */
import { formatIPv6, parseIPv4, parseIPv6 } from "../net/address.ts";

/** The network key of a canonical address: "a.b.c.0/24" or "x:x:x:x::/64"; the address itself otherwise. */
export function networkKey(addr: string): string {
  const v4 = parseIPv4(addr);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const v6 = parseIPv6(addr);
  if (v6) return `${formatIPv6([v6[0]!, v6[1]!, v6[2]!, v6[3]!, 0, 0, 0, 0])}/64`;
  return addr;
}
