/**
 * Client addresses: one canonical text form per IP (RFC 5952 for IPv6, IPv4-mapped IPv6 shown as IPv4),
 * so that a challenge bound to an address matches however the runtime spells the peer.
 * @module
 */

/** Parse dotted-quad IPv4 (no leading zeros); null when not one. Hand-rolled: it runs several times per connection. */
export function parseIPv4(s: string): number[] | null {
  const out: number[] = [];
  let n = 0, digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final "." closes the last part
    if (c === 46) {
      if (digits === 0 || out.length === 4) return null;
      out.push(n);
      n = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && n === 0) return null; // leading zero
      n = n * 10 + (c - 48);
      if (++digits > 3 || n > 255) return null;
    } else {
      return null;
    }
  }
  return out.length === 4 ? out : null;
}

/** Parse IPv6 (with optional embedded IPv4 tail, no zone) into 8 16-bit groups; null when not one. */
export function parseIPv6(s: string): number[] | null {
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (s.includes("%")) s = s.slice(0, s.indexOf("%"));
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = s.slice(0, lastColon + 1) + (s[lastColon - 1] === ":" ? "" : "0");
    if (s.endsWith(":0")) s = s.slice(0, -2);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const toGroups = (h: string): number[] | null => {
    if (h === "") return [];
    const gs = h.split(":");
    const out: number[] = [];
    for (const g of gs) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = toGroups(halves[0]!);
  if (!head) return null;
  let groups: number[];
  if (halves.length === 2) {
    const rest = toGroups(halves[1]!);
    if (!rest) return null;
    const fill = 8 - tail.length - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array(fill).fill(0), ...rest, ...tail];
  } else {
    groups = [...head, ...tail];
  }
  return groups.length === 8 ? groups : null;
}

/** RFC 5952 text for 8 groups. */
export function formatIPv6(g: readonly number[]): string {
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hexes = g.map((x) => x.toString(16));
  if (bestStart < 0) return hexes.join(":");
  return `${hexes.slice(0, bestStart).join(":")}::${hexes.slice(bestStart + bestLen).join(":")}`;
}

/**
 * The canonical form of a peer address: IPv4 as dotted quad, IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4,
 * other IPv6 per RFC 5952 without zone. Anything else (a Unix socket path, say) is returned as is.
 */
export function canonicalAddress(raw: string): string {
  if (parseIPv4(raw)) return raw; // a dotted quad parseIPv4 accepts (no leading zeros) is already canonical
  const v6 = parseIPv6(raw);
  if (!v6) return raw;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff) {
    return [v6[6]! >> 8, v6[6]! & 255, v6[7]! >> 8, v6[7]! & 255].join(".");
  }
  return formatIPv6(v6);
}

/** Split "HOST:PORT", "[V6]:PORT" or ":PORT"; throws RangeError with the input named. */
export function parseHostPort(s: string, defaultHost = "127.0.0.1"): { host: string; port: number } {
  let host: string, portText: string;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (m) {
    host = m[1]!;
    portText = m[2]!;
  } else {
    const i = s.lastIndexOf(":");
    if (i < 0) throw new RangeError(`Address ${JSON.stringify(s)} is not HOST:PORT`);
    host = s.slice(0, i) || defaultHost;
    portText = s.slice(i + 1);
    if (host.includes(":")) throw new RangeError(`Address ${JSON.stringify(s)}: write IPv6 hosts in brackets, [::1]:7077`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new RangeError(`Address ${JSON.stringify(s)}: port ${JSON.stringify(portText)} is not 0..65535`);
  }
  if (host.length === 0 || host.length > 253) throw new RangeError(`Address ${JSON.stringify(s)}: empty or overlong host`);
  return { host, port: Number(portText) };
}

/** "HOST:PORT" with brackets for IPv6. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
