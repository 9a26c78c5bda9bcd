/**
 * Generates the WebAssembly text of the scalar SHA-256 (FIPS 180-4, section 6.2) and HMAC-SHA256
 * (RFC 2104) that verify proofs: src/shared/pow/sha256-wasm.ts runs it, scripts/build-wasm.ts
 * assembles it. `npx bun scripts/gen-sha256-wat.ts [out.wat]` prints or writes the text.
 *
 * One compression reads its block as big-endian bytes, so that a message copied into linear memory
 * is hashed as it is and a whole HMAC tag or hashcash digest takes one call from JavaScript. Inside:
 *
 * - the eight working variables are renamed, not moved: round t's `a` is the local that held round
 *   t-1's `h`, so a round writes two locals;
 * - every rotation is one `i32.rotr` (JavaScript has no such operator), and each Sigma is written
 *   nested, ror(x ^ ror(x ^ ror(x, r2 - r1), r1 - r0), r0), as OpenSSL's scalar x86 code does:
 *   the same five operations, but x is copied once instead of three times;
 * - Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)), whose b ^ c is the previous round's a ^ b;
 * - the message schedule is a ring of 16 words in linear memory, not 16 locals;
 * - rounds 0..15 (which load the block) are straight-line with K as immediates; rounds 16..63 are a
 *   loop of three iterations of 16 rounds, so that ring slots and local names stay fixed.
 *
 * Measured (Bun 1.4.5 / JavaScriptCore and Deno 2.9.6 / V8, one compression, ns, minimum of 300
 * interleaved runs; the machine's speed drifts by up to 1.5x, so only same-run ratios count):
 *
 *   variant                                                  JavaScriptCore   V8
 *   64 rounds unrolled, schedule in 16 locals, Maj with or    400-540         265-280
 *   64 rounds unrolled, schedule ring in memory               315-330         280-290
 *   ... and nested Sigma                                      290             265
 *   ... and rounds 16..63 as a loop of 16 (this)              282-284         254-261
 *   ... but small sigmas not nested                           333             258
 *   ... but each iteration's schedule computed before it      326             303
 *   K loaded from memory in the unrolled code                 +20%            +3%
 *
 * JavaScriptCore spilled the 16 schedule locals (2,000 stack moves per compression) and folded K
 * into sums several rounds early, holding them in registers; explicit memory words and the loop
 * (K from memory, which it cannot fold) avoid both. For scale: the JavaScript compression
 * (solver/sha256-core.ts) takes 500-600 ns on the same machine, and gcc -O2 C about 320 ns.
 * @module
 */
import { IV, K } from "../src/shared/pow/solver/sha256-core.ts";

/** Linear-memory layout (byte offsets); the module exports each as an upper-case global too. */
export const SHA256_LAYOUT = {
  /** 8 x i32: the chaining state (words, not bytes). */
  state: 0,
  /** 16 x i32: one block as words, read by `compress`. */
  block: 32,
  /** 16 x i32: an HMAC key's inner then outer state, read by `hmac`. */
  keys: 96,
  /** 32 bytes: the tag `hmac` writes, big-endian. */
  tag: 160,
  /** 16 x i32: the last 16 words of the message schedule, during a compression. */
  schedule: 192,
  /** 64 bytes: a block that is not part of the message (`compress`'s words, HMAC's outer block). */
  scratch: 256,
  /** 64 x i32: K (FIPS 180-4 section 4.2.2), read by the round loop. */
  k: 320,
  /** The message `hmac` and `digest` hash, followed by room for its padding. */
  message: 576,
} as const;
const L = SHA256_LAYOUT;

/** Longest message `hmac` and `digest` take, in bytes (longer ones go block by block in JavaScript). */
export const MESSAGE_CAPACITY = 4096;

/** The padding may need one block past the message's last (FIPS 180-4 section 5.1.1). */
const _PAGES = Math.ceil((L.message + MESSAGE_CAPACITY + 128) / 65536);

/** Rounds per iteration of the round loop: 16 keeps ring slots and local names fixed. */
const _LOOP_ROUNDS = 16;

