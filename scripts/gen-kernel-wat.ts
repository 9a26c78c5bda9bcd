/**
 * Generates the WebAssembly text of the SIMD hashcash kernel (src/shared/pow/solver/kernel-wasm.ts
 * runs it; scripts/build-wasm.ts assembles it). `npx bun scripts/gen-kernel-wat.ts v8|jsc [out.wat]`
 * prints or writes the text of one shape.
 *
 * The final SHA-256 block of an attempt (sha256-core.ts) has one word per attempt (the counter's
 * low word), one word per call (the high word) and fourteen constants. The code below writes
 * SHA-256 once, over a tiny expression graph whose every value is tagged with when it is known:
 *
 *   tier 0  when this file runs (K, padding words and whatever depends on them only),
 *   tier 1  once per `search` call (midstate, high word): scalar i32 code before the loop,
 *   tier 2  per attempt: i32x4 code in the loop, 4 counters per vector.
 *
 * Folding and sharing then happen by construction: round 0 and most of round 1 leave the loop,
 * rounds 2..7 add no message word, and W16..W30 lose their constant terms. Those are emitted
 * straight-line; the generic rest (W31..W63 and rounds 8..63) runs as two small loops over
 * linear memory, because a fully unrolled block no longer fits the instruction cache and was
 * measured slower on both V8 and JavaScriptCore. Schedule words live in memory rather than in
 * locals for the same reason (register allocators spilled the hot values instead). Computing the
 * schedule inside the round loop, and Ch/Maj as v128.bitselect, were measured too: no gain.
 * @module
 */
import { FINAL_BLOCK_PAD, K } from "../src/shared/pow/solver/sha256-core.ts";

/**
 * The shape of one generated module. Two are built (kernel-wasm.ts picks one per engine):
 *
 * - "v8": left shifts are shifts. V8 emits i32x4 shifts by a constant as one instruction.
 * - "jsc": left shifts are multiplications by 2^k, the constant loaded from memory at each use.
 *   JavaScriptCore lowers every i32x4 shift to a register move, a mask, a general-to-vector
 *   register transfer and a shift by register, and a multiply to one instruction; the constant
 *   comes from memory, at a distinct address per use, because a constant kept in a register (or
 *   loaded once and shared) crowds out the state and gets spilled. Measured on this kernel:
 *   JavaScriptCore 4.7 -> 5.9 M/s, V8 9.3 -> 6.5 M/s, hence one module per engine.
 *
 * `copies` is the number of 4-lane vectors hashed side by side. One is fastest on both engines:
 * with two, the 16 live state vectors exceed the 16 x86 vector registers and the spills cost more
 * than the extra ILP gains (measured: V8 9.6 -> 7.9 M/s, JavaScriptCore 4.6 -> 2.7 M/s).
 */
export interface KernelShape {
  name: "v8" | "jsc";
  copies: number;
  leftShift: "shift" | "mul";
}

export const SHAPES: readonly KernelShape[] = [
  { name: "v8", copies: 1, leftShift: "shift" },
  { name: "jsc", copies: 1, leftShift: "mul" },
];

/** Schedule words per iteration of the schedule loop (W31..W63: 33 of them; 1 and 11 were slower). */
const SCHEDULE_UNROLL = 3;
/** Rounds per iteration of the round loop; a multiple of 8 keeps the state names in place. */
const ROUND_UNROLL = 8;
/**
 * First round and first schedule word left to the loops; those before are unrolled. Rounds 8..15
 * gain little from unrolling (their message words are zero either way) and run a little faster
 * in the loop, where the code is smaller; W16..W30 lose whole terms to constants, so they stay.
 */
const LOOP_ROUND = 8;
const LOOP_WORD = 31;

/** Linear-memory layout; the module exports the parts its caller touches as globals. */
export const LAYOUT = {
  /** 8 x i32: the prefix midstate, written by the caller. */
  midstate: 0,
  /** A word that is always zero, read back so compilers cannot see through memory addresses. */
  opaqueZero: 32,
  /** copies x 4 x i32: first digest word of every lane of the group that produced a hit. */
  groupH0: 64,
  /** 8 words x 4 lanes x i32, word-major: output of `digest`. */
  digest: 256,
  /** 64 x i32x4: K[t] in every lane (a data segment). */
  k: 1024,
  /** 64 x copies x i32x4: the message schedule of the lane group in flight. */
  w: 2048,
  /** Multiplier constants of the "jsc" shape, one i32x4 per use (data segments). */
  multipliers: 8192,
} as const;

