// PROXY protocol decoder and encoders. Known-answer vectors are written out by hand from HAProxy's
// doc/proxy-protocol.txt (section 2.1 for v1 lines, section 2.2 for the v2 layout and TLVs), not produced by the encoders.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalAddress, parseIPv4, parseIPv6 } from "../../src/shared/net/address.ts";
import {
  encodeProxyV1,
  encodeProxyV2,
  MAX_HEADER_BYTES,
  MAX_V1_BYTES,
  PROXY_V2_SIGNATURE,
  ProxyHeaderDecoder,
  ProxyHeaderError,
  type ProxyHeaderInit,
  type ProxyResult,
} from "../../src/shared/net/proxy-protocol.ts";
import { rngFloat as rng } from "../helpers/rng.ts";

/** "50 52 4f" -> bytes; whitespace is ignored. */
function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  assert.equal(t.length % 2, 0, "hex string of odd length");
  return Uint8Array.from(t.match(/../g) ?? [], (h) => parseInt(h, 16));
}
function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
function decodeWhole(bytes: Uint8Array, maxHeaderBytes?: number): ProxyResult | null {
  return new ProxyHeaderDecoder({ maxHeaderBytes }).push(bytes);
}
/** The header part of a result, for deepEqual against an expectation. */
function headerOf(r: ProxyResult | null): unknown {
  assert.ok(r, "expected a complete header");
  const { rest: _rest, headerLength: _len, ...h } = r;
  return h;
}
const isProxyError = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ProxyHeaderError, `expected ProxyHeaderError, got ${String(e)}`);
  assert.equal(e.code, "PROXY_HEADER_INVALID");
  assert.match(e.message, re);
  return true;
};
/**
 * Fed one byte at a time, `bytes` is accepted as a prefix up to `index` and refused at byte `index`, no later;
 * fed whole, it is refused with the same message.
 */
function assertRejectedAt(bytes: Uint8Array, index: number, re: RegExp, maxHeaderBytes?: number): void {
  const d = new ProxyHeaderDecoder({ maxHeaderBytes });
  for (let i = 0; i < index; i++) assert.equal(d.push(bytes.subarray(i, i + 1)), null, `byte ${i} should still be a valid prefix`);
  assert.throws(() => d.push(bytes.subarray(index, index + 1)), isProxyError(re), `byte ${index} should be refused`);
  assert.throws(() => decodeWhole(bytes, maxHeaderBytes), isProxyError(re));
}

// --- Known-answer vectors --------------------------------------------------------------------------------------

interface Vector {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly expect: unknown;
}

const SIG = "0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a";

