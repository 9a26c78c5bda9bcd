/** pprof encoding of the runtime's profiles (observe/pprof.ts), the one-at-a-time rule (observe/profiles.ts) and profile files. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Profile } from "pprof-format";
import { cpuPprof, samplingHeapPprof, snapshotHeapPprof } from "../../src/shared/observe/pprof.ts";
import { CPU_INTERVAL_US, ProfileBusyError, type ProfilerPort, Profiles } from "../../src/shared/observe/profiles.ts";
import { profileDirProblems, profilePath, writeCpuProfile } from "../../src/shared/observe/profile-file.ts";
import type { CdpCallFrame, CdpCpuProfile } from "../../src/shared/runtime/inspector.ts";

const frame = (functionName: string, url = "file:///app/x.ts", lineNumber = 9): CdpCallFrame => ({ functionName, scriptId: "1", url, lineNumber, columnNumber: 0 });

/** Each sample as its stack of function names, leaf first, with its values. */
function stacks(p: Profile): { names: string[]; files: string[]; lines: number[]; value: number[] }[] {
  const s = p.stringTable.strings;
  const fn = new Map(p.function.map((f) => [Number(f.id), f]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  return p.sample.map((x) => {
    const fs = x.locationId.map((id) => fn.get(Number(loc.get(Number(id))!.line[0]!.functionId))!);
    return {
      names: fs.map((f) => s[Number(f.name)]!),
      files: fs.map((f) => s[Number(f.filename)]!),
      lines: x.locationId.map((id) => Number(loc.get(Number(id))!.line[0]!.line)),
      value: x.value.map(Number),
    };
  });
}

const typeNames = (p: Profile) => p.sampleType.map((t) => `${p.stringTable.strings[Number(t.type)]}/${p.stringTable.strings[Number(t.unit)]}`);

// root -> main -> hot, main -> cold; samples: hot, hot, cold, main (timeDeltas in microseconds, one long gap)
const CPU: CdpCpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)", "", -1), children: [2] },
    { id: 2, callFrame: frame("main"), children: [3, 4] },
    { id: 3, callFrame: frame("hot", "file:///app/gate.ts", 41) },
    { id: 4, callFrame: frame("", "file:///app/gate.ts", 99) },
  ],
  startTime: 1_000,
  endTime: 5_000,
  samples: [3, 3, 4, 2],
  timeDeltas: [1000, 1000, 900_000, 1100],
};

describe("cpuPprof()", () => {
  test("encodes samples/count and cpu/nanoseconds per call-tree node, stacks leaf first without (root)", () => {
    const p = Profile.decode(cpuPprof(CPU, { intervalUs: 1000, startedAtMs: 1_700_000_000_000, comment: "test" }));
    assert.deepEqual(typeNames(p), ["samples/count", "cpu/nanoseconds"]);
    assert.equal(Number(p.period), 1_000_000);
    assert.equal(Number(p.durationNanos), 4_000_000);
    assert.equal(BigInt(p.timeNanos), 1_700_000_000_000n * 1_000_000n);
    const byLeaf = new Map(stacks(p).map((s) => [s.names[0], s]));
    assert.deepEqual(byLeaf.get("hot")!.names, ["hot", "main"]);
    assert.deepEqual(byLeaf.get("hot")!.value, [2, 2_000_000]);
    assert.deepEqual(byLeaf.get("hot")!.files, ["file:///app/gate.ts", "file:///app/x.ts"]);
    assert.deepEqual(byLeaf.get("hot")!.lines, [42, 10], "lines count from 1 in pprof");
    // samples x interval, not the gaps between samples (Bun leaves idle time unsampled)
    assert.deepEqual(byLeaf.get("(anonymous)")!.value, [1, 1_000_000]);
    assert.deepEqual(byLeaf.get("main")!.names, ["main"]);
    assert.equal(stacks(p).length, 3);
    assert.equal(p.stringTable.strings[Number(p.comment[0])], "test");
  });

  test("falls back to hit counts when the profile has no samples array", () => {
    const { samples: _s, timeDeltas: _t, ...rest } = CPU;
    const nodes = CPU.nodes.map((n) => (n.id === 3 ? { ...n, hitCount: 5 } : n));
    const p = Profile.decode(cpuPprof({ ...rest, nodes }, { intervalUs: 250, startedAtMs: 0 }));
    assert.deepEqual(stacks(p).map((s) => [s.names[0], ...s.value]), [["hot", 5, 1_250_000]]);
  });
});

describe("samplingHeapPprof()", () => {
  test("encodes inuse_objects and inuse_space by allocation stack from selfSize and the raw samples", () => {
    const head = {
      callFrame: frame("(root)", "", -1), selfSize: 0, id: 1, children: [
        { callFrame: frame("serve"), selfSize: 0, id: 2, children: [
          { callFrame: frame("makeBuffers"), selfSize: 2_097_152, id: 3, children: [] },
          { callFrame: frame("small"), selfSize: 1024, id: 4, children: [] },
        ] },
      ],
    };
    const samples = [{ size: 65536, nodeId: 3, ordinal: 1 }, { size: 65536, nodeId: 3, ordinal: 2 }, { size: 1024, nodeId: 4, ordinal: 3 }];
    const p = Profile.decode(samplingHeapPprof({ head, samples }, 524288, { takenAtMs: 0 }));
    assert.deepEqual(typeNames(p), ["inuse_objects/count", "inuse_space/bytes"]);
    assert.equal(Number(p.period), 524288);
    const byLeaf = new Map(stacks(p).map((s) => [s.names[0], s]));
    assert.deepEqual(byLeaf.get("makeBuffers")!.names, ["makeBuffers", "serve"]);
    // 2 samples of 64 KiB standing for 2 MiB: 32 objects
    assert.deepEqual(byLeaf.get("makeBuffers")!.value, [32, 2_097_152]);
    assert.deepEqual(byLeaf.get("small")!.value, [1, 1024]);
    assert.equal(stacks(p).length, 2, "nodes without bytes of their own are no samples");
  });
});