const _get = (name: string) => `(local.get $${name})`;
const _i32 = (n: number) => `(i32.const ${n | 0})`;

/** xor of rotations right of `x` by each of `rot` (ascending), nested; plus x >>> `shr` if given. */
function _sigma(x: string, rot: readonly number[], shr?: number): string {
  let acc = `(i32.rotr ${x} ${_i32(rot[rot.length - 1]! - rot[rot.length - 2]!)})`;
  for (let i = rot.length - 2; i >= 0; i--) {
    acc = `(i32.rotr (i32.xor ${x} ${acc}) ${_i32(rot[i]! - (i > 0 ? rot[i - 1]! : 0))})`;
  }
  return shr === undefined ? acc : `(i32.xor ${acc} (i32.shr_u ${x} ${_i32(shr)}))`;
}

/** A big-endian word from a little-endian load: swap the bytes of `x` (read twice). */
function _bswap(x: string): string {
  return `(i32.or (i32.and (i32.rotl ${x} ${_i32(8)}) ${_i32(0x00ff00ff)}) (i32.and (i32.rotr ${x} ${_i32(8)}) ${_i32(0xff00ff00)}))`;
}

/** Store word `value` big-endian at `addr` + `offset` (through local $x). */
function _storeBe(addr: string, offset: number, value: string): string {
  return `(local.set $x ${value}) (i32.store offset=${offset} ${addr} ${_bswap("(local.get $x)")})`;
}

/** Working variable j (0 = a .. 7 = h) of round t lives in local v((j - t) mod 8). */
const _v = (j: number, t: number) => `v${(((j - t) % 8) + 8) % 8}`;
/** W[t] lives in ring slot t mod 16 until W[t + 16] replaces it. */
const _wGet = (t: number) => `(i32.load offset=${L.schedule + 4 * (t % 16)} (i32.const 0))`;
const _wSet = (t: number, x: string) => `(i32.store offset=${L.schedule + 4 * (t % 16)} (i32.const 0) ${x})`;

/** FIPS 180-4 section 6.2.2 step 1 for t >= 16, into W[t]'s slot. */
function _scheduleWord(t: number): string[] {
  return [
    `(local.set $x ${_wGet(t - 15)})`,
    `(local.set $y ${_wGet(t - 2)})`,
    _wSet(t, `(i32.add (i32.add ${_wGet(t - 16)} ${_wGet(t - 7)}) (i32.add ${_sigma("(local.get $x)", [7, 18], 3)} ${_sigma("(local.get $y)", [17, 19], 10)}))`),
  ];
}

/** FIPS 180-4 section 6.2.2 step 3, round t, adding `k` (K[t]) and `w` (W[t]). */
function _round(t: number, k: string, w: string): string[] {
  const [a, b, d, e, f, g, h] = [0, 1, 3, 4, 5, 6, 7].map((j) => _v(j, t)) as [string, string, string, string, string, string, string];
  const ch = `(i32.xor ${_get(g)} (i32.and ${_get(e)} (i32.xor ${_get(f)} ${_get(g)})))`;
  const maj = `(i32.xor ${_get(b)} (i32.and (local.get $ab) (local.get $bc)))`;
  return [
    `(local.set $ab (i32.xor ${_get(a)} ${_get(b)}))`,
    `(local.set $t1 (i32.add (i32.add (i32.add ${_get(h)} ${_sigma(_get(e), [6, 11, 25])}) (i32.add ${ch} ${k})) ${w}))`,
    // d + T1 is the next e, T1 + T2 the next a (in h's local, which this round retires).
    `(local.set $${d} (i32.add ${_get(d)} (local.get $t1)))`,
    `(local.set $${h} (i32.add (local.get $t1) (i32.add ${_sigma(_get(a), [2, 13, 22])} ${maj})))`,
    "(local.set $bc (local.get $ab))",
  ];
}