const VECTORS: readonly Vector[] = [
  {
    // The example line of section 2.1.
    name: 'v1 TCP4 "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\\r\\n"',
    bytes: hex(`50 52 4f 58 59 20 54 43 50 34 20 31 39 32 2e 31 36 38 2e 30 2e 31 20 31 39 32 2e 31 36 38 2e 30 2e 31 31
                20 35 36 33 32 34 20 34 34 33 0d 0a`),
    expect: { kind: "proxy", version: 1, source: { address: "192.168.0.1", port: 56324 }, destination: { address: "192.168.0.11", port: 443 } },
  },
  {
    // Full-form, upper-case IPv6 is allowed and comes out in RFC 5952 form.
    name: 'v1 TCP6 "PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:000A 2001:db8::b 443 7077\\r\\n"',
    bytes: hex(`50 52 4f 58 59 20 54 43 50 36 20 32 30 30 31 3a 30 44 42 38 3a 30 30 30 30 3a 30 30 30 30 3a 30 30 30 30
                3a 30 30 30 30 3a 30 30 30 30 3a 30 30 30 41 20 32 30 30 31 3a 64 62 38 3a 3a 62 20 34 34 33 20 37 30 37
                37 0d 0a`),
    expect: { kind: "proxy", version: 1, source: { address: "2001:db8::a", port: 443 }, destination: { address: "2001:db8::b", port: 7077 } },
  },
  {
    name: 'v1 TCP6 with an IPv4-mapped source "PROXY TCP6 ::ffff:c000:201 2001:db8::1 1024 7077\\r\\n"',
    bytes: hex(`50 52 4f 58 59 20 54 43 50 36 20 3a 3a 66 66 66 66 3a 63 30 30 30 3a 32 30 31 20 32 30 30 31 3a 64 62 38
                3a 3a 31 20 31 30 32 34 20 37 30 37 37 0d 0a`),
    expect: { kind: "proxy", version: 1, source: { address: "192.0.2.1", port: 1024 }, destination: { address: "2001:db8::1", port: 7077 } },
  },
  {
    name: 'v1 UNKNOWN, short form "PROXY UNKNOWN\\r\\n"',
    bytes: hex("50 52 4f 58 59 20 55 4e 4b 4e 4f 57 4e 0d 0a"),
    expect: { kind: "unknown", version: 1 },
  },
  {
    name: "v2 PROXY TCP over IPv4 with NOOP and UNIQUE_ID TLVs",
    bytes: hex(`${SIG} 21 11 00 19
                c0 00 02 01   c6 33 64 0a   dc 05   01 bb
                04 00 03 00 00 00
                05 00 04 de ad be ef`),
    expect: { kind: "proxy", version: 2, source: { address: "192.0.2.1", port: 56325 }, destination: { address: "198.51.100.10", port: 443 } },
  },
  {
    name: "v2 PROXY TCP over IPv6 with an ALPN TLV",
    bytes: hex(`${SIG} 21 21 00 29
                20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
                20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
                04 d2 1b a5
                01 00 02 68 32`),
    expect: { kind: "proxy", version: 2, source: { address: "2001:db8::1", port: 1234 }, destination: { address: "2001:db8::2", port: 7077 } },
  },
  {
    name: "v2 PROXY TCP over IPv6 with an IPv4-mapped source",
    bytes: hex(`${SIG} 21 21 00 24
                00 00 00 00 00 00 00 00 00 00 ff ff c0 00 02 07
                20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
                d4 31 1b a5`),
    expect: { kind: "proxy", version: 2, source: { address: "192.0.2.7", port: 54321 }, destination: { address: "2001:db8::1", port: 7077 } },
  },
  {
    name: "v2 LOCAL, UNSPEC, empty block",
    bytes: hex(`${SIG} 20 00 00 00`),
    expect: { kind: "local", version: 2 },
  },
  {
    // "Receivers MUST always consider this field to skip the appropriate number of bytes" (section 2.2).
    name: "v2 LOCAL carrying an address block and a TLV, which are skipped",
    bytes: hex(`${SIG} 20 11 00 0f   7f 00 00 01  7f 00 00 01  00 50  1b a5   04 00 00`),
    expect: { kind: "local", version: 2 },
  },
  {
    name: "v2 PROXY with UNSPEC family falls back to the connection's address",
    bytes: hex(`${SIG} 21 00 00 00`),
    expect: { kind: "unknown", version: 2 },
  },
  {
    name: "v2 PROXY UDP over IPv4 falls back to UNSPEC",
    bytes: hex(`${SIG} 21 12 00 0c   c0 00 02 01  c0 00 02 02  00 35 00 35`),
    expect: { kind: "unknown", version: 2 },
  },
  {
    name: "v2 PROXY UNIX stream (216-byte block) falls back to UNSPEC",
    bytes: cat(hex(`${SIG} 21 31 00 d8`), new Uint8Array(216)),
    expect: { kind: "unknown", version: 2 },
  },
];

