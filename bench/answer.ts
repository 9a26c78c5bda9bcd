/**
 * The load generator's answer to a Challenge, written like a lean native client: no JSON parse,
 * no strings, one allocation (the Solution frame).
 *
 * It reads the difficulty and the tag straight from the challenge's JSON bytes, hashes with the
 * solver's scalar kernel (midstate once, one compression per attempt) over a reused prefix, and
 * sends the challenge back exactly as received (its raw JSON bytes) with the counter. The result is
 * the frame `encodeSolution` would build, as tests/unit/bench-answer.test.ts checks.
 *
 * Measured in the handshake benchmark's generator process (Bun): parsing with TextDecoder +
 * JSON.parse + hexToBytes and hashing through sha256-fast cost about 10 us of user CPU per
 * handshake there, several times the same code's cost in a tight loop (allocation and cache
 * pressure next to thousands of sockets).
 * @module
 */
import { buildPrefix, writeCounter } from "../src/shared/pow/hashcash.ts";
import { createJsKernel } from "../src/shared/pow/solver/kernel-js.ts";
import { HEADER_BYTES, MAX_PAYLOAD, MessageType, PROTOCOL_VERSION } from "../src/shared/protocol/frame.ts";

const te = new TextEncoder();
const _kernel = createJsKernel();
const _prefix = buildPrefix(0, new Uint8Array(32));
const _counter = new Uint8Array(8);
const _HEX = te.encode("0123456789abcdef");
const _HEAD = te.encode('{"challenge":');
const _MID = te.encode(',"counter":"');
const _KEY_BITS = te.encode('"bits":');
const _KEY_MAC = te.encode('"mac":"');

/**
 * Index just past the first `key` in `bytes`, or -1. A key of the challenge's own object cannot be
 * matched inside a string value: JSON escapes the `"` that starts it there.
 */
function _after(bytes: Uint8Array, key: Uint8Array): number {
  const k0 = key[0]!, kl = key.length;
  outer: for (let i = 0, end = bytes.length - kl; i <= end; i++) {
    if (bytes[i] !== k0) continue;
    for (let j = 1; j < kl; j++) if (bytes[i + j] !== key[j]) continue outer;
    return i + kl;
  }
  return -1;
}

/** Value of one lowercase hex digit, or -1. */
function _hex(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
}

/** The Solution frame answering one Challenge payload (its JSON bytes). Throws on a challenge it cannot read. */
export function answerChallenge(payload: Uint8Array): Uint8Array {
  let i = _after(payload, _KEY_BITS);
  if (i < 0) throw new Error("Challenge has no bits");
  let bits = 0, digits = 0;
  for (let c; (c = payload[i]!) >= 48 && c <= 57 && digits < 3; i++, digits++) bits = bits * 10 + c - 48;
  if (digits === 0 || bits > 32) throw new RangeError("Challenge difficulty is not an integer in 0..32");
  const m = _after(payload, _KEY_MAC);
  if (m < 0 || m + 65 > payload.length || payload[m + 64] !== 34) throw new Error("Challenge has no 64-digit mac");
  _prefix[16] = bits;
  for (let k = 0; k < 32; k++) {
    const hi = _hex(payload[m + 2 * k]!), lo = _hex(payload[m + 2 * k + 1]!);
    if (hi < 0 || lo < 0) throw new Error("Challenge mac is not lowercase hex");
    _prefix[32 + k] = (hi << 4) | lo;
  }
  // 2^30 low words (the kernel's largest range) per high word, until a counter meets the difficulty.
  let found = -1;
  for (let hi = 0; found < 0; hi++) {
    const r = _kernel.search(_prefix, bits, hi, 0, 2 ** 30);
    if (r.found >= 0) found = hi * 2 ** 32 + r.found;
  }
  writeCounter(_counter, 0, found);
  const n = _HEAD.length + payload.length + _MID.length + 16 + 2;
  if (n > MAX_PAYLOAD) throw new Error("Challenge too long to answer");
  const out = new Uint8Array(HEADER_BYTES + n);
  out[0] = PROTOCOL_VERSION; out[1] = MessageType.Solution; out[2] = n >>> 8; out[3] = n & 255;
  let o = HEADER_BYTES;
  out.set(_HEAD, o); o += _HEAD.length;
  out.set(payload, o); o += payload.length;
  out.set(_MID, o); o += _MID.length;
  for (let k = 0; k < 8; k++) (out[o++] = _HEX[_counter[k]! >>> 4]!), (out[o++] = _HEX[_counter[k]! & 15]!);
  out[o++] = 34; // "
  out[o] = 125; // }
  return out;
}
