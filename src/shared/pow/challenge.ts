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
import { buildPrefix, leadingZeroBits, MAX_BITS, workDigest } from "./hashcash.ts";
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

/** The canonical byte string that the HMAC covers. */
export function signedBytes(c: { v: number; alg: string; bits: number; iat: number; exp: number; nonce: Uint8Array; addr: string; kid: string }): Uint8Array {
  const alg = enc.encode(c.alg);
  const addr = enc.encode(c.addr);
  const kid = enc.encode(c.kid);
  for (const [name, f] of [["alg", alg], ["addr", addr], ["kid", kid], ["nonce", c.nonce]] as const) {
    if (f.length > 255) throw new RangeError(`Cannot encode challenge: ${name} is ${f.length} bytes, at most 255`);
  }
  const out = new Uint8Array(1 + 1 + alg.length + 1 + 8 + 8 + 1 + c.nonce.length + 1 + addr.length + 1 + kid.length);
  let o = 0;
  out[o++] = c.v;
  out[o++] = alg.length; out.set(alg, o); o += alg.length;
  out[o++] = c.bits;
  putU64(out, o, c.iat); o += 8;
  putU64(out, o, c.exp); o += 8;
  out[o++] = c.nonce.length; out.set(c.nonce, o); o += c.nonce.length;
  out[o++] = addr.length; out.set(addr, o); o += addr.length;
  out[o++] = kid.length; out.set(kid, o);
  return out;
}

/** Issue a challenge signed with the ring's signing key. */
export function mintChallenge(ring: KeyRing, p: MintParams): Challenge {
  if (!Number.isInteger(p.bits) || p.bits < 0 || p.bits > MAX_BITS) throw new RangeError(`Cannot mint: difficulty ${p.bits} outside 0..${MAX_BITS}`);
  if (p.nonce.length !== NONCE_BYTES) throw new RangeError(`Cannot mint: nonce is ${p.nonce.length} bytes, expected ${NONCE_BYTES}`);
  const iat = Math.floor(p.nowMs);
  const fields = { v: CHALLENGE_VERSION, alg: ALG_SHA256_HASHCASH, bits: p.bits, iat, exp: iat + p.ttlMs, nonce: p.nonce, addr: p.addr, kid: ring.signingId };
  const mac = new Uint8Array(32);
  ring.tagInto(ring.signingId, signedBytes(fields), mac);
  const c: Challenge = {
    v: 1, alg: fields.alg, bits: fields.bits, iat: fields.iat, exp: fields.exp,
    nonce: bytesToHex(p.nonce), addr: p.addr, kid: fields.kid, mac: bytesToHex(mac),
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
  | { readonly ok: true; readonly spentKey: string; readonly expiresAtMs: number; readonly bits: number }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

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
  const given = hexToBytes(c.mac);
  const expected = new Uint8Array(32);
  let signed: Uint8Array;
  try {
    signed = signedBytes({ v: c.v, alg: c.alg, bits: c.bits, iat: c.iat, exp: c.exp, nonce: hexToBytes(c.nonce), addr: c.addr, kid: c.kid });
  } catch {
    return fail("BAD_SIGNATURE", "Challenge fields cannot be encoded");
  }
  ring.tagInto(c.kid, signed, expected);
  if (!timingSafeEqual(given, expected)) return fail("BAD_SIGNATURE", "Challenge signature does not match its fields");
  if (c.addr !== ctx.addr) return fail("WRONG_ADDRESS", `Challenge was issued to another address`);
  const digest = workDigest(buildPrefix(c.bits, given), hexToBytes(s.counter));
  const got = leadingZeroBits(digest);
  if (got < c.bits) return fail("INSUFFICIENT_WORK", `Proof has ${got} leading zero bits, ${c.bits} required`);
  return { ok: true, spentKey: c.mac.slice(0, 32), expiresAtMs: c.exp, bits: c.bits };
}
