/**
 * PROXY protocol receiver (HAProxy's proxy-protocol.txt, versions 1 and 2): the header a trusted load balancer puts in
 * front of the client's bytes to say who the client really is.
 *
 * - Version 1 (section 2.1): one US-ASCII line, "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n", at most 107 bytes.
 * - Version 2 (section 2.2): the 12-byte signature, a version/command byte, a family/protocol byte, a u16 BE length,
 *   then the address block and TLVs.
 *
 * Choices where the spec leaves room:
 * - v2 headers longer than `maxHeaderBytes` (default 536, the smallest TCP segment every host takes, section 2) are
 *   refused from their length field; a v1 line is refused once 107 bytes (56 for TCP4) pass without its CRLF.
 * - Junk is refused at the first byte that cannot belong to a PROXY header (section 2.1: "abort the connection as soon
 *   as possible"), so a client that speaks the wire protocol to a PROXY listener fails at once, not after a timeout.
 * - v2 PROXY over UDP, AF_UNIX or UNSPEC falls back to UNSPEC as section 2.2 allows: the result is `unknown` and the
 *   connection's own address stays. LOCAL ignores the whole block, family included. Family and protocol nibbles the
 *   spec does not define are refused for PROXY, as is an address block shorter than the family needs.
 * - TLVs are checked for framing (no TLV may run past the header, as HAProxy checks) and otherwise skipped;
 *   PP2_TYPE_CRC32C is not verified, which the spec permits a receiver that does not support it.
 * - v1 numbers follow section 2.1 strictly: no leading zeroes in IPv4 octets or ports, no sign, ports 0..65535.
 *
 * Pure code over bytes: no sockets, no clock, no runtime globals. Which listener expects the header is configuration,
 * never a guess from the bytes (section 5).
 * @module
 */
import { canonicalAddress, formatIPv6, parseIPv4, parseIPv6 } from "./address.ts";

/** The 12 bytes that open every version 2 header: "\r\n\r\n\0\r\nQUIT\n". */
export const PROXY_V2_SIGNATURE: Uint8Array = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
/** Longest version 1 line, CRLF included (section 2.1, the "worst case" UNKNOWN line). */
export const MAX_V1_BYTES = 107;
/** Default cap on a whole header: 576 - 40, the smallest TCP segment any host must accept (section 2). */
export const MAX_HEADER_BYTES = 536;
/** Largest header the v2 length field can describe. */
const _V2_MAX_POSSIBLE = 16 + 0xffff;
const _V2_FIXED = 16;
const _V1_TCP4_MAX = 56; // "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"
const _V1_PREFIX = "PROXY ";
const _V1_PROTOCOLS = ["TCP4", "TCP6", "UNKNOWN"] as const;
/** Address block size per v2 family nibble: AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX (section 2.2). */
const _V2_ADDRESS_BYTES = [0, 12, 36, 216] as const;
const _FAMILY_NAMES = ["UNSPEC", "IPv4", "IPv6", "UNIX"] as const;
const _PROTOCOL_NAMES = ["UNSPEC", "STREAM", "DGRAM"] as const;

/** One end of the proxied connection. */
export interface ProxyEndpoint {
  /** Canonical text form (see canonicalAddress): dotted quad, or RFC 5952 IPv6; IPv4-mapped IPv6 shown as IPv4. */
  readonly address: string;
  readonly port: number;
}

/**
 * What a header says: `proxy` carries the client (`source`) and the address it dialled (`destination`);
 * `local` (v2 health checks by the proxy itself) and `unknown` (v1 UNKNOWN, or v2 with a family we do not take)
 * mean the connection's own peer address stays.
 */
export type ProxyHeader =
  | { readonly kind: "proxy"; readonly version: 1 | 2; readonly source: ProxyEndpoint; readonly destination: ProxyEndpoint }
  | { readonly kind: "unknown"; readonly version: 1 | 2 }
  | { readonly kind: "local"; readonly version: 2 };

/** A decoded header, its size on the wire, and the bytes after it (a copy) to hand to the frame decoder. */
export type ProxyResult = ProxyHeader & { readonly headerLength: number; readonly rest: Uint8Array };