describe("ProxyHeaderDecoder known-answer vectors", () => {
  for (const v of VECTORS) {
    test(`decodes ${v.name}`, () => {
      const r = decodeWhole(v.bytes);
      assert.deepEqual(headerOf(r), v.expect);
      assert.equal(r!.headerLength, v.bytes.length);
      assert.equal(r!.rest.length, 0);
    });
  }

  test("the signature constant is the 12 bytes of section 2.2", () => {
    assert.deepEqual(PROXY_V2_SIGNATURE, hex(SIG));
  });

  test("accepts the longest lines of section 2.1: 56-byte TCP4 and 107-byte UNKNOWN", () => {
    const tcp4 = ascii("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");
    assert.equal(tcp4.length, 56);
    assert.deepEqual(headerOf(decodeWhole(tcp4)), {
      kind: "proxy", version: 1,
      source: { address: "255.255.255.255", port: 65535 }, destination: { address: "255.255.255.255", port: 65535 },
    });
    const f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const unknown = ascii(`PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`);
    assert.equal(unknown.length, MAX_V1_BYTES);
    assert.deepEqual(headerOf(decodeWhole(unknown)), { kind: "unknown", version: 1 });
    const tcp6 = ascii(`PROXY TCP6 ${f} ${f} 65535 65535\r\n`);
    assert.equal(tcp6.length, 104);
    assert.equal(decodeWhole(tcp6)!.kind, "proxy");
  });

  test("ports 0 and 65535 are in range; UNKNOWN ignores whatever precedes the CRLF", () => {
    assert.deepEqual(headerOf(decodeWhole(ascii("PROXY TCP4 0.0.0.0 10.0.0.1 0 65535\r\n"))), {
      kind: "proxy", version: 1, source: { address: "0.0.0.0", port: 0 }, destination: { address: "10.0.0.1", port: 65535 },
    });
    assert.deepEqual(headerOf(decodeWhole(ascii("PROXY UNKNOWN any \x01 thing 99999\r\n"))), { kind: "unknown", version: 1 });
  });

  test("a header of exactly maxHeaderBytes is accepted", () => {
    // 12 address bytes + one NOOP TLV of 505 bytes = 520 = 0x0208; 16 + 520 = 536.
    const bytes = cat(hex(`${SIG} 21 11 02 08  0a 00 00 01  0a 00 00 02  30 39 1b a5  04 01 f9`), new Uint8Array(505));
    assert.equal(bytes.length, MAX_HEADER_BYTES);
    assert.equal(decodeWhole(bytes)!.kind, "proxy");
  });
});

describe("ProxyHeaderDecoder incremental input", () => {
  const trailing = hex("01 02 00 02 7b 7d"); // a wire-protocol frame that follows the header

  test("every vector split at every byte boundary, then followed by frame bytes", () => {
    for (const v of VECTORS) {
      const stream = cat(v.bytes, trailing);
      for (let cut = 0; cut <= stream.length; cut++) {
        const d = new ProxyHeaderDecoder();
        let r = d.push(stream.subarray(0, cut));
        let after: Uint8Array;
        if (r === null) {
          assert.ok(cut < v.bytes.length, `${v.name}: nothing returned although the cut at ${cut} holds the whole header`);
          assert.equal(d.buffered, cut);
          r = d.push(stream.subarray(cut));
          after = r!.rest;
        } else {
          assert.ok(cut >= v.bytes.length, `${v.name}: a result at cut ${cut} before the header ended`);
          after = cat(r.rest, stream.subarray(cut)); // the caller hands later chunks to the frame decoder directly
        }
        assert.deepEqual(headerOf(r), v.expect, `${v.name}, cut at ${cut}`);
        assert.equal(r!.headerLength, v.bytes.length);
        assert.deepEqual(after, trailing, `${v.name}, cut at ${cut}: bytes after the header`);
      }
    }
  });

  test("every vector fed one byte at a time returns null until its last byte", () => {
    for (const v of VECTORS) {
      const d = new ProxyHeaderDecoder();
      for (let i = 0; i < v.bytes.length - 1; i++) assert.equal(d.push(v.bytes.subarray(i, i + 1)), null, `${v.name} byte ${i}`);
      assert.deepEqual(headerOf(d.push(v.bytes.subarray(v.bytes.length - 1))), v.expect);
    }
  });

  test("rest carries every byte after the header, also when the chunk is much larger than the cap", () => {
    const body = new Uint8Array(10_000).map((_, i) => i & 255);
    for (const v of VECTORS) {
      const r = decodeWhole(cat(v.bytes, body));
      assert.deepEqual(r!.rest, body, v.name);
    }
  });

  test("rest is a copy: reusing the chunk afterwards does not change it", () => {
    const chunk = cat(VECTORS[0]!.bytes, trailing);
    const r = decodeWhole(chunk)!;
    chunk.fill(0);
    assert.deepEqual(r.rest, trailing);
  });

  test("empty chunks are harmless", () => {
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(new Uint8Array(0)), null);
    assert.equal(d.buffered, 0);
    assert.equal(d.push(VECTORS[0]!.bytes.subarray(0, 3)), null);
    assert.equal(d.push(new Uint8Array(0)), null);
    assert.equal(d.push(VECTORS[0]!.bytes.subarray(3))!.kind, "proxy");
  });

  test("after a result, push() is a programming error; after a rejection, it rethrows the same error", () => {
    const d = new ProxyHeaderDecoder();
    d.push(VECTORS[0]!.bytes);
    assert.throws(() => d.push(trailing), (e: unknown) => e instanceof Error && !(e instanceof ProxyHeaderError) && /already decoded/.test(e.message));
    const bad = new ProxyHeaderDecoder();
    let first: unknown;
    try { bad.push(ascii("GET /")); } catch (e) { first = e; }
    assert.ok(first instanceof ProxyHeaderError);
    assert.throws(() => bad.push(VECTORS[0]!.bytes), (e: unknown) => e === first);
  });

  test("the constructor checks maxHeaderBytes", () => {
    for (const bad of [106, 65552, 200.5, Number.NaN]) {
      assert.throws(() => new ProxyHeaderDecoder({ maxHeaderBytes: bad }), RangeError, String(bad));
    }
    assert.equal(new ProxyHeaderDecoder().maxHeaderBytes, 536);
    assert.equal(new ProxyHeaderDecoder({ maxHeaderBytes: 107 }).maxHeaderBytes, 107);
  });
});

