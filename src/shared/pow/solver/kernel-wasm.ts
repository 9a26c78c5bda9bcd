/**
 * The WebAssembly SIMD hashcash kernel: the whole search loop runs inside the module, 4 counters
 * per i32x4 vector, and JavaScript only hands it a midstate and a range. The modules are embedded
 * (kernel-wasm-bytes.ts) and instantiated synchronously, so they cost no file read and no await.
 *
 * There are two builds of the same code (scripts/gen-kernel-wat.ts, KernelShape): "jsc" writes
 * left shifts as multiplications, which JavaScriptCore compiles far better (Bun: +25%), "v8"
 * keeps shifts, which V8 compiles best (Deno: +40% over "jsc"). The engine is told apart by
 * navigator.userAgent, the one standard place that names it.
 * @module
 */
import { KERNEL_WASM_BASE64 } from "./kernel-wasm-bytes.ts";
import { digestBytes, midstate } from "./sha256-core.ts";
import { checkSearchArgs, type Kernel, type SearchResult, SolverError } from "./types.ts";

interface _Exports {
  memory: WebAssembly.Memory;
  LANES: WebAssembly.Global;
  MIDSTATE: WebAssembly.Global;
  GROUP_H0: WebAssembly.Global;
  DIGEST: WebAssembly.Global;
  search(hi: number, loStart: number, count: number, bits: number): number;
  digest(hi: number, lo: number): void;
  meets(h0: number, bits: number): number;
}

/** The SIMD kernel plus the entry points that tests use to check it against a reference. */
export interface WasmKernel extends Kernel {
  /** Which build of the module runs. */
  readonly shape: WasmShape;
  /** Counters hashed per loop iteration. */
  readonly lanes: number;
  /** SHA-256(prefix || counter) for lo, lo+1, lo+2, lo+3, through the kernel's own code. */
  digests(prefix: Uint8Array, hi: number, lo: number): Uint8Array[];
  /** First digest word (unsigned) of each counter of the lane group starting at lo, via `search`. */
  groupFirstWords(prefix: Uint8Array, hi: number, lo: number): number[];
  /** The kernel's difficulty test on a first digest word. */
  meets(h0: number, bits: number): boolean;
}

export type WasmShape = keyof typeof KERNEL_WASM_BASE64;

/** Every build of the module. */
export const WASM_SHAPES = Object.keys(KERNEL_WASM_BASE64) as WasmShape[];

const _bytes = new Map<WasmShape, Uint8Array>();
const _modules = new Map<WasmShape, WebAssembly.Module>();
let _supported: boolean | undefined;

function _kernelBytes(shape: WasmShape): Uint8Array {
  let bytes = _bytes.get(shape);
  if (!bytes) {
    const binary = atob(KERNEL_WASM_BASE64[shape]);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    _bytes.set(shape, bytes);
  }
  return bytes;
}

/** True when this engine validates the module, i.e. has WebAssembly with 128-bit SIMD. */
export function wasmSimdSupported(): boolean {
  // Both builds use the same instructions: validating the one this engine runs is enough.
  _supported ??= typeof WebAssembly === "object" && WebAssembly.validate(_kernelBytes(preferredShape()) as BufferSource);
  return _supported;
}

/** The build that runs fastest on this engine: "jsc" under Bun (JavaScriptCore), "v8" elsewhere. */
export function preferredShape(): WasmShape {
  const agent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? "";
  return agent.startsWith("Bun/") ? "jsc" : "v8";
}

/** A new instance of the SIMD kernel (own memory); throws where WebAssembly SIMD is missing. */
export function createWasmKernel(shape: WasmShape = preferredShape()): WasmKernel {
  if (!wasmSimdSupported()) throw new SolverError("no-simd", "Cannot create the wasm-simd kernel: this engine has no WebAssembly SIMD");
  if (!WASM_SHAPES.includes(shape)) throw new RangeError(`Unknown kernel shape "${shape}": expected ${WASM_SHAPES.join(" or ")}`);
  let module = _modules.get(shape);
  if (!module) {
    module = new WebAssembly.Module(_kernelBytes(shape) as BufferSource);
    _modules.set(shape, module);
  }
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as _Exports;
  const lanes = ex.LANES.value as number;
  const words = new Int32Array(ex.memory.buffer);
  const midAt = (ex.MIDSTATE.value as number) / 4;
  const groupAt = (ex.GROUP_H0.value as number) / 4;
  const digestAt = (ex.DIGEST.value as number) / 4;

  const load = (prefix: Uint8Array) => words.set(midstate(prefix), midAt);

  const search = (prefix: Uint8Array, bits: number, hi: number, loStart: number, count: number): SearchResult => {
    checkSearchArgs(prefix, bits, hi, loStart, count);
    load(prefix);
    const index = ex.search(hi, loStart, count, bits);
    return index < 0 ? { found: -1, attempts: count } : { found: loStart + index, attempts: index + 1 };
  };

  return {
    name: "wasm-simd",
    shape,
    lanes,
    search,
    digests(prefix, hi, lo) {
      load(prefix);
      ex.digest(hi, lo);
      return [0, 1, 2, 3].map((lane) => digestBytes(Array.from({ length: 8 }, (_, w) => words[digestAt + 4 * w + lane]!)));
    },
    groupFirstWords(prefix, hi, lo) {
      load(prefix);
      if (ex.search(hi, lo, lanes, 0) !== 0) throw new SolverError("invalid-solution", "Kernel self-check failed: difficulty 0 did not hit at once");
      return Array.from(words.subarray(groupAt, groupAt + lanes), (x) => x >>> 0);
    },
    meets(h0, bits) {
      return ex.meets(h0, bits) === 1;
    },
  };
}