/** Input to the encoders; a decoded ProxyHeader fits too. */
export type ProxyHeaderInit =
  | { readonly kind: "proxy"; readonly source: ProxyEndpoint; readonly destination: ProxyEndpoint }
  | { readonly kind: "unknown" }
  | { readonly kind: "local" };

/** A v2 Type-Length-Value extension (section 2.2, e.g. 0x04 PP2_TYPE_NOOP, 0x05 PP2_TYPE_UNIQUE_ID). */
export interface ProxyTlv {
  readonly type: number;
  readonly value: Uint8Array;
}

/** A header that does not follow the spec; the connection should be closed. */
export class ProxyHeaderError extends Error {
  readonly code = "PROXY_HEADER_INVALID" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProxyHeaderError";
  }
}

export interface ProxyHeaderDecoderOptions {
  /** Longest header accepted, in bytes: 107..65551, default 536. Also the most the decoder ever buffers. */
  readonly maxHeaderBytes?: number;
}

/**
 * Incremental decoder for the one header at the start of a connection: push chunks until it returns a result.
 * Buffers at most `maxHeaderBytes`, whatever the input. After it throws the connection must be closed; after it
 * returns a result, later bytes belong to the frame decoder and pushing more is a programming error.
 */
export class ProxyHeaderDecoder {
  readonly maxHeaderBytes: number;
  private _buf: Uint8Array | null = null;
  private _len = 0;
  private _state: "reading" | "done" | "failed" = "reading";
  private _error: ProxyHeaderError | null = null;

  constructor(options: ProxyHeaderDecoderOptions = {}) {
    const max = options.maxHeaderBytes ?? MAX_HEADER_BYTES;
    if (!Number.isInteger(max) || max < MAX_V1_BYTES || max > _V2_MAX_POSSIBLE) {
      throw new RangeError(`ProxyHeaderDecoder: maxHeaderBytes ${max} is not an integer in ${MAX_V1_BYTES}..${_V2_MAX_POSSIBLE}`);
    }
    this.maxHeaderBytes = max;
  }

  /** Header bytes received so far while the header is incomplete. */
  get buffered(): number {
    return this._len;
  }

  /** Feed bytes; returns null while more are needed, else the header. Throws ProxyHeaderError on a malformed header. */
  push(chunk: Uint8Array): ProxyResult | null {
    if (this._state === "done") throw new Error("ProxyHeaderDecoder: the header was already decoded; pass later bytes to the frame decoder");
    if (this._state === "failed") throw this._error!;
    if (chunk.length === 0) return null;
    const prev = this._len;
    let view: Uint8Array;
    if (prev === 0) {
      // Headers normally arrive whole in the first chunk: parse it in place.
      view = chunk.subarray(0, this.maxHeaderBytes);
    } else {
      const take = Math.min(chunk.length, this.maxHeaderBytes - prev);
      this._buf!.set(chunk.subarray(0, take), prev);
      view = this._buf!.subarray(0, prev + take);
    }
    let decoded: _Decoded | null;
    try {
      decoded = _decodePrefix(view, this.maxHeaderBytes);
    } catch (e) {
      this._state = "failed";
      this._error = e as ProxyHeaderError;
      this._buf = null;
      this._len = 0;
      throw e;
    }
    if (decoded === null) {
      // A full view (maxHeaderBytes bytes) always completes or fails, so what is kept here stays under the cap.
      if (prev === 0) {
        this._buf = new Uint8Array(this.maxHeaderBytes);
        this._buf.set(view);
      }
      this._len = view.length;
      return null;
    }
    this._state = "done";
    this._buf = null;
    this._len = 0;
    return { ...decoded.header, headerLength: decoded.length, rest: chunk.slice(decoded.length - prev) };
  }
}

interface _Decoded {
  readonly header: ProxyHeader;
  readonly length: number;
}

/**
 * Decode a header from the start of `bytes`: null while they are a valid but incomplete prefix, else the header and
 * its length. Throws ProxyHeaderError as soon as the bytes cannot begin a valid header.
 */
