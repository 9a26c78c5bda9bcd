/**
 * CIDR lists ("127.0.0.0/8,::1/128") and membership tests for canonical addresses. IPv4-mapped IPv6
 * peers are matched as IPv4, since canonicalAddress() already shows them that way.
 * @module
 */
import { parseIPv4, parseIPv6 } from "./address.ts";

interface _Net {
  readonly v6: boolean;
  readonly bytes: number[];
  readonly prefix: number;
}

function toBytes(addr: string): { v6: boolean; bytes: number[] } | null {
  const v4 = parseIPv4(addr);
  if (v4) return { v6: false, bytes: v4 };
  const v6 = parseIPv6(addr);
  if (!v6) return null;
  return { v6: true, bytes: v6.flatMap((g) => [g >> 8, g & 255]) };
}

export class CidrList {
  private readonly _nets: _Net[];

  /** Parse a comma-separated list; throws RangeError naming the bad entry. */
  constructor(text: string) {
    this._nets = text
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map((entry) => {
        const [addr, bits, extra] = entry.split("/");
        const b = toBytes(addr ?? "");
        if (!b || extra !== undefined) throw new RangeError(`CIDR ${JSON.stringify(entry)}: not an IPv4 or IPv6 network`);
        const max = b.v6 ? 128 : 32;
        const prefix = bits === undefined ? max : Number(bits);
        if (!/^\d{1,3}$/.test(bits ?? String(max)) || prefix > max) throw new RangeError(`CIDR ${JSON.stringify(entry)}: prefix must be 0..${max}`);
        return { v6: b.v6, bytes: b.bytes, prefix };
      });
  }

  get size(): number {
    return this._nets.length;
  }

  /** True when `addr` (canonical form) lies in one of the networks. */
  has(addr: string): boolean {
    const a = toBytes(addr);
    if (!a) return false;
    for (const n of this._nets) {
      if (n.v6 !== a.v6) continue;
      let bits = n.prefix;
      let i = 0;
      for (; bits >= 8; bits -= 8, i++) if (a.bytes[i] !== n.bytes[i]) break;
      if (bits >= 8) continue;
      if (bits === 0 || ((a.bytes[i]! ^ n.bytes[i]!) & (0xff << (8 - bits)) & 0xff) === 0) return true;
    }
    return false;
  }
}
