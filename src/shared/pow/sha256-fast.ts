/**
 * Allocation-free SHA-256 for the server's hot path: HMAC-SHA256 with the key's inner and outer states
 * precomputed (RFC 2104), and the hashcash digest of a 72-byte message. @noble/hashes stays the
 * reference that the tests compare against (tests/unit/sha256-fast.test.ts) and hashes over-long keys.
 *
 * Two engines compute the same values. "wasm" (sha256-wasm.ts) hashes a whole tag or digest in one
 * call into WebAssembly; it is chosen automatically wherever WebAssembly runs. "js" is the scalar
 * compression shared with the solver kernels (solver/sha256-core.ts): the fallback, which tests force
 * with setSha256Engine("js"). The five compressions of a verification take about 1.4-1.6 us with
 * "wasm" and 2.4-2.8 us with "js" (Deno 2.9.6 and Bun 1.4.5, tight loop).
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { createSha256Wasm, type Sha256Wasm } from "./sha256-wasm.ts";
import { compress, IV } from "./solver/sha256-core.ts";

const BLOCK = 64;

/** Where a compression runs: a state, a block (words) and the function that compresses one into the other. */
interface _Core {
  readonly state: Int32Array;
  /** At least 16 words. */
  readonly block: Int32Array;
  compress(): void;
}

function _jsCore(): _Core {
  const state = new Int32Array(8), block = new Int32Array(64);
  return { state, block, compress: () => compress(state, block) };
}

export type Sha256Engine = "wasm" | "js";

const _js = _jsCore();
let _choice: "auto" | "js" = "auto";
/** False until the first hash: compiling the module costs milliseconds that importers who never hash should not pay. */
let _selected = false;
let _wasmInstance: Sha256Wasm | null | undefined;
/** The WebAssembly engine when it is selected, else undefined. */
let _wasm: Sha256Wasm | undefined;
/** Where block-by-block hashing runs: the WebAssembly compression when selected, else JavaScript. */
let _core: _Core = _js;

function _select(): void {
  if (_choice === "auto") _wasmInstance ??= createSha256Wasm() ?? null;
  _wasm = _choice === "auto" ? _wasmInstance ?? undefined : undefined;
  _core = _wasm ?? _js;
  _selected = true;
}

/**
 * Select the engine: "auto" (the default) takes WebAssembly where this runtime has it, "js" forces
 * the JavaScript compression (for tests and comparisons). Returns the engine now in use. Key states
 * computed under one engine stay valid under the other.
 */
export function setSha256Engine(engine: "auto" | "js"): Sha256Engine {
  _choice = engine;
  _select();
  return _wasm ? "wasm" : "js";
}

function loadBlock(w: Int32Array, bytes: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const o = off + 4 * i;
    w[i] = (bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!;
  }
}

/**
 * Continue hashing the first `n` bytes of `msg` from `core.state`, where `already` bytes were
 * compressed before, and finish (padding and length). The state ends as the digest words.
 */
function _finishInto(core: _Core, msg: Uint8Array, n: number, already: number): void {
  const w = core.block;
  let off = 0;
  for (; off + BLOCK <= n; off += BLOCK) {
    loadBlock(w, msg, off);
    core.compress();
  }
  // Tail: remaining bytes, 0x80, zeros, 64-bit bit length; one or two blocks.
  const rest = n - off;
  w.fill(0, 0, 16);
  for (let i = 0; i < rest; i++) w[i >> 2]! |= msg[off + i]! << (24 - 8 * (i & 3));
  w[rest >> 2]! |= 0x80 << (24 - 8 * (rest & 3));
  const bitLen = (already + n) * 8;
  if (rest >= 56) {
    core.compress();
    w.fill(0, 0, 16);
  }
  w[14] = Math.floor(bitLen / 0x1_0000_0000);
  w[15] = bitLen >>> 0;
  core.compress();
}

function _wordsToBytes(words: Int32Array, out: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    const v = words[i]!;
    out[4 * i] = v >>> 24; out[4 * i + 1] = (v >>> 16) & 255; out[4 * i + 2] = (v >>> 8) & 255; out[4 * i + 3] = v & 255;
  }
}

/** HMAC-SHA256 under one key, with the padded-key states computed once. Not re-entrant (scratch is shared). */
export class FastHmac {
  /** The inner then the outer state, laid out as the WebAssembly `hmac` reads them. */
  private readonly _keys = new Int32Array(16);
  private readonly _inner = this._keys.subarray(0, 8);
  private readonly _outer = this._keys.subarray(8, 16);

  constructor(key: Uint8Array) {
    const k = key.length > BLOCK ? sha256(key) : key;
    const pad = new Uint8Array(BLOCK);
    if (!_selected) _select();
    const core = _core;
    for (const [state, byte] of [[this._inner, 0x36], [this._outer, 0x5c]] as const) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] = k[i]! ^ byte;
      core.state.set(IV);
      loadBlock(core.block, pad, 0);
      core.compress();
      state.set(core.state);
    }
    pad.fill(0);
  }

  /** Tag of the first `length` bytes of `msg`, into `out` (32 bytes). */
  tagInto(msg: Uint8Array, length: number, out: Uint8Array): void {
    const wasm = _wasm;
    if (wasm !== undefined && length <= wasm.capacity) {
      wasm.keys.set(this._keys);
      // Bytes past `length` are copied too when they fit: one copy, no subarray to allocate.
      wasm.message.set(msg.length <= wasm.capacity ? msg : msg.subarray(0, length));
      wasm.hmac(length);
      out.set(wasm.tag);
      return;
    }
    const core = _core, st = core.state, w = core.block;
    st.set(this._inner);
    _finishInto(core, msg, length, BLOCK);
    for (let i = 0; i < 8; i++) w[i] = st[i]!;
    w.fill(0, 8, 16);
    w[8] = 0x80000000;
    w[15] = (BLOCK + 32) * 8;
    st.set(this._outer);
    core.compress();
    _wordsToBytes(st, out);
  }
}

/** First word of SHA-256(prefix || counter) for the 64-byte prefix and 8-byte counter of hashcash.ts. */
export function workFirstWord(prefix: Uint8Array, counter: Uint8Array): number {
  if (!_selected) _select();
  const wasm = _wasm;
  if (wasm !== undefined && prefix.length === BLOCK && BLOCK + counter.length <= wasm.capacity) {
    wasm.message.set(prefix);
    wasm.message.set(counter, BLOCK);
    return wasm.digest(BLOCK + counter.length);
  }
  const core = _core;
  core.state.set(IV);
  loadBlock(core.block, prefix, 0);
  core.compress();
  _finishInto(core, counter, counter.length, BLOCK);
  return core.state[0]!;
}