function _decodePrefix(bytes: Uint8Array, maxHeaderBytes: number): _Decoded | null {
  if (bytes.length === 0) return null;
  if (bytes[0] === 0x50) return _decodeV1(bytes);
  if (bytes[0] === 0x0d) return _decodeV2(bytes, maxHeaderBytes);
  throw new ProxyHeaderError(`Not a PROXY header: first byte ${_hex(bytes[0]!)} is neither "P" (v1) nor 0x0d (v2)`);
}

// ---------------------------------------------------------------------------------------------------------- v1 ----

/** Bytes that may follow "PROXY TCP4 " / "PROXY TCP6 " before the CRLF (hex digits, dots, colons, spaces). */
function _isV1AddressByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === 0x2e || c === 0x3a || c === 0x20;
}

function _decodeV1(b: Uint8Array): _Decoded | null {
  const n = Math.min(b.length, MAX_V1_BYTES);
  for (let i = 0; i < Math.min(n, _V1_PREFIX.length); i++) {
    if (b[i] !== _V1_PREFIX.charCodeAt(i)) {
      throw new ProxyHeaderError(`PROXY v1 header: expected "PROXY " but byte ${i} is ${_hex(b[i]!)}`);
    }
  }
  // The protocol token, checked as a prefix so "PROXY UDP4" fails at the "D".
  let tokEnd = _V1_PREFIX.length;
  while (tokEnd < n && b[tokEnd] !== 0x20 && b[tokEnd] !== 0x0d && b[tokEnd] !== 0x0a) tokEnd++;
  const token = _ascii(b, _V1_PREFIX.length, tokEnd);
  const complete = tokEnd < n;
  if (!_V1_PROTOCOLS.some((p) => (complete ? p === token : p.startsWith(token)))) {
    throw new ProxyHeaderError(`PROXY v1 header: unknown protocol ${JSON.stringify(token)} (expected TCP4, TCP6 or UNKNOWN)`);
  }
  if (complete && token !== "UNKNOWN" && b[tokEnd] !== 0x20) {
    throw new ProxyHeaderError(`PROXY v1 header: ${token} line ends before its addresses`);
  }
  // A TCP4 line is at most 56 bytes; anything else at most 107 (section 2.1). CRLF included.
  const maxLine = token === "TCP4" && complete ? _V1_TCP4_MAX : MAX_V1_BYTES;
  // Only CRLF ends the line; a lone CR or LF is an error. The CR may sit at index maxLine - 2 at the latest.
  for (let i = _V1_PREFIX.length; i < Math.min(b.length, maxLine - 1); i++) {
    const c = b[i]!;
    if (c === 0x0a) throw new ProxyHeaderError(`PROXY v1 header: bare LF at byte ${i} (the line must end with CRLF)`);
    if (c === 0x0d) {
      if (i + 1 === b.length) return null;
      if (b[i + 1] !== 0x0a) throw new ProxyHeaderError(`PROXY v1 header: CR at byte ${i} is followed by ${_hex(b[i + 1]!)}, not LF`);
      return { header: _parseV1Line(_ascii(b, 0, i)), length: i + 2 };
    }
    if (complete && token !== "UNKNOWN" && i > tokEnd && !_isV1AddressByte(c)) {
      throw new ProxyHeaderError(`PROXY v1 header: unexpected byte ${_hex(c)} at ${i} in a ${token} line`);
    }
  }
  if (b.length >= maxLine - 1) {
    throw new ProxyHeaderError(`PROXY v1 header: no CRLF within the first ${maxLine} bytes of a ${complete ? token : "PROXY"} line`);
  }
  return null;
}

/** Parse one complete v1 line, without its CRLF. */
function _parseV1Line(line: string): ProxyHeader {
  if (!line.startsWith(_V1_PREFIX)) throw new ProxyHeaderError(`PROXY v1 header: line does not start with "PROXY "`);
  const fields = line.split(" ");
  const proto = fields[1]!;
  // For UNKNOWN "the receiver must ignore anything presented before the CRLF".
  if (proto === "UNKNOWN") return { kind: "unknown", version: 1 };
  if (proto !== "TCP4" && proto !== "TCP6") {
    throw new ProxyHeaderError(`PROXY v1 header: unknown protocol ${JSON.stringify(proto)} (expected TCP4, TCP6 or UNKNOWN)`);
  }
  if (fields.length !== 6) {
    throw new ProxyHeaderError(
      `PROXY v1 header: ${proto} line has ${fields.length} fields separated by single spaces, expected 6 ("PROXY ${proto} src dst sport dport")`,
    );
  }
  const src = _v1Address(proto, "source", fields[2]!);
  const dst = _v1Address(proto, "destination", fields[3]!);
  return {
    kind: "proxy",
    version: 1,
    source: { address: src, port: _v1Port("source", fields[4]!) },
    destination: { address: dst, port: _v1Port("destination", fields[5]!) },
  };
}