/** `$compress_be`: one compression of the 64 big-endian bytes at `$m` into the state at `$s`. */
function _compressFunc(): string {
  const lines: string[] = [];
  for (let i = 0; i < 8; i++) lines.push(`(local.set $v${i} (i32.load offset=${4 * i} (local.get $s)))`);
  lines.push(`(local.set $bc (i32.xor ${_get(_v(1, 0))} ${_get(_v(2, 0))}))`);
  for (let t = 0; t < 16; t++) {
    lines.push(
      `;; round ${t}`,
      `(local.set $x (i32.load offset=${4 * t} (local.get $m)))`,
      `(local.set $x ${_bswap("(local.get $x)")})`,
      _wSet(t, "(local.get $x)"),
      ..._round(t, _i32(K[t]!), "(local.get $x)"),
    );
  }
  lines.push(`;; rounds 16..63, ${_LOOP_ROUNDS} per iteration; $k -> K[t]`, `(local.set $k ${_i32(L.k + 64)})`, "(loop $rounds");
  for (let t = 16; t < 16 + _LOOP_ROUNDS; t++) {
    lines.push(`  ;; round ${t} + ${_LOOP_ROUNDS}i`, ...[..._scheduleWord(t), ..._round(t, `(i32.load offset=${4 * (t - 16)} (local.get $k))`, _wGet(t))].map((l) => `  ${l}`));
  }
  lines.push(
    `  (local.set $k (i32.add (local.get $k) ${_i32(4 * _LOOP_ROUNDS)}))`,
    `  (br_if $rounds (i32.lt_u (local.get $k) ${_i32(L.k + 256)})))`,
  );
  for (let j = 0; j < 8; j++) {
    lines.push(`(i32.store offset=${4 * j} (local.get $s) (i32.add (i32.load offset=${4 * j} (local.get $s)) (local.get $${_v(j, 64)})))`);
  }
  const locals = [...Array.from({ length: 8 }, (_, i) => `(local $v${i} i32)`), "(local $t1 i32) (local $ab i32) (local $bc i32) (local $x i32) (local $y i32) (local $k i32)"];
  return `
  ;; One compression: the 64 big-endian bytes at $m into the state at $s.
  (func $compress_be (param $s i32) (param $m i32)
    ${locals.join(" ")}
    ${lines.join("\n    ")})`;
}

/** The 8 state words, big-endian, to `to` (through local $x). */
function _stateBytes(to: number): string[] {
  return Array.from({ length: 8 }, (_, i) => _storeBe("(i32.const 0)", to + 4 * i, `(i32.load offset=${L.state + 4 * i} (i32.const 0))`));
}

function _compressWordsFunc(): string {
  const toBytes = Array.from({ length: 16 }, (_, i) => _storeBe("(i32.const 0)", L.scratch + 4 * i, `(i32.load offset=${L.block + 4 * i} (i32.const 0))`));
  return `
  ;; One compression of the 16 words at \`block\` into \`state\`, for callers that have words.
  (func (export "compress")
    (local $x i32)
    ${toBytes.join("\n    ")}
    (call $compress_be ${_i32(L.state)} ${_i32(L.scratch)}))`;
}

/**
 * `$finish`: hash `$len` bytes at `$p` on from the state at `$s`, where `$already` bytes went into
 * it before, padding in place (up to 128 bytes after the message are overwritten).
 */
const _FINISH_FUNC = `
  (func $finish (param $s i32) (param $p i32) (param $len i32) (param $already i32)
    (local $end i32) (local $rest i32) (local $bytes i32) (local $x i32)
    (local.set $end (i32.add (local.get $p) (i32.and (local.get $len) (i32.const -64))))
    (block $tail
      (loop $full
        (br_if $tail (i32.ge_u (local.get $p) (local.get $end)))
        (call $compress_be (local.get $s) (local.get $p))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $full)))
    ;; The 1 bit, zeros to the end of the next block, then the bit length in the last 8 bytes.
    (local.set $rest (i32.and (local.get $len) (i32.const 63)))
    (i32.store8 (i32.add (local.get $p) (local.get $rest)) (i32.const 0x80))
    (memory.fill (i32.add (i32.add (local.get $p) (local.get $rest)) (i32.const 1)) (i32.const 0) (i32.sub (i32.const 127) (local.get $rest)))
    (if (i32.ge_u (local.get $rest) (i32.const 56))
      (then
        (call $compress_be (local.get $s) (local.get $p))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))))
    ;; Bit length = 8 * (already + len): below 2^32 bytes, so the high word is the top 3 bits.
    (local.set $bytes (i32.add (local.get $already) (local.get $len)))
    ${_storeBe("(local.get $p)", 56, "(i32.shr_u (local.get $bytes) (i32.const 29))")}
    ${_storeBe("(local.get $p)", 60, "(i32.shl (local.get $bytes) (i32.const 3))")}
    (call $compress_be (local.get $s) (local.get $p)))`;

