/**
 * pprof profiles (github.com/google/pprof, proto/profile.proto) from what the runtime's profilers return
 * (runtime/inspector.ts), so `go tool pprof` and every tool that reads Go's profiles opens them:
 *
 * - cpuPprof(): a DevTools CPU profile -> sample types samples/count and cpu/nanoseconds, as Go's CPU
 *   profile has. Each call-tree node becomes a sample whose stack is its path to the root.
 * - samplingHeapPprof(): V8's sampling heap profile (live sampled objects with their allocation stacks)
 *   -> inuse_objects/count and inuse_space/bytes, the in-use half of Go's heap profile.
 * - snapshotHeapPprof(): a V8-format heap snapshot -> the same two sample types, where each "stack" is
 *   the object's kind and constructor name (`(object) > Map`): what the heap holds, not where it came from.
 *
 * Pure: plain values in, encoded bytes out (gzip it for the wire, as Go's handlers do). The DevTools
 * protocol counts lines from 0 and pprof from 1. Functions are known only by their start line, so a
 * location is a function.
 * @module
 */
import { Function as PFunction, Line, Location, Profile, Sample, StringTable, ValueType } from "pprof-format";
import type { CdpCallFrame, CdpCpuProfile, CdpHeapNode, CdpSamplingHeapProfile } from "../runtime/inspector.ts";

/** Builds the string, function and location tables of one profile. */
class _Tables {
  readonly strings = new StringTable();
  readonly functions: PFunction[] = [];
  readonly locations: Location[] = [];
  readonly #byKey = new Map<string, number>();

  /** The location id of a frame, one per distinct function. */
  location(name: string, file: string, line: number): number {
    const key = `${name}\0${file}\0${line}`;
    let id = this.#byKey.get(key);
    if (id === undefined) {
      id = this.functions.length + 1;
      const n = this.strings.dedup(name);
      this.functions.push(new PFunction({ id, name: n, systemName: n, filename: this.strings.dedup(file), startLine: line }));
      this.locations.push(new Location({ id, line: [new Line({ functionId: id, line })] }));
      this.#byKey.set(key, id);
    }
    return id;
  }

  frame(f: CdpCallFrame): number {
    return this.location(f.functionName || "(anonymous)", f.url, f.lineNumber >= 0 ? f.lineNumber + 1 : 0);
  }

  type(type: string, unit: string): ValueType {
    return new ValueType({ type: this.strings.dedup(type), unit: this.strings.dedup(unit) });
  }
}

export interface CpuPprofOptions {
  /** The sampling interval the profiler was asked for, microseconds. */
  readonly intervalUs: number;
  /** Wall-clock start of the profile, ms since the epoch. */
  readonly startedAtMs: number;
  readonly comment?: string;
}

/** A DevTools CPU profile as an encoded (not gzipped) pprof profile. */
export function cpuPprof(p: CdpCpuProfile, o: CpuPprofOptions): Uint8Array {
  const t = new _Tables();
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Samples per node (a profile without the samples array still has hit counts). CPU time is samples
  // times the interval, as in Go's profiles, not the time between samples: Bun's sampler takes no
  // samples while the thread waits for I/O, so the gap before a sample would count the idle time as
  // the sampled function's. V8 (Deno) samples that time as "(idle)" instead.
  const hits = new Map<number, number>();
  if (p.samples && p.samples.length > 0) for (const id of p.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  else for (const n of p.nodes) if (n.hitCount) hits.set(n.id, n.hitCount);
  const sample: Sample[] = [];
  for (const [id, count] of hits) {
    const stack: number[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node || (node.callFrame.functionName === "(root)" && !parent.has(cur))) break;
      stack.push(t.frame(node.callFrame));
    }
    if (stack.length === 0) stack.push(t.location("(root)", "", 0));
    sample.push(new Sample({ locationId: stack, value: [count, count * o.intervalUs * 1000] }));
  }
  const cpu = t.type("cpu", "nanoseconds");
  return new Profile({
    sampleType: [t.type("samples", "count"), cpu],
    sample,
    location: t.locations,
    function: t.functions,
    stringTable: t.strings,
    timeNanos: BigInt(Math.round(o.startedAtMs)) * 1_000_000n,
    durationNanos: Math.max(0, Math.round((p.endTime - p.startTime) * 1000)),
    periodType: cpu,
    period: o.intervalUs * 1000,
    comment: o.comment ? [t.strings.dedup(o.comment)] : [],
  }).encode();
}

