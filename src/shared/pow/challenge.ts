/**
 * Stateless signed challenges, PoW v1 (docs/PROTOCOL.md, "Challenge" and "Verification").
 *
 * The server keeps nothing per issued challenge: every field is signed with HMAC-SHA256 over the
 * canonical encoding below, and the tag itself is the puzzle's seed (see hashcash.ts).
 *
 *   u8 version | u8 len, alg | u8 bits | u64 BE iat ms | u64 BE exp ms | u8 len, nonce | u8 len, addr | u8 len, kid
 *
 * Pure functions: the clock and randomness are handed in.
 * @module
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import type { ErrorCode } from "../protocol/errors.ts";
import { ALG_SHA256_HASHCASH, type Challenge, type Solution } from "../protocol/messages.ts";
import { buildPrefix, MAX_BITS } from "./hashcash.ts";
import { workFirstWord } from "./sha256-fast.ts";
import { type KeyRing, timingSafeEqual } from "./keys.ts";

export const CHALLENGE_VERSION = 1;
export const NONCE_BYTES = 16;

export interface MintParams {
  readonly bits: number;
  readonly nowMs: number;
  readonly ttlMs: number;
  /** Canonical client address (see canonicalAddress). */
  readonly addr: string;
  /** 16 random bytes. */
  readonly nonce: Uint8Array;
  readonly windowMs?: number;
}

const enc = new TextEncoder();

function putU64(out: Uint8Array, off: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n >>> 0;
  out[off] = hi >>> 24; out[off + 1] = (hi >>> 16) & 255; out[off + 2] = (hi >>> 8) & 255; out[off + 3] = hi & 255;
  out[off + 4] = lo >>> 24; out[off + 5] = (lo >>> 16) & 255; out[off + 6] = (lo >>> 8) & 255; out[off + 7] = lo & 255;
}

export interface SignedFields {
  v: number;
  alg: string;
  bits: number;
  iat: number;
  exp: number;
  nonce: Uint8Array;
  addr: string;
  kid: string;
}

/** Longest signed encoding: fixed fields plus three strings of at most 255 UTF-8 bytes and the nonce. */
export const MAX_SIGNED_BYTES = 1 + 1 + 255 + 1 + 8 + 8 + 1 + 255 + 1 + 255 + 1 + 255;

/** Write a length-prefixed string at `o`; ASCII without allocating. Returns the new offset, or -1 if over 255 bytes. */
function putString(out: Uint8Array, o: number, s: string): number {
  const n = s.length;
  let ascii = n <= 255;
  for (let i = 0; ascii && i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) ascii = false;
    else out[o + 1 + i] = c;
  }
  if (ascii) {
    out[o] = n;
    return o + 1 + n;
  }
  const bytes = enc.encode(s);
  if (bytes.length > 255) return -1;
  out[o] = bytes.length;
  out.set(bytes, o + 1);
  return o + 1 + bytes.length;
}

/** Write the canonical signed encoding into `out` (at least MAX_SIGNED_BYTES long); returns its length. */
export function writeSignedBytes(out: Uint8Array, c: SignedFields): number {
  let o = 0;
  out[o++] = c.v;
  o = putString(out, o, c.alg);
  if (o < 0) throw new RangeError("Cannot encode challenge: alg is over 255 bytes");
  out[o++] = c.bits;
  putU64(out, o, c.iat); o += 8;
  putU64(out, o, c.exp); o += 8;
  if (c.nonce.length > 255) throw new RangeError("Cannot encode challenge: nonce is over 255 bytes");
  out[o++] = c.nonce.length; out.set(c.nonce, o); o += c.nonce.length;
  o = putString(out, o, c.addr);
  if (o < 0) throw new RangeError("Cannot encode challenge: addr is over 255 bytes");
  o = putString(out, o, c.kid);
  if (o < 0) throw new RangeError("Cannot encode challenge: kid is over 255 bytes");
  return o;
}

/** The canonical byte string that the HMAC covers. */
export function signedBytes(c: SignedFields): Uint8Array {
  const buf = new Uint8Array(MAX_SIGNED_BYTES);
  return buf.slice(0, writeSignedBytes(buf, c));
}

/** Issue a challenge signed with the ring's signing key. */
export function mintChallenge(ring: KeyRing, p: MintParams): Challenge {
  if (!Number.isInteger(p.bits) || p.bits < 0 || p.bits > MAX_BITS) throw new RangeError(`Cannot mint: difficulty ${p.bits} outside 0..${MAX_BITS}`);
  if (p.nonce.length !== NONCE_BYTES) throw new RangeError(`Cannot mint: nonce is ${p.nonce.length} bytes, expected ${NONCE_BYTES}`);
  const iat = Math.floor(p.nowMs), exp = iat + p.ttlMs, kid = ring.signingId;
  const len = writeSignedBytes(_mintSigned, _fields(CHALLENGE_VERSION, ALG_SHA256_HASHCASH, p.bits, iat, exp, p.nonce, p.addr, kid));
  ring.tagInto(kid, _mintSigned, _mintMac, len);
  const c: Challenge = {
    v: 1, alg: ALG_SHA256_HASHCASH, bits: p.bits, iat, exp,
    nonce: bytesToHex(p.nonce), addr: p.addr, kid, mac: bytesToHex(_mintMac),
  };
  if (p.windowMs !== undefined) c.window_ms = Math.max(0, Math.floor(p.windowMs));
  return c;
}

