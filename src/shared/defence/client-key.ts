/**
 * Client keys for limits: the address itself, and its network (IPv4 /24, IPv6 /64), so that one
 * host cannot dodge a per-address limit by using its neighbours.
 * @module
 */
import { formatIPv6, parseIPv4, parseIPv6 } from "../net/address.ts";

/** The network key of a canonical address: "a.b.c.0/24" or "x:x:x:x::/64"; the address itself otherwise. */
export function networkKey(addr: string): string {
  // A dotted quad that parses (no leading zeros) is canonical: its /24 is the text before the last dot.
  if (parseIPv4(addr)) return `${addr.slice(0, addr.lastIndexOf("."))}.0/24`;
  const v6 = parseIPv6(addr);
  if (v6) return `${formatIPv6([v6[0]!, v6[1]!, v6[2]!, v6[3]!, 0, 0, 0, 0])}/64`;
  return addr;
}