type Tier = 0 | 1 | 2;
type Op = "imm" | "input" | "add" | "xor" | "and" | "shl" | "shr";

interface Node {
  readonly id: number;
  readonly op: Op;
  readonly args: readonly Node[];
  readonly tier: Tier;
  /** The value of an "imm", the amount of a shift, 0 otherwise. */
  readonly n: number;
  /** The name of an "input". */
  readonly name: string;
  /** Emission group (a round or a schedule word): copies are emitted group by group. */
  readonly seg: number;
}

/** A hash-consed expression graph over 32-bit words, folding constants by tier. */
class _Graph {
  readonly nodes: Node[] = [];
  readonly #cache = new Map<string, Node>();
  /** The emission group new nodes join. */
  seg = 0;

  #make(op: Op, args: Node[], n = 0, name = "", tier?: Tier): Node {
    const key = `${op}:${n}:${name}:${args.map((a) => a.id).join(",")}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const node: Node = { id: this.nodes.length, op, args, tier: tier ?? (Math.max(0, ...args.map((a) => a.tier)) as Tier), n, name, seg: this.seg };
    this.nodes.push(node);
    this.#cache.set(key, node);
    return node;
  }

  imm(v: number): Node { return this.#make("imm", [], v | 0, "", 0); }
  input(name: string, tier: 1 | 2): Node { return this.#make("input", [], 0, name, tier); }

  /** Sum or xor of many: constants fold, then per-call terms, then per-lane terms oldest first. */
  #fold(op: "add" | "xor", xs: Node[]): Node {
    let imm = 0;
    const rest: Node[] = [];
    for (const x of xs) {
      if (x.op !== "imm") rest.push(x);
      else imm = op === "add" ? (imm + x.n) | 0 : imm ^ x.n;
    }
    rest.sort((x, y) => x.tier - y.tier || x.id - y.id);
    if (imm !== 0) rest.unshift(this.imm(imm));
    if (rest.length === 0) return this.imm(0);
    if (op === "xor") {
      // Pairwise, so that the six shifts of a Sigma meet in a tree of depth 3, not a chain of 5.
      let level = rest;
      while (level.length > 1) {
        const next: Node[] = [];
        for (let i = 0; i + 1 < level.length; i += 2) next.push(this.#make(op, [level[i]!, level[i + 1]!].sort((p, q) => p.id - q.id)));
        if (level.length % 2 === 1) next.push(level[level.length - 1]!);
        level = next;
      }
      return level[0]!;
    }
    let acc = rest[0]!;
    for (const x of rest.slice(1)) acc = this.#make(op, [acc, x].sort((p, q) => p.id - q.id));
    return acc;
  }

  add(...xs: Node[]): Node { return this.#fold("add", xs); }
  xor(...xs: Node[]): Node { return this.#fold("xor", xs); }

  and(x: Node, y: Node): Node {
    if (x.op === "imm" && y.op === "imm") return this.imm(x.n & y.n);
    if ((x.op === "imm" && x.n === 0) || (y.op === "imm" && y.n === 0)) return this.imm(0);
    return this.#make("and", [x, y].sort((p, q) => p.id - q.id));
  }

  shl(x: Node, k: number): Node { return x.op === "imm" ? this.imm(x.n << k) : this.#make("shl", [x], k); }
  shr(x: Node, k: number): Node { return x.op === "imm" ? this.imm(x.n >>> k) : this.#make("shr", [x], k); }

  /**
   * xor of rotations right by each of `r` and shifts right by each of `s`. Each rotation is built
   * as shift, shift, xor before the next starts, which keeps few temporaries alive at once.
   */
  rotShiftXor(x: Node, r: number[], s: number[] = []): Node {
    const terms = r.map((k) => this.xor(this.shr(x, k), this.shl(x, 32 - k)));
    return this.xor(...terms, ...s.map((k) => this.shr(x, k)));
  }
}

/** FIPS 180-4 section 6.2.2 step 1: W[t] from W[t-16], W[t-15], W[t-7], W[t-2]. */
function _scheduleWord(g: _Graph, w16: Node, w15: Node, w7: Node, w2: Node): Node {
  g.seg++;
  return g.add(w16, w7, g.rotShiftXor(w15, [7, 18], [3]), g.rotShiftXor(w2, [17, 19], [10]));
}

type State = [Node, Node, Node, Node, Node, Node, Node, Node];

/** FIPS 180-4 section 6.2.2 steps 3: rounds over `state`; `kw(t)` is K[t] + W[t] as terms. */
function _rounds(g: _Graph, state: State, count: number, kw: (r: number) => Node[]): State {
  let [a, b, c, d, e, f, gg, h] = state;
  for (let r = 0; r < count; r++) {
    g.seg++;
    const ch = g.xor(gg, g.and(e, g.xor(f, gg)));
    const t1 = g.add(h, ...kw(r), ch, g.rotShiftXor(e, [6, 11, 25]));
    // Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)); b ^ c is the previous round's a ^ b, shared.
    const t2 = g.add(g.xor(b, g.and(g.xor(a, b), g.xor(b, c))), g.rotShiftXor(a, [2, 13, 22]));
    h = gg; gg = f; f = e; e = g.add(d, t1);
    d = c; c = b; b = a; a = g.add(t1, t2);
  }
  return [a, b, c, d, e, f, gg, h];
}

/** What a graph reads: tier-1 inputs as scalar WAT, tier-2 inputs as v128 WAT for copy `c`. */
interface _Inputs {
  scalar(name: string): string;
  vector(name: string, c: number): string;
}

/** Emitted WAT for one graph: locals, per-call prologue, per-group body, and value accessors. */
interface _Emitted {
  locals: string[];
  prologue: string[];
  body: string[];
  vector(n: Node, c: number): string;
}

/**
 * Multiplier constants of the "jsc" shape: one memory slot per use, so that no two uses share a
 * load. A loop's slots repeat once per iteration, read through a pointer that advances with it.
 */
class _Multipliers {
  readonly #regions: { at: number; words: number[]; repeat: number }[] = [];
  #next: number = LAYOUT.multipliers;

  /** A region read through `pointer`: use(k) gives the WAT of one load of 2^k. */
  region(pointer: string, repeat = 1) {
    const region = { at: this.#next, words: [] as number[], repeat };
    this.#regions.push(region);
    const use = (k: number) => {
      region.words.push((1 << k) | 0);
      return `(v128.load offset=${region.at + 16 * (region.words.length - 1)} (local.get ${pointer}))`;
    };
    const close = () => {
      this.#next = region.at + 16 * region.words.length * region.repeat;
      return 16 * region.words.length;
    };
    return { use, close };
  }

  data(): string[] {
    return this.#regions.map((r) => `(data (i32.const ${r.at}) "${_splatData(Array.from({ length: r.repeat }, () => r.words).flat())}")`);
  }

  get end(): number {
    return this.#next;
  }
}

/** Emits the nodes reachable from `roots`, in creation (hence topological) order. */
function _emit(g: _Graph, roots: Node[], copies: number, inputs: _Inputs, prefix: string, multiplier?: (k: number) => string): _Emitted {
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    stack.push(...n.args);
  }
  const out: _Emitted = { locals: [], prologue: [], body: [], vector };
  const splats = new Map<number, string>();

  function scalar(n: Node): string {
    if (n.op === "imm") return `(i32.const ${n.n})`;
    if (n.op === "input") return inputs.scalar(n.name);
    return `(local.get $${prefix}s${n.id})`;
  }
  function vector(n: Node, c: number): string {
    if (n.tier === 2) return n.op === "input" ? inputs.vector(n.name, c) : `(local.get $${prefix}v${n.id}_${c})`;
    if (n.op === "imm") return `(v128.const i32x4 ${n.n} ${n.n} ${n.n} ${n.n})`;
    let local = splats.get(n.id);
    if (!local) {
      local = `$${prefix}p${n.id}`;
      splats.set(n.id, local);
      out.locals.push(`(local ${local} v128)`);
      out.prologue.push(`(local.set ${local} (i32x4.splat ${scalar(n)}))`);
    }
    return `(local.get ${local})`;
  }

  // Group by group, and within a group copy by copy: interleaving copies node by node doubles
  // the temporaries alive at once, which JavaScriptCore's register allocator turns into spills.
  const groups = new Map<number, Node[]>();
  for (const n of g.nodes) {
    if (!seen.has(n.id) || n.op === "imm" || n.op === "input") continue;
    const list = groups.get(n.seg) ?? [];
    list.push(n);
    groups.set(n.seg, list);
  }
  for (const n of [...groups.values()].flat().filter((x) => x.tier === 1)) {
    out.locals.push(`(local $${prefix}s${n.id} i32)`);
    const rhs = n.op === "shl" || n.op === "shr" ? `(i32.const ${n.n})` : scalar(n.args[1]!);
    out.prologue.push(`(local.set $${prefix}s${n.id} (${_SCALAR_OP[n.op]} ${scalar(n.args[0]!)} ${rhs}))`);
  }
  for (const group of groups.values()) for (let c = 0; c < copies; c++) for (const n of group) {
    if (n.tier !== 2) continue;
    const x = vector(n.args[0]!, c);
    let expr: string;
    if (n.op === "shl" && multiplier) expr = `(i32x4.mul ${x} ${multiplier(n.n)})`;
    else if (n.op === "shl" || n.op === "shr") expr = `(${_VECTOR_OP[n.op]} ${x} (i32.const ${n.n}))`;
    else expr = `(${_VECTOR_OP[n.op]} ${x} ${vector(n.args[1]!, c)})`;
    out.locals.push(`(local $${prefix}v${n.id}_${c} v128)`);
    out.body.push(`(local.set $${prefix}v${n.id}_${c} ${expr})`);
  }
  return out;
}

const _SCALAR_OP: Record<string, string> = { add: "i32.add", xor: "i32.xor", and: "i32.and", shl: "i32.shl", shr: "i32.shr_u" };
const _VECTOR_OP: Record<string, string> = { add: "i32x4.add", xor: "v128.xor", and: "v128.and", shl: "i32x4.shl", shr: "i32x4.shr_u" };
const _STATE_NAMES = ["a", "b", "c", "d", "e", "f", "g", "h"];

/** Byte offset of schedule word t of copy c, relative to the schedule base. */
function _wOffset(t: number, c: number, copies: number): number {
  return 16 * (t * copies + c);
}

/** WAT pieces of one function: locals, per-call prologue, per-group body. */
interface _Code {
  locals: string[];
  prologue: string[];
  body: string[];
}

/**
 * The body of one lane group: straight-line rounds 0..7 with W15..W30 stored, the schedule loop
 * for W31..W63, the round loop for rounds 8..63. Leaves the state in $a_c..$h_c.
 */
function _groupCode(shape: KernelShape, multipliers: _Multipliers): _Code {
  const { copies } = shape;
  const mul = shape.leftShift === "mul";
  const wordBytes = 16 * copies;
  const code: _Code = {
    locals: ["(local $wp i32) (local $kp i32) (local $cp i32) (local $wbase i32)"],
    prologue: [`(local.set $wbase (i32.load offset=${LAYOUT.opaqueZero} (i32.const 0)))`],
    body: [],
  };
  for (const s of _STATE_NAMES) for (let c = 0; c < copies; c++) code.locals.push(`(local $${s}_${c} v128)`);
  const add = (e: _Emitted) => {
    code.locals.push(...e.locals);
    code.prologue.push(...e.prologue);
  };

  // Head: rounds 0..7 over the constant-rich start of the block, then W16..W30 to memory. The
  // round loop reads W[8..15] from memory: rows 8..14 are zero as memory starts, row 15 is stored.
  for (let t = LOOP_ROUND; t < 15; t++) {
    if (FINAL_BLOCK_PAD[t - 2] !== 0) throw new Error(`LOOP_ROUND ${LOOP_ROUND} would need W${t} stored`);
  }
  const head = new _Graph();
  const m = Array.from({ length: 8 }, (_, i) => head.input(`m${i}`, 1));
  const w: Node[] = [head.input("hi", 1), head.input("lo", 2), ...FINAL_BLOCK_PAD.map((v) => head.imm(v))];
  const state = _rounds(head, m as State, LOOP_ROUND, (t) => [head.imm(K[t]!), w[t]!]);
  for (let t = 16; t < LOOP_WORD; t++) w.push(_scheduleWord(head, w[t - 16]!, w[t - 15]!, w[t - 7]!, w[t - 2]!));
  const stored = w.slice(LOOP_WORD - 16, LOOP_WORD);
  const headConsts = multipliers.region("$wbase");
  const headCode = _emit(head, [...state, ...stored], copies, {
    scalar: (name) => (name === "hi" ? "(local.get $hi)" : `(i32.load offset=${LAYOUT.midstate + 4 * Number(name.slice(1))} (i32.const 0))`),
    vector: (_name, c) => `(local.get $lo_${c})`,
  }, "h", mul ? headConsts.use : undefined);
  headConsts.close();
  add(headCode);
  code.body.push(...headCode.body);
  for (let c = 0; c < copies; c++) {
    stored.forEach((n, i) => {
      code.body.push(`(v128.store offset=${LAYOUT.w + _wOffset(LOOP_WORD - 16 + i, c, copies)} (i32.const 0) ${headCode.vector(n, c)})`);
    });
    state.forEach((n, i) => code.body.push(`(local.set $${_STATE_NAMES[i]}_${c} ${headCode.vector(n, c)})`));
  }

  // Schedule loop: W[t] for t = 31..63, SCHEDULE_UNROLL words per iteration; $wp -> W[t-16].
  const sched = new _Graph();
  const win: Node[] = [];
  const slot = (t: number) => win[t] ??= sched.input(`w${t}`, 2);
  for (let u = 0; u < SCHEDULE_UNROLL; u++) {
    const t = 16 + u;
    win[t] = _scheduleWord(sched, slot(t - 16), slot(t - 15), slot(t - 7), slot(t - 2));
  }
  const outWords = win.slice(16);
  const schedIterations = (64 - LOOP_WORD) / SCHEDULE_UNROLL;
  const schedConsts = multipliers.region("$cp", schedIterations);
  const schedCode = _emit(sched, outWords, copies, {
    scalar: () => { throw new Error("schedule loop has no per-call input"); },
    vector: (name, c) => `(v128.load offset=${LAYOUT.w + _wOffset(Number(name.slice(1)), c, copies)} (local.get $wp))`,
  }, "w", mul ? schedConsts.use : undefined);
  const schedConstBytes = schedConsts.close();
  add(schedCode);
  code.body.push(
    `(local.set $wp (i32.add (local.get $wbase) (i32.const ${wordBytes * (LOOP_WORD - 16)})))`,
    "(local.set $cp (local.get $wbase))",
    "(loop $schedule",
    ...schedCode.body.map((l) => `  ${l}`),
  );
  for (let c = 0; c < copies; c++) {
    outWords.forEach((n, u) => {
      code.body.push(`  (v128.store offset=${LAYOUT.w + _wOffset(16 + u, c, copies)} (local.get $wp) ${schedCode.vector(n, c)})`);
    });
  }
  code.body.push(
    `  (local.set $wp (i32.add (local.get $wp) (i32.const ${wordBytes * SCHEDULE_UNROLL})))`,
    `  (local.set $cp (i32.add (local.get $cp) (i32.const ${schedConstBytes})))`,
    `  (br_if $schedule (i32.lt_u (local.get $wp) (i32.add (local.get $wbase) (i32.const ${wordBytes * (64 - 16)})))))`,
  );

  // Round loop: rounds 8..63, ROUND_UNROLL per iteration; $wp -> W[t], $kp -> K[t].
  const rounds = new _Graph();
  const start = _STATE_NAMES.map((s) => rounds.input(s, 2)) as State;
  const end = _rounds(rounds, start, ROUND_UNROLL, (r) => [rounds.input(`k${r}`, 2), rounds.input(`w${r}`, 2)]);
  const roundConsts = multipliers.region("$cp", (64 - LOOP_ROUND) / ROUND_UNROLL);
  const roundCode = _emit(rounds, end, copies, {
    scalar: () => { throw new Error("round loop has no per-call input"); },
    vector: (name, c) => {
      if (name.startsWith("k")) return `(v128.load offset=${LAYOUT.k + 16 * Number(name.slice(1))} (local.get $kp))`;
      if (name.startsWith("w")) return `(v128.load offset=${LAYOUT.w + _wOffset(Number(name.slice(1)), c, copies)} (local.get $wp))`;
      return `(local.get $${name}_${c})`;
    },
  }, "r", mul ? roundConsts.use : undefined);
  const roundConstBytes = roundConsts.close();
  add(roundCode);
  code.body.push(
    `(local.set $wp (i32.add (local.get $wbase) (i32.const ${wordBytes * LOOP_ROUND})))`,
    `(local.set $kp (i32.add (local.get $wbase) (i32.const ${16 * LOOP_ROUND})))`,
    "(local.set $cp (local.get $wbase))",
    "(loop $round",
    ...roundCode.body.map((l) => `  ${l}`),
  );
  for (let c = 0; c < copies; c++) end.forEach((n, i) => code.body.push(`  (local.set $${_STATE_NAMES[i]}_${c} ${roundCode.vector(n, c)})`));
  code.body.push(
    `  (local.set $wp (i32.add (local.get $wp) (i32.const ${wordBytes * ROUND_UNROLL})))`,
    `  (local.set $kp (i32.add (local.get $kp) (i32.const ${16 * ROUND_UNROLL})))`,
    `  (local.set $cp (i32.add (local.get $cp) (i32.const ${roundConstBytes})))`,
    `  (br_if $round (i32.lt_u (local.get $kp) (i32.add (local.get $wbase) (i32.const ${16 * 64})))))`,
  );
  return code;
}

/** The mask whose AND with the first digest word is zero exactly when `bits` leading bits are. */
const _MASK_FUNC = `
  (func $mask (param $bits i32) (result i32)
    (select (i32.const 0) (i32.shl (i32.const -1) (i32.sub (i32.const 32) (local.get $bits))) (i32.eqz (local.get $bits))))`;

/** The per-lane difficulty test shared by `search` and `meets`: all-ones lanes pass. */
function _passes(h0: string, mask: string): string {
  return `(i32x4.eq (v128.and ${h0} ${mask}) (v128.const i64x2 0 0))`;
}

function _midstateWord(i: number): string {
  return `(i32x4.splat (i32.load offset=${LAYOUT.midstate + 4 * i} (i32.const 0)))`;
}

function _searchFunc(shape: KernelShape, multipliers: _Multipliers): string {
  const { copies } = shape;
  const { locals, prologue, body } = _groupCode(shape, multipliers);
  const lanes = 4 * copies;
  const ids = Array.from({ length: copies }, (_, c) => c);
  const anyHit = ids.slice(1).reduce((acc, c) => `(v128.or ${acc} (local.get $hit_${c}))`, "(local.get $hit_0)");
  const bitmask = ids
    .map((c) => `(i32.shl (i32x4.bitmask (local.get $hit_${c})) (i32.const ${4 * c}))`)
    .reduce((acc, x) => `(i32.or ${acc} ${x})`);
  const laneBase = (c: number) => (c === 0 ? "(local.get $base)" : `(i32x4.add (local.get $base) (v128.const i32x4 ${4 * c} ${4 * c} ${4 * c} ${4 * c}))`);
  return `
  ;; Tries lo = loStart, loStart+1, ... (count of them, count < 2^31) with the midstate in memory.
  ;; Returns the index (lo - loStart) of the first lo whose digest meets \`bits\`, or -1.
  ;; On a hit, the first digest words of the whole ${lanes}-lane group are left at groupH0.
  (func (export "search") (param $hi i32) (param $loStart i32) (param $count i32) (param $bits i32) (result i32)
    (local $mask v128) (local $m0 v128) (local $base v128) (local $done i32) (local $index i32)
    ${ids.map((c) => `(local $lo_${c} v128) (local $h0_${c} v128) (local $hit_${c} v128)`).join(" ")}
    ${locals.join(" ")}
    (if (i32.eqz (local.get $count)) (then (return (i32.const -1))))
    (local.set $mask (i32x4.splat (call $mask (local.get $bits))))
    (local.set $m0 ${_midstateWord(0)})
    (local.set $base (i32x4.add (i32x4.splat (local.get $loStart)) (v128.const i32x4 0 1 2 3)))
    ${prologue.join("\n    ")}
    (loop $next
      ${ids.map((c) => `(local.set $lo_${c} ${laneBase(c)})`).join("\n      ")}
      ${body.join("\n      ")}
      ${ids.map((c) => `(local.set $h0_${c} (i32x4.add (local.get $a_${c}) (local.get $m0)))`).join("\n      ")}
      ${ids.map((c) => `(local.set $hit_${c} ${_passes(`(local.get $h0_${c})`, "(local.get $mask)")})`).join("\n      ")}
      (if (v128.any_true ${anyHit})
        (then
          ${ids.map((c) => `(v128.store offset=${LAYOUT.groupH0 + 16 * c} (i32.const 0) (local.get $h0_${c}))`).join("\n          ")}
          (local.set $index (i32.add (local.get $done) (i32.ctz ${bitmask})))
          (return (select (local.get $index) (i32.const -1) (i32.lt_u (local.get $index) (local.get $count))))))
      (local.set $base (i32x4.add (local.get $base) (v128.const i32x4 ${lanes} ${lanes} ${lanes} ${lanes})))
      (local.set $done (i32.add (local.get $done) (i32.const ${lanes})))
      (br_if $next (i32.lt_u (local.get $done) (local.get $count))))
    (i32.const -1))`;
}

