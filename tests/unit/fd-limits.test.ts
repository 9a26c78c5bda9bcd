import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { openSync, closeSync, readFileSync } from "node:fs";
import { canOpenFd, countOpenFds, fdUsage, parseProcLimits, probeDescriptors, readFdLimit, startDescriptors } from "../../src/shared/runtime/fd-limits.ts";

// A /proc/self/limits as Linux 6.x prints it (fs/proc/base.c proc_pid_limits: fixed-width columns).
const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max processes             94615                94615                processes 
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
`;

describe("parseProcLimits()", () => {
  test("reads the soft and hard open-file limits", () => {
    assert.deepEqual(parseProcLimits(LIMITS), { soft: 1024, hard: 524288 });
  });
  test("reads unlimited as Infinity", () => {
    assert.deepEqual(parseProcLimits(LIMITS.replace("1024                 524288", "unlimited            unlimited")), { soft: Infinity, hard: Infinity });
  });
  test("returns null without a Max open files row", () => {
    assert.equal(parseProcLimits("Limit  Soft Limit  Hard Limit  Units\n"), null);
    assert.equal(parseProcLimits(""), null);
  });
});

// These read the real /proc of the process running the tests (Linux; this project's CI and VMs are).
const linux = process.platform === "linux";
// Deno without --allow-all denies /proc/self (npm test runs it with --allow-read, not -A): then the
// readers must say "unknown" (null) and startDescriptors() must fall back to its probe.
const procReadable = linux && (() => {
  try {
    readFileSync("/proc/self/limits", "utf8");
    return true;
  } catch {
    return false;
  }
})();

describe("readFdLimit() and countOpenFds() on this process", () => {
  test("the limit is the one /proc/self/limits shows, soft raised to hard by the runtime", { skip: !linux }, () => {
    if (!procReadable) return void assert.equal(readFdLimit(), null, "/proc denied: unknown");
    const limit = readFdLimit();
    assert.ok(limit, "readable on Linux");
    const row = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"))!;
    const [soft, hard] = row.replace("Max open files", "").trim().split(/\s+/);
    assert.equal(String(limit.soft), soft === "unlimited" ? "Infinity" : soft);
    assert.equal(String(limit.hard), hard === "unlimited" ? "Infinity" : hard);
    // Bun, Deno and Node all raise the soft limit to the hard one at start.
    assert.equal(limit.soft, limit.hard);
  });

  test("countOpenFds() follows descriptors opened and closed", { skip: !linux }, () => {
    if (!procReadable) return void assert.equal(countOpenFds(), null, "/proc denied: unknown");
    const before = countOpenFds();
    assert.ok(before !== null && before >= 3, `stdin, stdout, stderr at least, got ${before}`);
    const fds = Array.from({ length: 10 }, () => openSync("/dev/null", "r"));
    try {
      assert.equal(countOpenFds(), before + 10);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    assert.equal(countOpenFds(), before);
  });

  test("fdUsage() pairs the count with the soft limit", { skip: !linux }, () => {
    if (!procReadable) return void assert.equal(fdUsage(), null, "/proc denied: unknown");
    const u = fdUsage();
    assert.ok(u);
    assert.equal(u.max, readFdLimit()!.soft);
    assert.ok(u.open > 0 && u.open < u.max);
  });

  test("fdUsage() is null for an unknown or unlimited limit", () => {
    assert.equal(fdUsage(null), null);
    assert.equal(fdUsage({ soft: Infinity, hard: Infinity }), null);
  });

  test("canOpenFd() is true while descriptors are free", { skip: !linux }, () => {
    assert.equal(canOpenFd(), true);
  });
});

describe("startDescriptors() and probeDescriptors()", () => {
  test("startDescriptors() reads /proc where it can, and probes where it cannot", { skip: !linux }, () => {
    const d = startDescriptors(100);
    if (!procReadable) return void assert.deepEqual(d, { limit: null, inUse: 0, source: "probe" });
    assert.equal(d.source, "proc");
    assert.equal(d.limit, readFdLimit()!.soft);
    assert.ok(d.inUse > 0 && d.inUse < d.limit!);
  });

  test("probeDescriptors() below the limit: the limit stays unknown, every probe descriptor is closed again", () => {
    const before = procReadable ? countOpenFds() : null;
    assert.deepEqual(probeDescriptors(200), { limit: null, inUse: 0, source: "probe" });
    if (procReadable) assert.equal(countOpenFds(), before);
  });
});