describe("snapshotHeapPprof()", () => {
  test("groups a V8 heap snapshot's nodes by kind, and objects by constructor; synthetic roots are left out", () => {
    const snap = {
      snapshot: { meta: { node_fields: ["type", "name", "id", "self_size", "edge_count"], node_types: [["hidden", "array", "string", "object", "code", "closure", "regexp", "number", "native", "synthetic"]] } },
      // type, name, id, self_size, edge_count
      nodes: [9, 0, 1, 0, 3, 3, 1, 2, 64, 0, 3, 1, 3, 64, 0, 3, 2, 4, 32, 0, 2, 3, 5, 100, 0, 2, 3, 6, 20, 0],
      strings: ["(GC roots)", "Map", "Object", "hello"],
    };
    const p = Profile.decode(snapshotHeapPprof(JSON.stringify(snap), { takenAtMs: 0 }));
    assert.deepEqual(typeNames(p), ["inuse_objects/count", "inuse_space/bytes"]);
    const got = stacks(p).map((s) => `${s.names.join("<")}=${s.value.join(",")}`).sort();
    assert.deepEqual(got, ["(string)=2,120", "Map<(object)=2,128", "Object<(object)=1,32"]);
  });

  test("a snapshot without the needed fields is a TypeError", () => {
    assert.throws(() => snapshotHeapPprof(JSON.stringify({ snapshot: { meta: { node_fields: ["id"], node_types: [[]] } }, nodes: [], strings: [] }), { takenAtMs: 0 }), TypeError);
  });
});

/** A profiler that answers after `ms` with CPU above, or never (until released). */
function fakePort(): ProfilerPort & { asked: number[]; release(): void } {
  let release = () => {};
  const asked: number[] = [];
  return {
    asked,
    release: () => release(),
    cpuProfile: (ms, intervalUs) => {
      asked.push(ms, intervalUs);
      return new Promise((resolve) => (release = () => resolve(CPU)));
    },
    heap: () => Promise.resolve({ kind: "snapshot", snapshot: JSON.stringify({ snapshot: { meta: { node_fields: ["type", "name", "self_size"], node_types: [["object"]] } }, nodes: [0, 0, 8], strings: ["Thing"] }) }),
  };
}

describe("Profiles", () => {
  test("cpu() takes one profile at a time: a second call while one runs is a ProfileBusyError, and after it ends one may start", async () => {
    const port = fakePort();
    const profiles = new Profiles(port, "test", () => 0);
    const first = profiles.cpu(2);
    assert.equal(profiles.cpuBusy, true);
    await assert.rejects(profiles.cpu(1), ProfileBusyError);
    port.release();
    const body = await first;
    assert.equal(profiles.cpuBusy, false);
    assert.deepEqual(port.asked, [2000, CPU_INTERVAL_US]);
    assert.ok(Profile.decode(gunzipSync(body)).sample.length > 0);
    const again = profiles.cpu(1);
    port.release();
    await again;
  });

  test("cpu() refuses seconds outside 1..60 or not whole, without starting the profiler", async () => {
    const port = fakePort();
    const profiles = new Profiles(port, "test");
    for (const s of [0, -1, 61, 1.5, Number.NaN]) await assert.rejects(profiles.cpu(s), RangeError, String(s));
    assert.deepEqual(port.asked, []);
    assert.equal(profiles.cpuBusy, false);
  });

  test("heap() says which kind it gave and gzips pprof", async () => {
    const h = await new Profiles(fakePort(), "test").heap();
    assert.equal(h.kind, "snapshot");
    assert.deepEqual(stacks(Profile.decode(gunzipSync(h.body))).map((s) => s.names), [["Thing", "(object)"]]);
  });
});

describe("profile files (profile_dir)", () => {
  test("profileDirProblems() accepts a writable directory and names a missing one or a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "wisdom-prof-"));
    try {
      assert.deepEqual(profileDirProblems(dir), []);
      assert.match(profileDirProblems(join(dir, "nope")).join(), /does not exist/);
      writeFileSync(join(dir, "f"), "");
      assert.match(profileDirProblems(join(dir, "f")).join(), /is not a directory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("writeCpuProfile() writes a new gzipped pprof file named by pid and UTC time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wisdom-prof-"));
    try {
      const port = fakePort();
      const at = Date.UTC(2026, 11, 4, 19, 5, 6);
      const writing = writeCpuProfile(new Profiles(port, "test"), dir, 1, () => at);
      await new Promise((r) => setTimeout(r, 0));
      port.release();
      const path = await writing;
      assert.equal(path, profilePath(dir, process.pid, at));
      assert.match(path, new RegExp(`wisdom-cpu-${process.pid}-20261204T190506Z\\.pb\\.gz$`));
      assert.ok(Profile.decode(gunzipSync(readFileSync(path))).sample.length > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
