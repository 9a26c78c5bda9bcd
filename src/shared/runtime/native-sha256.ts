/**
 * Runtime adapter: the system OpenSSL's SHA-256 block function, through the runtime's FFI, for the
 * "native" hashcash kernel (pow/solver/kernel-native.ts). On Bun through bun:ffi; on Deno through
 * Deno.dlopen, only when the ffi permission is granted (it is never requested). Elsewhere, or when
 * no libcrypto is found, or when the loaded function fails a known-answer test: null, and the
 * solver uses the WebAssembly kernel.
 *
 * The function is OpenSSL's SHA256_Transform(SHA256_CTX *c, const unsigned char *block): it
 * compresses one 64-byte block into c->h, eight host-order 32-bit words at the start of the
 * context (SHA-NI, AVX2 or plain code, whatever OpenSSL picked for this CPU). It is deprecated in
 * OpenSSL 3 and still exported by libcrypto 1.1 and 3.
 *
 * macOS's /usr/lib/libcrypto.dylib is never opened: loading it aborts the process; only Homebrew's
 * OpenSSL is tried there, by absolute path. Windows is not tried: a DLL is looked up by bare name in
 * the current directory too, so a planted libcrypto would run its DllMain before the known-answer
 * test could reject it. Bun before 1.4 is not tried either (bun:ffi dlopen from several workers at
 * once could crash it, oven-sh/bun#40972). Opened libraries stay referenced for the thread's life.
 * @module
 */

import { IV } from "../pow/solver/sha256-core.ts";
import type { BlockFunction } from "../pow/solver/kernel-native.ts";

declare const Deno: any;
// Bun offers CommonJS require() in ES modules too; the compiled binary is bundled as CommonJS
// (bytecode), where import.meta is not valid, so require() is the one form that works in both.
declare const require: ((id: string) => any) | undefined;

/** One SHA-256 block compression: `state` holds 8 host-order words (and room for a SHA256_CTX). */
export interface NativeSha256 {
  /** The library the function came from. */
  readonly library: string;
  /** Compresses the 64-byte `block` into state[0..7]. `state` must be a Uint32Array of at least 28 words. */
  readonly transform: BlockFunction;
}

/** Words a SHA256_CTX needs (112 bytes in OpenSSL 1.1 and 3). */
export const NATIVE_STATE_WORDS = 28;

let _cached: NativeSha256 | null | undefined;

/** The system's SHA-256 block function, loaded once per thread; null where it is unavailable. */
export function nativeSha256(): NativeSha256 | null {
  if (_cached === undefined) _cached = _load();
  return _cached;
}

function _platform(): string {
  if (typeof Deno !== "undefined") return String(Deno.build?.os ?? "");
  return String((globalThis as { process?: { platform?: string } }).process?.platform ?? "");
}

function _candidates(platform: string): string[] {
  if (platform === "linux") return ["libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so"];
  if (platform === "darwin") {
    return ["/opt/homebrew/opt/openssl@3/lib/libcrypto.3.dylib", "/usr/local/opt/openssl@3/lib/libcrypto.3.dylib"];
  }
  return [];
}

type _Transform = BlockFunction;

/** Libraries that passed: referenced here so that no collector ever closes one under its symbol. */
const _opened: unknown[] = [];

interface _Library {
  lib: { close(): void };
  transform: _Transform;
}

function _openBun(name: string): _Library | null {
  if (typeof require !== "function") return null;
  const ffi = require("bun:ffi");
  const lib = ffi.dlopen(name, { SHA256_Transform: { args: ["buffer", "buffer"], returns: "void" } });
  return { lib, transform: lib.symbols.SHA256_Transform as _Transform };
}

function _openDeno(name: string): _Library | null {
  if (typeof Deno.dlopen !== "function") return null;
  const lib = Deno.dlopen(name, { SHA256_Transform: { parameters: ["buffer", "buffer"], result: "void" } });
  return { lib, transform: lib.symbols.SHA256_Transform as _Transform };
}

/** True for Bun 1.4 and later. */
function _bunAtLeast14(): boolean {
  const [major = 0, minor = 0] = String((globalThis as { Bun?: { version?: string } }).Bun?.version ?? "").split(".").map(Number);
  return major > 1 || (major === 1 && minor >= 4);
}

function _load(): NativeSha256 | null {
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  const isDeno = typeof Deno !== "undefined";
  if (!isBun && !isDeno) return null;
  if (isBun && !_bunAtLeast14()) return null;
  if (isDeno && Deno.permissions?.querySync?.({ name: "ffi" })?.state !== "granted") return null;
  for (const name of _candidates(_platform())) {
    let opened: _Library | null;
    try {
      opened = isBun ? _openBun(name) : _openDeno(name);
    } catch {
      continue; // not installed under this name, or no such symbol
    }
    if (!opened) return null;
    if (_knownAnswer(opened.transform)) {
      _opened.push(opened.lib);
      return { library: name, transform: opened.transform };
    }
    try {
      opened.lib.close();
    } catch {
      // closing a library that computes wrong digests is best effort
    }
  }
  return null;
}

/** SHA-256("abc") (FIPS 180-4 example) through `transform`, compared word by word. */
function _knownAnswer(transform: _Transform): boolean {
  const state = new Uint32Array(NATIVE_STATE_WORDS);
  state.set(IV);
  const block = new Uint8Array(64);
  block.set([0x61, 0x62, 0x63, 0x80]);
  block[63] = 24;
  try {
    transform(state, block);
  } catch {
    return false;
  }
  const expected = [0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad];
  return expected.every((word, i) => state[i] === word);
}