export interface HeapPprofOptions {
  readonly takenAtMs: number;
  readonly comment?: string;
}

/** V8's sampling heap profile (live objects, by allocation stack) as an encoded pprof profile. */
export function samplingHeapPprof(p: CdpSamplingHeapProfile, intervalBytes: number, o: HeapPprofOptions): Uint8Array {
  const t = new _Tables();
  // selfSize is V8's estimate of the bytes (scaled for sampling); objects are estimated from the
  // node's raw samples the same way.
  const raw = new Map<number, { count: number; bytes: number }>();
  for (const s of p.samples) {
    const r = raw.get(s.nodeId) ?? { count: 0, bytes: 0 };
    r.count++;
    r.bytes += s.size;
    raw.set(s.nodeId, r);
  }
  const sample: Sample[] = [];
  const walk = (node: CdpHeapNode, stack: number[]) => {
    const here = node.callFrame.functionName === "(root)" && stack.length === 0 ? stack : [t.frame(node.callFrame), ...stack];
    if (node.selfSize > 0) {
      const r = raw.get(node.id);
      const objects = r && r.bytes > 0 ? Math.max(1, Math.round((r.count * node.selfSize) / r.bytes)) : 0;
      sample.push(new Sample({ locationId: here.length ? here : [t.location("(root)", "", 0)], value: [objects, node.selfSize] }));
    }
    for (const c of node.children) walk(c, here);
  };
  walk(p.head, []);
  const space = t.type("space", "bytes");
  return new Profile({
    sampleType: [t.type("inuse_objects", "count"), t.type("inuse_space", "bytes")],
    sample,
    location: t.locations,
    function: t.functions,
    stringTable: t.strings,
    timeNanos: BigInt(Math.round(o.takenAtMs)) * 1_000_000n,
    periodType: space,
    period: intervalBytes,
    comment: o.comment ? [t.strings.dedup(o.comment)] : [],
  }).encode();
}

/** The parts of a V8 .heapsnapshot this reads. */
interface _Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** A V8-format heap snapshot (JSON text) as an encoded pprof profile of live objects by kind and constructor. */
export function snapshotHeapPprof(snapshotJson: string, o: HeapPprofOptions): Uint8Array {
  const s = JSON.parse(snapshotJson) as _Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  if (width === 0 || typeAt! < 0 || nameAt! < 0 || sizeAt! < 0) throw new TypeError("Cannot read heap snapshot: node_fields lacks type, name or self_size");
  const types = s.snapshot.meta.node_types[0];
  const groups = new Map<string, { kind: string; name: string; count: number; bytes: number }>();
  for (let i = 0; i + width <= s.nodes.length; i += width) {
    const kind = types[s.nodes[i + typeAt!]!] ?? "unknown";
    const bytes = s.nodes[i + sizeAt!]!;
    if (kind === "synthetic") continue; // GC roots: no memory of their own
    // Objects by constructor; everything else (strings, code, closures, ...) by kind alone.
    const name = kind === "object" || kind === "native" ? (s.strings[s.nodes[i + nameAt!]!] ?? "?") : "";
    const key = `${kind}\0${name}`;
    const g = groups.get(key) ?? { kind, name, count: 0, bytes: 0 };
    g.count++;
    g.bytes += bytes;
    groups.set(key, g);
  }
  const t = new _Tables();
  const sample = [...groups.values()].map((g) => {
    const kind = t.location(`(${g.kind})`, "", 0);
    return new Sample({ locationId: g.name ? [t.location(g.name, "", 0), kind] : [kind], value: [g.count, g.bytes] });
  });
  return new Profile({
    sampleType: [t.type("inuse_objects", "count"), t.type("inuse_space", "bytes")],
    sample,
    location: t.locations,
    function: t.functions,
    stringTable: t.strings,
    timeNanos: BigInt(Math.round(o.takenAtMs)) * 1_000_000n,
    periodType: t.type("space", "bytes"),
    period: 1,
    comment: o.comment ? [t.strings.dedup(o.comment)] : [],
  }).encode();
}