describe("ProxyHeaderDecoder rejects malformed headers at the first byte that proves them wrong", () => {
  const v1 = (s: string, at: number, re: RegExp) => ({ bytes: ascii(s), at, re, label: JSON.stringify(s) });
  const v2 = (h: string, at: number, re: RegExp) => ({ bytes: hex(`${SIG} ${h}`), at, re, label: h });
  const base = "PROXY TCP4 192.0.2.1 192.0.2.2 ";
  const cases = [
    // neither version
    v1("GET / HTTP/1.1\r\n", 0, /first byte 0x47 is neither "P" \(v1\) nor 0x0d \(v2\)/),
    { bytes: hex("16 03 01 02 00 01 00 01 fc 03 03"), at: 0, re: /first byte 0x16/, label: "TLS ClientHello" },
    { bytes: hex("01 02 00 02 7b 7d"), at: 0, re: /first byte 0x01/, label: "a wisdom frame without a PROXY header" },
    // v1 signature and protocol token
    v1("PROXZ TCP4", 4, /expected "PROXY " but byte 4 is 0x5a/),
    v1("PROXY\r\n", 5, /byte 5 is 0x0d/),
    v1("PROXY UDP4 1.2.3.4", 7, /unknown protocol "UD/),
    v1("PROXY TCP5 1.2.3.4", 9, /unknown protocol "TCP5"/),
    v1("PROXY TCP44 1.2.3.4", 10, /unknown protocol "TCP44"/),
    v1("PROXY  TCP4", 6, /unknown protocol ""/),
    v1("PROXY UNKNOWNX\r\n", 13, /unknown protocol "UNKNOWNX"/),
    v1("PROXY TCP4\r\n", 10, /TCP4 line ends before its addresses/),
    // line ending and length
    v1(`${base}1 2\n`, 34, /bare LF at byte 34/),
    v1(`${base}1 2\rX`, 35, /CR at byte 34 is followed by 0x58, not LF/),
    v1("PROXY UNKNOWN\n", 13, /bare LF/),
    v1(`${base}12345 12345 ${"1".repeat(30)}`, 54, /no CRLF within the first 56 bytes of a TCP4 line/),
    v1(`PROXY UNKNOWN ${"a".repeat(200)}`, 105, /no CRLF within the first 107 bytes of a UNKNOWN line/),
    v1(`PROXY TCP6 ${"1:".repeat(60)}`, 105, /no CRLF within the first 107 bytes of a TCP6 line/),
    // characters that cannot occur in a TCP4/TCP6 line
    v1("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", 18, /unexpected byte 0x25 at 18 in a TCP6 line/),
    v1("PROXY TCP6 [::1] ::1 1 2\r\n", 11, /unexpected byte 0x5b/),
    v1(`${base}+80 443\r\n`, 31, /unexpected byte 0x2b at 31/),
    v1(`${base}-1 443\r\n`, 31, /unexpected byte 0x2d/),
    v1(`${base}0x50 443\r\n`, 32, /unexpected byte 0x78/),
    v1("PROXY TCP4 192.0.2.1\t192.0.2.2 1 2\r\n", 20, /unexpected byte 0x09/),
    // fields, decided once the CRLF is there
    v1(`${base}1\r\n`, 33, /TCP4 line has 5 fields separated by single spaces, expected 6/),
    v1(`${base}1 2 \r\n`, 36, /has 7 fields/),
    v1("PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n", 36, /has 7 fields/),
    v1(`${base}70000 443\r\n`, 41, /PROXY v1 header: source port 70000 out of range 0\.\.65535/),
    v1(`${base}443 65536\r\n`, 41, /destination port 65536 out of range/),
    v1(`${base}080 443\r\n`, 39, /source port "080" has a leading zero/),
    v1(`${base}00 443\r\n`, 38, /source port "00" has a leading zero/),
    v1(`${base}123456 443\r\n`, 42, /source port "123456" has more than 5 digits/),
    v1(`${base}ab 443\r\n`, 38, /source port "ab" is not a decimal integer/),
    v1("PROXY TCP4 256.0.2.1 192.0.2.2 1 2\r\n", 35, /source address "256\.0\.2\.1" is not a valid IPv4 address/),
    v1("PROXY TCP4 192.0.2.1 192.0.02.2 1 2\r\n", 36, /destination address "192\.0\.02\.2" is not a valid IPv4/),
    v1("PROXY TCP4 192.0.2 192.0.2.2 1 2\r\n", 33, /source address "192\.0\.2" is not a valid IPv4/),
    v1("PROXY TCP4 ::1 192.0.2.2 1 2\r\n", 29, /TCP4 line carries IPv6 source address "::1"/),
    v1("PROXY TCP4 192.0.2.1 ::ffff:c000:202 1 2\r\n", 41, /TCP4 line carries IPv6 destination address/),
    v1("PROXY TCP6 192.0.2.1 ::1 1 2\r\n", 29, /TCP6 line carries IPv4 source address "192\.0\.2\.1"/),
    v1("PROXY TCP6 1::2::3 ::1 1 2\r\n", 27, /source address "1::2::3" is not a valid IPv6 address/),
    v1("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", 37, /not a valid IPv6/),
    v1("PROXY TCP6 ::1 12345::1 1 2\r\n", 28, /destination address "12345::1" is not a valid IPv6/),
    v1("PROXY TCP6 ::1 . 1 2\r\n", 21, /destination address "\." is not a valid IPv6/),
    // v2 signature, version, command, family, protocol
    { bytes: hex("0d 0a 0d 0a 00 0d 0b"), at: 6, re: /signature mismatch at byte 6 \(0x0b, expected 0x0a\)/, label: "sig" },
    { bytes: hex("0d 0d"), at: 1, re: /signature mismatch at byte 1/, label: "CR CR" },
    { bytes: hex("0d 0a 0d 0a 00 0d 0a 51 55 49 54 0d"), at: 11, re: /signature mismatch at byte 11/, label: "sig end" },
    v2("11 11 00 0c", 12, /unsupported version 1 in byte 12 \(0x11\)/),
    v2("31 11 00 0c", 12, /unsupported version 3/),
    v2("01 11 00 0c", 12, /unsupported version 0/),
    v2("22 11 00 0c", 12, /unknown command 2 \(0 LOCAL, 1 PROXY\)/),
    v2("2f 11 00 0c", 12, /unknown command 15/),
    v2("21 41 00 0c", 13, /unknown address family 4 in byte 13 \(0x41\)/),
    v2("21 13 00 0c", 13, /unknown transport protocol 3/),
    // v2 length
    v2("21 11 02 09", 15, /length 16\+521 = 537 bytes exceeds limit 536/),
    v2("21 11 ff ff", 15, /length 16\+65535 = 65551 bytes exceeds limit 536/),
    v2("20 00 02 09", 15, /exceeds limit 536/), // LOCAL is capped too
    v2("21 11 00 08", 15, /address block of 8 bytes is shorter than the 12 that STREAM over IPv4 needs/),
    v2("21 21 00 0c", 15, /address block of 12 bytes is shorter than the 36 that STREAM over IPv6 needs/),
    v2("21 22 00 23", 15, /shorter than the 36 that DGRAM over IPv6 needs/),
    v2("21 31 00 0c", 15, /shorter than the 216 that STREAM over UNIX needs/),
    // v2 TLV framing
    v2("21 11 00 0e  c0 00 02 01 c0 00 02 02 00 50 00 51  04 00", 29, /2 stray bytes at offset 28, too short for a TLV/),
    v2("21 11 00 12  c0 00 02 01 c0 00 02 02 00 50 00 51  04 00 0a 00 00 00", 33, /TLV type 0x04 at offset 28 announces 10 bytes but only 3 remain/),
    v2("21 11 00 12  c0 00 02 01 c0 00 02 02 00 50 00 51  04 00 01 00  05 00", 33, /2 stray bytes at offset 32/),
  ];
  for (const c of cases) {
    test(`refuses ${c.label} at byte ${c.at}`, () => assertRejectedAt(c.bytes, c.at, c.re));
  }

  test("a lower cap refuses a v2 length from its header and bounds v1 the same way", () => {
    assertRejectedAt(hex(`${SIG} 21 21 00 5c`), 15, /16\+92 = 108 bytes exceeds limit 107/, 107);
    const ok = cat(hex(`${SIG} 21 21 00 5b`), new Uint8Array(36), hex("04 00 34"), new Uint8Array(52));
    assert.equal(ok.length, 107);
    assert.equal(decodeWhole(ok, 107)!.kind, "proxy");
  });

  test("LOCAL ignores the family byte, even values PROXY would refuse", () => {
    assert.deepEqual(headerOf(decodeWhole(hex(`${SIG} 20 ff 00 00`))), { kind: "local", version: 2 });
  });

  test("a CR at the end of a chunk waits for the next byte", () => {
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(ascii("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r")), null);
    assert.throws(() => d.push(ascii("\r")), isProxyError(/CR at byte 34 is followed by 0x0d/));
  });
});