function _digestFunc(shape: KernelShape, multipliers: _Multipliers): string {
  const { locals, prologue, body } = _groupCode({ ...shape, copies: 1 }, multipliers);
  const stores = _STATE_NAMES.map((s, i) =>
    `(v128.store offset=${LAYOUT.digest + 16 * i} (i32.const 0) (i32x4.add (local.get $${s}_0) ${_midstateWord(i)}))`);
  return `
  ;; The digest words of lo, lo+1, lo+2, lo+3 (word-major at \`digest\`), through the same code as search.
  (func (export "digest") (param $hi i32) (param $lo i32)
    (local $lo_0 v128)
    ${locals.join(" ")}
    ${prologue.join("\n    ")}
    (local.set $lo_0 (i32x4.add (i32x4.splat (local.get $lo)) (v128.const i32x4 0 1 2 3)))
    ${body.join("\n    ")}
    ${stores.join("\n    ")})`;
}

/** Each word splatted to 4 little-endian lanes, as a data-segment string. */
function _splatData(words: readonly number[]): string {
  let s = "";
  for (const k of words) {
    for (let lane = 0; lane < 4; lane++) {
      for (let byte = 0; byte < 4; byte++) s += `\\${((k >>> (8 * byte)) & 255).toString(16).padStart(2, "0")}`;
    }
  }
  return s;
}