function _hmacFunc(): string {
  const copy = (from: number, to: number) => Array.from({ length: 8 }, (_, i) =>
    `(i32.store offset=${to + 4 * i} (i32.const 0) (i32.load offset=${from + 4 * i} (i32.const 0)))`);
  // The outer message is the 32-byte inner digest: one block, padded as the 32 bytes after 64 key bytes.
  const outerPadding = [
    `(i32.store offset=${L.scratch + 32} (i32.const 0) ${_i32(0x80)})`,
    ...Array.from({ length: 6 }, (_, i) => `(i32.store offset=${L.scratch + 36 + 4 * i} (i32.const 0) (i32.const 0))`),
    _storeBe("(i32.const 0)", L.scratch + 60, _i32((64 + 32) * 8)),
  ];
  return `
  ;; HMAC-SHA256 (RFC 2104) of the $len message bytes at \`message\`, under the precomputed inner
  ;; and outer states at \`keys\`; the tag goes to \`tag\`. The message area is overwritten.
  (func (export "hmac") (param $len i32)
    (local $x i32)
    ${copy(L.keys, L.state).join("\n    ")}
    (call $finish ${_i32(L.state)} ${_i32(L.message)} (local.get $len) (i32.const 64))
    ${_stateBytes(L.scratch).join("\n    ")}
    ${outerPadding.join("\n    ")}
    ${copy(L.keys + 32, L.state).join("\n    ")}
    (call $compress_be ${_i32(L.state)} ${_i32(L.scratch)})
    ${_stateBytes(L.tag).join("\n    ")})`;
}

function _digestFunc(): string {
  const iv = IV.map((x, i) => `(i32.store offset=${L.state + 4 * i} (i32.const 0) ${_i32(x)})`);
  return `
  ;; SHA-256 of the $len message bytes at \`message\`: digest words at \`state\`, the first returned.
  ;; The message area is overwritten.
  (func (export "digest") (param $len i32) (result i32)
    ${iv.join("\n    ")}
    (call $finish ${_i32(L.state)} ${_i32(L.message)} (local.get $len) (i32.const 0))
    (i32.load offset=${L.state} (i32.const 0)))`;
}

/** Words as the string of a data segment, little-endian like i32.load reads them. */
function _wordsData(words: readonly number[]): string {
  return words.map((w) => [0, 8, 16, 24].map((b) => `\\${((w >>> b) & 255).toString(16).padStart(2, "0")}`).join("")).join("");
}

/** The module as WebAssembly text. Deterministic: same input, same text. */
export function generateSha256Wat(): string {
  const globals = Object.entries(L).map(([name, at]) => `(global (export "${name.toUpperCase()}") i32 ${_i32(at)})`);
  return `;; GENERATED by scripts/gen-sha256-wat.ts (do not edit): scalar SHA-256 and HMAC-SHA256.
(module
  (memory (export "memory") ${_PAGES})
  ${globals.join("\n  ")}
  (global (export "MESSAGE_CAPACITY") i32 ${_i32(MESSAGE_CAPACITY)})
  (data ${_i32(L.k)} "${_wordsData(K)}")
${_compressFunc()}
${_compressWordsFunc()}
${_FINISH_FUNC}
${_hmacFunc()}
${_digestFunc()}
)
`;
}

if (import.meta.main) {
  const wat = generateSha256Wat();
  const out = process.argv[2];
  if (out) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(out, wat);
  } else {
    console.log(wat);
  }
}