describe("ProxyHeaderDecoder random input", () => {
  /** Every result must be well formed and account for every byte pushed. */
  function checkResult(r: ProxyResult, pushed: number, cap: number): void {
    assert.ok(r.version === 1 || r.version === 2);
    assert.ok(r.headerLength > 0 && r.headerLength <= cap);
    assert.equal(r.headerLength + r.rest.length, pushed);
    if (r.kind === "proxy") {
      for (const ep of [r.source, r.destination]) {
        assert.ok(parseIPv4(ep.address) || parseIPv6(ep.address), `bad address ${ep.address}`);
        assert.equal(canonicalAddress(ep.address), ep.address);
        assert.ok(Number.isInteger(ep.port) && ep.port >= 0 && ep.port <= 65535);
      }
    } else {
      assert.ok(r.kind === "unknown" || (r.kind === "local" && r.version === 2));
    }
  }

  test("10000 random and mutated blobs: a valid result, null within the cap, or ProxyHeaderError; never more than the cap buffered", () => {
    const r = rng(20240607);
    const pick = <T>(xs: ArrayLike<T>): T => xs[Math.floor(r() * xs.length)]!;
    const alphabet = ascii("TCP46UNKOW0123456789abcdefABCDEF.:  \r\n");
    const seeds = VECTORS.map((v) => v.bytes);
    const outcomes = { result: 0, pending: 0, rejected: 0 };
    for (let i = 0; i < 10_000; i++) {
      const cap = pick([107, 200, MAX_HEADER_BYTES, 1000]);
      let blob: Uint8Array;
      const mode = i % 4;
      if (mode === 0) {
        blob = new Uint8Array(Math.floor(r() * 1200)).map(() => Math.floor(r() * 256));
      } else if (mode === 1) {
        // v1-looking: "PROXY " then bytes from the v1 alphabet
        blob = cat(ascii("PROXY "), new Uint8Array(Math.floor(r() * 150)).map(() => pick(alphabet)));
      } else if (mode === 2) {
        // v2-looking: signature, mostly valid ver/cmd and family, any length, random block
        const head = [pick([0x20, 0x21, 0x21, 0x22, 0x11]), pick([0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x41, 0x13]), Math.floor(r() * 3), Math.floor(r() * 256)];
        blob = cat(PROXY_V2_SIGNATURE, Uint8Array.from(head), new Uint8Array(Math.floor(r() * 1200)).map(() => Math.floor(r() * 256)));
      } else {
        // a valid header, mutated: a byte changed, cut short, or followed by junk
        const s = pick(seeds);
        blob = cat(s, new Uint8Array(Math.floor(r() * 40)).map(() => Math.floor(r() * 256)));
        const k = Math.floor(r() * 3);
        if (k === 0) blob[Math.floor(r() * s.length)] = Math.floor(r() * 256);
        else if (k === 1) blob = blob.subarray(0, Math.floor(r() * s.length));
      }
      const d = new ProxyHeaderDecoder({ maxHeaderBytes: cap });
      let off = 0;
      try {
        let res: ProxyResult | null = null;
        while (off < blob.length && res === null) {
          const step = 1 + Math.floor(r() * (r() < 0.5 ? 8 : 400));
          res = d.push(blob.subarray(off, off + step));
          off = Math.min(off + step, blob.length);
          assert.ok(d.buffered <= cap, `blob ${i}: ${d.buffered} bytes buffered, cap ${cap}`);
        }
        if (res) {
          checkResult(res, off, cap);
          outcomes.result++;
        } else {
          // Still waiting: only possible while fewer bytes than the cap have come, all of them buffered.
          assert.equal(d.buffered, blob.length);
          assert.ok(blob.length < cap, `blob ${i}: ${blob.length} bytes pending, cap ${cap}`);
          outcomes.pending++;
        }
      } catch (e) {
        assert.ok(e instanceof ProxyHeaderError, `blob ${i}: threw ${String(e)}`);
        outcomes.rejected++;
      }
    }
    // The generators must reach every outcome, or the test proves little.
    assert.ok(outcomes.result > 500 && outcomes.pending > 100 && outcomes.rejected > 3000, JSON.stringify(outcomes));
  });

  test("an endless stream of header-shaped bytes is refused by the cap, never buffered", () => {
    for (const prefix of [ascii("PROXY UNKNOWN "), ascii("PROXY TCP6 "), hex(`${SIG} 21 11 ff ff`)]) {
      const d = new ProxyHeaderDecoder();
      assert.throws(() => {
        for (let i = 0; i < 100_000; i++) {
          d.push(i === 0 ? prefix : ascii("1"));
          assert.ok(d.buffered <= MAX_HEADER_BYTES);
        }
      }, ProxyHeaderError);
    }
  });
});