/** The 64-byte hashcash prefix a client must extend (hashcash.ts). */
export function challengePrefix(c: Challenge): Uint8Array {
  return buildPrefix(c.bits, hexToBytes(c.mac));
}

export interface VerifyContext {
  readonly nowMs: number;
  /** Canonical address of the connection presenting the proof. */
  readonly addr: string;
  /** How far in the future an issue time may be (clock skew between instances). */
  readonly skewMs: number;
  /** Longest lifetime the server ever signs; a longer one is refused as forged. */
  readonly maxTtlMs: number;
}

export type Verdict =
  /** `work`: the digest's leading zero bits (at least `bits`; a client may solve more, the guard's effort). */
  | { readonly ok: true; readonly spentKey: string; readonly expiresAtMs: number; readonly bits: number; readonly work: number }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

// Scratch for mint and verify: per-handshake garbage is work for the runtime's GC threads, which
// compete with the gate threads for cores (bench/shared-tables.ts). Safe because both are synchronous
// and nothing here is handed out: the Challenge carries hex copies, the Verdict a substring.
const _mintSigned = new Uint8Array(MAX_SIGNED_BYTES);
const _mintMac = new Uint8Array(32);
/** One SignedFields object refilled per call instead of a fresh one (it holds the last call's strings until the next). */
const _signedFields: SignedFields = { v: 0, alg: "", bits: 0, iat: 0, exp: 0, nonce: _mintMac, addr: "", kid: "" };
function _fields(v: number, alg: string, bits: number, iat: number, exp: number, nonce: Uint8Array, addr: string, kid: string): SignedFields {
  const f = _signedFields;
  f.v = v; f.alg = alg; f.bits = bits; f.iat = iat; f.exp = exp; f.nonce = nonce; f.addr = addr; f.kid = kid;
  return f;
}
const _given = new Uint8Array(32);
const _expected = new Uint8Array(32);
const _nonce = new Uint8Array(NONCE_BYTES);
const _counter = new Uint8Array(8);
const _signed = new Uint8Array(MAX_SIGNED_BYTES);
const _prefix = buildPrefix(0, new Uint8Array(32));

/** Decode `n` bytes of lowercase hex (already validated by the message schema) into `out` at `off`. */
function hexInto(hex: string, out: Uint8Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const hi = hex.charCodeAt(2 * i), lo = hex.charCodeAt(2 * i + 1);
    out[off + i] = ((hi > 57 ? hi - 87 : hi - 48) << 4) | (lo > 57 ? lo - 87 : lo - 48);
  }
}

const fail = (code: ErrorCode, message: string): Verdict => ({ ok: false, code, message });

/**
 * Check a decoded Solution, in the order: bounds, expiry, HMAC (constant time), address, one SHA-256.
 * Replay is the caller's last step: on `ok`, mark `spentKey` spent until `expiresAtMs`, atomically.
 */
export function verifySolution(ring: KeyRing, s: Solution, ctx: VerifyContext): Verdict {
  const c = s.challenge;
  if (c.alg !== ALG_SHA256_HASHCASH) return fail("UNSUPPORTED_PUZZLE", `Unsupported algorithm ${JSON.stringify(c.alg)}`);
  if (c.bits > MAX_BITS) return fail("UNSUPPORTED_PUZZLE", `Difficulty ${c.bits} is above ${MAX_BITS}`);
  if (c.exp <= c.iat || c.exp - c.iat > ctx.maxTtlMs) return fail("BAD_SIGNATURE", "Challenge lifetime is not one this server signs");
  if (ctx.nowMs >= c.exp) return fail("EXPIRED", `Challenge expired ${ctx.nowMs - c.exp} ms ago`);
  if (c.iat > ctx.nowMs + ctx.skewMs) return fail("NOT_YET_VALID", `Challenge issued ${c.iat - ctx.nowMs} ms in the future`);
  if (!ring.has(c.kid)) return fail("UNKNOWN_KEY", `Unknown key id ${JSON.stringify(c.kid)}`);
  // Scratch buffers instead of fresh arrays: allocation dominated this path on V8 (docs/POW.md).
  hexInto(c.mac, _given, 0, 32);
  hexInto(c.nonce, _nonce, 0, 16);
  let len: number;
  try {
    len = writeSignedBytes(_signed, _fields(c.v, c.alg, c.bits, c.iat, c.exp, _nonce, c.addr, c.kid));
  } catch {
    return fail("BAD_SIGNATURE", "Challenge fields cannot be encoded");
  }
  ring.tagInto(c.kid, _signed, _expected, len);
  if (!timingSafeEqual(_given, _expected)) return fail("BAD_SIGNATURE", "Challenge signature does not match its fields");
  if (c.addr !== ctx.addr) return fail("WRONG_ADDRESS", `Challenge was issued to another address`);
  _prefix[16] = c.bits;
  _prefix.set(_given, 32);
  hexInto(s.counter, _counter, 0, 8);
  // bits <= 32, so the first digest word decides (hashcash.ts).
  const got = Math.clz32(workFirstWord(_prefix, _counter));
  if (got < c.bits) return fail("INSUFFICIENT_WORK", `Proof has ${got} leading zero bits, ${c.bits} required`);
  return { ok: true, spentKey: c.mac.slice(0, 32), expiresAtMs: c.exp, bits: c.bits, work: got };
}