/** The module of `shape` as WebAssembly text. Deterministic: same input, same text. */
export function generateKernelWat(shape: KernelShape = SHAPES[0]!): string {
  if (LAYOUT.w + 16 * 64 * shape.copies > LAYOUT.multipliers) throw new RangeError(`Cannot generate: ${shape.copies} copies overflow the schedule area`);
  const multipliers = new _Multipliers();
  const search = _searchFunc(shape, multipliers);
  const digest = _digestFunc(shape, multipliers);
  const pages = Math.ceil(multipliers.end / 65536);
  return `;; GENERATED by scripts/gen-kernel-wat.ts (do not edit): SHA-256 hashcash search, shape "${shape.name}".
(module
  (memory (export "memory") ${pages})
  (global (export "LANES") i32 (i32.const ${4 * shape.copies}))
  (global (export "MIDSTATE") i32 (i32.const ${LAYOUT.midstate}))
  (global (export "GROUP_H0") i32 (i32.const ${LAYOUT.groupH0}))
  (global (export "DIGEST") i32 (i32.const ${LAYOUT.digest}))
  (data (i32.const ${LAYOUT.k}) "${_splatData(K)}")
  ${multipliers.data().join("\n  ")}
  ${_MASK_FUNC}

  ;; The difficulty test of search on one first digest word (for tests): 1 when it passes.
  (func (export "meets") (param $h0 i32) (param $bits i32) (result i32)
    (i32.ne (i32.const 0) (i32x4.extract_lane 0 ${_passes("(i32x4.splat (local.get $h0))", "(i32x4.splat (call $mask (local.get $bits)))")})))
${search}
${digest}
)
`;
}

if (import.meta.main) {
  const name = process.argv[2] ?? "v8";
  const shape = SHAPES.find((s) => s.name === name);
  if (!shape) throw new RangeError(`Unknown shape "${name}": expected ${SHAPES.map((s) => s.name).join(" or ")}`);
  const out = process.argv[3];
  const wat = generateKernelWat(shape);
  if (out) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(out, wat);
  } else {
    console.log(wat);
  }
}