describe("encodeProxyV1() / encodeProxyV2()", () => {
  test("encode the section 2.1 example and the hand-written v2 vectors byte for byte", () => {
    assert.deepEqual(encodeProxyV1({ kind: "proxy", source: { address: "192.168.0.1", port: 56324 }, destination: { address: "192.168.0.11", port: 443 } }), VECTORS[0]!.bytes);
    assert.deepEqual(encodeProxyV1({ kind: "unknown" }), hex("50 52 4f 58 59 20 55 4e 4b 4e 4f 57 4e 0d 0a"));
    assert.deepEqual(
      encodeProxyV2(
        { kind: "proxy", source: { address: "192.0.2.1", port: 56325 }, destination: { address: "198.51.100.10", port: 443 } },
        [{ type: 0x04, value: hex("00 00 00") }, { type: 0x05, value: hex("de ad be ef") }],
      ),
      VECTORS[4]!.bytes,
    );
    assert.deepEqual(
      encodeProxyV2({ kind: "proxy", source: { address: "2001:db8::1", port: 1234 }, destination: { address: "2001:DB8:0::2", port: 7077 } }, [{ type: 0x01, value: ascii("h2") }]),
      VECTORS[5]!.bytes,
    );
    assert.deepEqual(encodeProxyV2({ kind: "local" }), hex(`${SIG} 20 00 00 00`));
    assert.deepEqual(encodeProxyV2({ kind: "unknown" }), hex(`${SIG} 21 00 00 00`));
  });

  test("mixed families are sent as TCP6 with the IPv4 end mapped, and decode back to IPv4", () => {
    const h = { kind: "proxy", source: { address: "192.0.2.9", port: 40000 }, destination: { address: "::1", port: 7077 } } as const;
    const line = encodeProxyV1(h);
    assert.equal(String.fromCharCode(...line), "PROXY TCP6 ::ffff:c000:209 ::1 40000 7077\r\n");
    assert.deepEqual(headerOf(decodeWhole(line)), { ...h, version: 1 });
    const bin = encodeProxyV2(h);
    assert.equal(bin[13], 0x21);
    assert.deepEqual(bin.subarray(16, 32), hex("00 00 00 00 00 00 00 00 00 00 ff ff c0 00 02 09"));
    assert.deepEqual(headerOf(decodeWhole(bin)), { ...h, version: 2 });
  });

  test("IPv4-mapped IPv6 on both ends is sent as TCP4", () => {
    const line = encodeProxyV1({ kind: "proxy", source: { address: "::ffff:10.0.0.1", port: 1 }, destination: { address: "::ffff:10.0.0.2", port: 2 } });
    assert.equal(String.fromCharCode(...line), "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n");
  });

  test("refuse bad ports, non-IP addresses, LOCAL in v1 and oversized TLVs", () => {
    const ep = { address: "192.0.2.1", port: 1 };
    assert.throws(() => encodeProxyV1({ kind: "proxy", source: { ...ep, port: 70000 }, destination: ep }), /source port 70000 is not an integer in 0\.\.65535/);
    assert.throws(() => encodeProxyV2({ kind: "proxy", source: ep, destination: { ...ep, port: -1 } }), RangeError);
    assert.throws(() => encodeProxyV2({ kind: "proxy", source: ep, destination: { ...ep, port: 1.5 } }), RangeError);
    assert.throws(() => encodeProxyV1({ kind: "proxy", source: { address: "example.com", port: 1 }, destination: ep }), /source address "example\.com" is not an IP address/);
    assert.throws(() => encodeProxyV1({ kind: "local" }), /exists only in v2/);
    assert.throws(() => encodeProxyV2({ kind: "local" }, [{ type: 256, value: new Uint8Array(0) }]), /type 256 is not a byte/);
    assert.throws(() => encodeProxyV2({ kind: "local" }, [{ type: 4, value: new Uint8Array(65536) }]), /exceeds 65535/);
    assert.throws(() => encodeProxyV2({ kind: "local" }, [{ type: 4, value: new Uint8Array(40000) }, { type: 4, value: new Uint8Array(40000) }]), /block of 80006 bytes/);
  });

  test("round trip: random endpoints and TLVs through both encoders and the decoder (fast-check)", () => {
    const endpoint = fc.record({ address: fc.oneof(fc.ipV4(), fc.ipV6()), port: fc.integer({ min: 0, max: 65535 }) });
    const tlv = fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 100 }) });
    const header = fc.oneof(
      fc.record({ kind: fc.constant("proxy" as const), source: endpoint, destination: endpoint }),
      fc.constant({ kind: "unknown" as const }),
      fc.constant({ kind: "local" as const }),
    );
    fc.assert(
      fc.property(header, fc.array(tlv, { maxLength: 4 }), fc.uint8Array({ maxLength: 20 }), fc.nat(), (h: ProxyHeaderInit, tlvs, after, cutSeed) => {
        const expected = h.kind === "proxy"
          ? {
            kind: "proxy",
            source: { address: canonicalAddress(h.source.address), port: h.source.port },
            destination: { address: canonicalAddress(h.destination.address), port: h.destination.port },
          }
          : { kind: h.kind };
        const encodings: [1 | 2, Uint8Array][] = [[2, encodeProxyV2(h, tlvs)]];
        if (h.kind !== "local") encodings.push([1, encodeProxyV1(h)]);
        for (const [version, bytes] of encodings) {
          const stream = cat(bytes, after);
          const cut = cutSeed % (bytes.length + 1);
          const d = new ProxyHeaderDecoder();
          let r = d.push(stream.subarray(0, cut));
          let following: Uint8Array;
          if (r) following = cat(r.rest, stream.subarray(cut));
          else {
            r = d.push(stream.subarray(cut));
            following = r!.rest;
          }
          assert.deepEqual(headerOf(r), { ...expected, version });
          assert.equal(r!.headerLength, bytes.length);
          assert.deepEqual(following, after);
        }
      }),
      { numRuns: 2000, seed: 42 },
    );
  });
});