function _v1Address(proto: "TCP4" | "TCP6", which: string, text: string): string {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) {
    throw new ProxyHeaderError(`PROXY v1 header: ${which} address ${JSON.stringify(text)} is not an IP address`);
  }
  const v4 = parseIPv4(text);
  const v6 = v4 ? null : parseIPv6(text);
  if (proto === "TCP4") {
    if (v4) return v4.join(".");
    if (v6) throw new ProxyHeaderError(`PROXY v1 header: TCP4 line carries IPv6 ${which} address ${JSON.stringify(text)}`);
    throw new ProxyHeaderError(`PROXY v1 header: ${which} address ${JSON.stringify(text)} is not a valid IPv4 address (4 decimal octets 0..255, no leading zeroes)`);
  }
  if (v6) return canonicalAddress(formatIPv6(v6));
  if (v4) throw new ProxyHeaderError(`PROXY v1 header: TCP6 line carries IPv4 ${which} address ${JSON.stringify(text)}`);
  throw new ProxyHeaderError(`PROXY v1 header: ${which} address ${JSON.stringify(text)} is not a valid IPv6 address`);
}

function _v1Port(which: string, text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new ProxyHeaderError(`PROXY v1 header: ${which} port ${JSON.stringify(text)} is not a decimal integer`);
  if (text.length > 5) throw new ProxyHeaderError(`PROXY v1 header: ${which} port ${JSON.stringify(text)} has more than 5 digits`);
  if (text.length > 1 && text[0] === "0") throw new ProxyHeaderError(`PROXY v1 header: ${which} port ${JSON.stringify(text)} has a leading zero`);
  const port = Number(text);
  if (port > 0xffff) throw new ProxyHeaderError(`PROXY v1 header: ${which} port ${port} out of range 0..65535`);
  return port;
}

// ---------------------------------------------------------------------------------------------------------- v2 ----

function _decodeV2(b: Uint8Array, maxHeaderBytes: number): _Decoded | null {
  const n = b.length;
  for (let i = 0; i < Math.min(n, PROXY_V2_SIGNATURE.length); i++) {
    if (b[i] !== PROXY_V2_SIGNATURE[i]) {
      throw new ProxyHeaderError(`PROXY v2 header: signature mismatch at byte ${i} (${_hex(b[i]!)}, expected ${_hex(PROXY_V2_SIGNATURE[i]!)})`);
    }
  }
  if (n < 13) return null;
  const version = b[12]! >> 4;
  const command = b[12]! & 0x0f;
  if (version !== 2) throw new ProxyHeaderError(`PROXY v2 header: unsupported version ${version} in byte 12 (${_hex(b[12]!)})`);
  if (command > 1) throw new ProxyHeaderError(`PROXY v2 header: unknown command ${command} (0 LOCAL, 1 PROXY)`);
  if (n < 14) return null;
  const family = b[13]! >> 4;
  const protocol = b[13]! & 0x0f;
  // LOCAL discards the block "including the family which is ignored"; PROXY must use defined values.
  if (command === 1) {
    if (family > 3) throw new ProxyHeaderError(`PROXY v2 header: unknown address family ${family} in byte 13 (${_hex(b[13]!)})`);
    if (protocol > 2) throw new ProxyHeaderError(`PROXY v2 header: unknown transport protocol ${protocol} in byte 13 (${_hex(b[13]!)})`);
  }
  if (n < _V2_FIXED) return null;
  const blockLength = (b[14]! << 8) | b[15]!;
  const total = _V2_FIXED + blockLength;
  if (total > maxHeaderBytes) {
    throw new ProxyHeaderError(`PROXY v2 header: length ${_V2_FIXED}+${blockLength} = ${total} bytes exceeds limit ${maxHeaderBytes}`);
  }
  const addressBytes = command === 1 && protocol !== 0 ? _V2_ADDRESS_BYTES[family as 0 | 1 | 2 | 3] : 0;
  if (blockLength < addressBytes) {
    throw new ProxyHeaderError(
      `PROXY v2 header: address block of ${blockLength} bytes is shorter than the ${addressBytes} that ${_PROTOCOL_NAMES[protocol]} over ${_FAMILY_NAMES[family]} needs`,
    );
  }
  if (n < total) return null;
  if (command === 0) return { header: { kind: "local", version: 2 }, length: total };
  if (family === 0 || protocol === 0) return { header: { kind: "unknown", version: 2 }, length: total };
  _checkTlvs(b, _V2_FIXED + addressBytes, total);
  if (protocol !== 1 || family === 3) return { header: { kind: "unknown", version: 2 }, length: total };
  const a = _V2_FIXED;
  if (family === 1) {
    return {
      header: {
        kind: "proxy",
        version: 2,
        source: { address: `${b[a]}.${b[a + 1]}.${b[a + 2]}.${b[a + 3]}`, port: (b[a + 8]! << 8) | b[a + 9]! },
        destination: { address: `${b[a + 4]}.${b[a + 5]}.${b[a + 6]}.${b[a + 7]}`, port: (b[a + 10]! << 8) | b[a + 11]! },
      },
      length: total,
    };
  }
  return {
    header: {
      kind: "proxy",
      version: 2,
      source: { address: _ipv6Text(b, a), port: (b[a + 32]! << 8) | b[a + 33]! },
      destination: { address: _ipv6Text(b, a + 16), port: (b[a + 34]! << 8) | b[a + 35]! },
    },
    length: total,
  };
}

/** Every TLV between `from` and `end` must fit: a 3-byte type/length header and the value it announces. */
function _checkTlvs(b: Uint8Array, from: number, end: number): void {
  let off = from;
  while (off < end) {
    if (end - off < 3) throw new ProxyHeaderError(`PROXY v2 header: ${end - off} stray bytes at offset ${off}, too short for a TLV (3 bytes at least)`);
    const len = (b[off + 1]! << 8) | b[off + 2]!;
    if (off + 3 + len > end) {
      throw new ProxyHeaderError(`PROXY v2 header: TLV type ${_hex(b[off]!)} at offset ${off} announces ${len} bytes but only ${end - off - 3} remain`);
    }
    off += 3 + len;
  }
}

function _ipv6Text(b: Uint8Array, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[off + i]! << 8) | b[off + i + 1]!);
  return canonicalAddress(formatIPv6(groups));
}

// ---------------------------------------------------------------------------------------------------- encoders ----

interface _Resolved {
  readonly v6: boolean;
  readonly src: number[];
  readonly dst: number[];
}

/** Both addresses as IPv4 octets when both are IPv4 (or IPv4-mapped), else both as IPv6 groups (IPv4 mapped in). */
function _resolve(header: { source: ProxyEndpoint; destination: ProxyEndpoint }): _Resolved {
  const parse = (which: string, ep: ProxyEndpoint) => {
    if (!Number.isInteger(ep.port) || ep.port < 0 || ep.port > 0xffff) {
      throw new RangeError(`Cannot encode PROXY header: ${which} port ${ep.port} is not an integer in 0..65535`);
    }
    const text = canonicalAddress(ep.address);
    const v4 = parseIPv4(text);
    const v6 = v4 ? null : parseIPv6(text);
    if (!v4 && !v6) throw new RangeError(`Cannot encode PROXY header: ${which} address ${JSON.stringify(ep.address)} is not an IP address`);
    return { v4, v6 };
  };
  const s = parse("source", header.source);
  const d = parse("destination", header.destination);
  if (s.v4 && d.v4) return { v6: false, src: s.v4, dst: d.v4 };
  const mapped = (v4: number[]) => [0, 0, 0, 0, 0, 0xffff, (v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
  return { v6: true, src: s.v6 ?? mapped(s.v4!), dst: d.v6 ?? mapped(d.v4!) };
}

/**
 * Encode a version 1 line. Mixed IPv4/IPv6 endpoints are sent as TCP6 with the IPv4 one mapped (::ffff:a.b.c.d),
 * which the decoder shows as IPv4 again. `unknown` gives the short form "PROXY UNKNOWN\r\n"; v1 has no LOCAL.
 */
export function encodeProxyV1(header: ProxyHeaderInit): Uint8Array {
  if (header.kind === "unknown") return _asciiBytes("PROXY UNKNOWN\r\n");
  if (header.kind !== "proxy") throw new RangeError(`Cannot encode PROXY v1 header: kind ${JSON.stringify(header.kind)} exists only in v2`);
  const r = _resolve(header);
  const text = r.v6
    ? `PROXY TCP6 ${formatIPv6(r.src)} ${formatIPv6(r.dst)}`
    : `PROXY TCP4 ${r.src.join(".")} ${r.dst.join(".")}`;
  return _asciiBytes(`${text} ${header.source.port} ${header.destination.port}\r\n`);
}

/**
 * Encode a version 2 header: `proxy` as TCP over IPv4 (0x11) or IPv6 (0x21, mixed families mapped as in v1),
 * `local` as LOCAL/UNSPEC, `unknown` as PROXY/UNSPEC; then the TLVs in order.
 */
export function encodeProxyV2(header: ProxyHeaderInit, tlvs: readonly ProxyTlv[] = []): Uint8Array {
  let verCmd = 0x21, famProto = 0x00;
  let addresses = new Uint8Array(0);
  if (header.kind === "proxy") {
    const r = _resolve(header);
    if (r.v6) {
      famProto = 0x21;
      addresses = new Uint8Array(36);
      for (let i = 0; i < 8; i++) {
        addresses[2 * i] = r.src[i]! >> 8;
        addresses[2 * i + 1] = r.src[i]! & 255;
        addresses[16 + 2 * i] = r.dst[i]! >> 8;
        addresses[16 + 2 * i + 1] = r.dst[i]! & 255;
      }
    } else {
      famProto = 0x11;
      addresses = new Uint8Array(12);
      addresses.set(r.src, 0);
      addresses.set(r.dst, 4);
    }
    const p = addresses.length - 4;
    addresses[p] = header.source.port >> 8;
    addresses[p + 1] = header.source.port & 255;
    addresses[p + 2] = header.destination.port >> 8;
    addresses[p + 3] = header.destination.port & 255;
  } else if (header.kind === "local") {
    verCmd = 0x20;
  } else if (header.kind !== "unknown") {
    throw new RangeError(`Cannot encode PROXY v2 header: unknown kind ${JSON.stringify((header as { kind: unknown }).kind)}`);
  }
  let blockLength = addresses.length;
  for (const t of tlvs) {
    if (!Number.isInteger(t.type) || t.type < 0 || t.type > 255) throw new RangeError(`Cannot encode PROXY v2 TLV: type ${t.type} is not a byte`);
    if (t.value.length > 0xffff) throw new RangeError(`Cannot encode PROXY v2 TLV: value of ${t.value.length} bytes exceeds 65535`);
    blockLength += 3 + t.value.length;
  }
  if (blockLength > 0xffff) throw new RangeError(`Cannot encode PROXY v2 header: block of ${blockLength} bytes exceeds 65535`);
  const out = new Uint8Array(_V2_FIXED + blockLength);
  out.set(PROXY_V2_SIGNATURE, 0);
  out[12] = verCmd;
  out[13] = famProto;
  out[14] = blockLength >> 8;
  out[15] = blockLength & 255;
  out.set(addresses, _V2_FIXED);
  let off = _V2_FIXED + addresses.length;
  for (const t of tlvs) {
    out[off] = t.type;
    out[off + 1] = t.value.length >> 8;
    out[off + 2] = t.value.length & 255;
    out.set(t.value, off + 3);
    off += 3 + t.value.length;
  }
  return out;
}

// ----------------------------------------------------------------------------------------------------- helpers ----

function _hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/** Bytes as text, one char per byte (v1 is US-ASCII; anything else fails validation later). */
function _ascii(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function _asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
