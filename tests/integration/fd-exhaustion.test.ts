/**
 * Issue 14: a listener whose process runs out of descriptors reports it (ListenOptions.onAcceptError)
 * and accepts again once the flood lets go. The listener runs in a child on the runtime running the
 * tests, under `ulimit -n 64`; this process floods it from loopback with more connections than that.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import { runtimeName } from "../../src/shared/transport/index.ts";
import { signal } from "../helpers/cli.ts";

const LIMIT = 64;
const FLOOD = 100;
const TRANSPORT_INDEX = new URL("../../src/shared/transport/index.ts", import.meta.url).href;
const FD_LIMITS = new URL("../../src/shared/runtime/fd-limits.ts", import.meta.url).href;

/**
 * The child: an echo listener on the chosen transport, one JSON line on stdout per event. It listens for
 * SIGTERM first, as `wisdom serve` does: Deno 2.9 sets its signal handling up lazily in the first few
 * hundred ms, and doing so with no descriptor free panics (ext/signals/lib.rs:58, measured).
 */
const CHILD = `
process.on("SIGTERM", () => process.exit(0));
const { pickTransport } = await import(${JSON.stringify(TRANSPORT_INDEX)});
const t = await pickTransport(process.env.WISDOM_FD_TRANSPORT || undefined);
const say = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
const l = await t.listen(
  { host: "127.0.0.1", port: 0, onAcceptError: (e) => say({ acceptError: e.code, message: e.message }) },
  { open: (c) => c, data: (c, chunk) => c.write(chunk.slice()), close() {} },
);
say({ port: l.port, transport: t.name });
`;

interface Child {
  proc: ChildProcess;
  port: number;
  errors: { acceptError: string; message: string }[];
  stderr(): string;
}

/** Start the child under an open-file limit of LIMIT (sh's ulimit: no util-linux needed). */
function spawnLimited(code: string, env: Record<string, string> = {}): ChildProcess {
  const evalArgs = runtimeName() === "deno" ? ["eval", code] : ["-e", code];
  return spawn("sh", ["-c", `ulimit -n ${LIMIT} && exec "$0" "$@"`, process.execPath, ...evalArgs], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

async function startChild(transport: string): Promise<Child> {
  const proc = spawnLimited(CHILD, { WISDOM_FD_TRANSPORT: transport });
  let out = "", err = "";
  const errors: Child["errors"] = [];
  let port = 0;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start: ${err}`)), 10_000);
    proc.stderr!.on("data", (d) => (err += d));
    proc.stdout!.on("data", (d) => {
      out += d;
      const lines = out.split("\n");
      out = lines.pop()!;
      for (const line of lines) {
        const o = JSON.parse(line);
        if (o.acceptError) errors.push(o);
        if (o.port) {
          port = o.port;
          clearTimeout(timer);
          resolve();
        }
      }
    });
    proc.on("exit", (code) => reject(new Error(`child exited ${code}: ${err}`)));
  });
  await ready;
  return { proc, port, errors, stderr: () => err };
}

async function stopChild(c: Child): Promise<void> {
  if (c.proc.exitCode !== null) return;
  const exited = new Promise((r) => c.proc.on("exit", r));
  signal(c.proc, "SIGKILL");
  await exited;
}

/** Connect, send a byte, resolve with whether it came back within `ms`. */
function echoes(port: number, ms: number, keep?: net.Socket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      clearTimeout(timer);
      if (!keep) s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    keep?.push(s);
    s.on("connect", () => s.write("x"));
    s.once("data", () => done(true));
    s.on("error", () => done(false));
    s.on("close", () => done(false));
  });
}

const until = async (cond: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  return cond();
};

const name = runtimeName();
// Deno 2.9's node:net stops accepting for good after an EMFILE (measured), so there only the native
// transport is checked; on Bun, node:net recovers and both are.
const transports = name === "node" ? [] : name === "deno" ? ["deno"] : ["bun", "node"];

describe(`a listener out of descriptors (ulimit -n ${LIMIT}, ${FLOOD} connections)`, () => {
  for (const transport of transports) {
    test(`the ${transport} transport reports the failed accepts and accepts again after the flood`, { timeout: 15_000 }, async () => {
      const child = await startChild(transport);
      const flood: net.Socket[] = [];
      try {
        assert.equal(await echoes(child.port, 2000), true, "serves before the flood");
        const answered = Promise.all(Array.from({ length: FLOOD }, () => echoes(child.port, 4000, flood)));
        // Deno reports each failed accept at once; Bun and node:net are probed once a second.
        assert.equal(await until(() => child.errors.length > 0, 4000), true, `an accept error was reported (child stderr: ${child.stderr()})`);
        assert.equal(child.errors[0].acceptError, "EMFILE", child.errors[0].message);
        const n = (await answered).filter(Boolean).length;
        assert.ok(n > 0 && n < FLOOD, `some flood connections were served, not all: ${n}`);
        for (const s of flood) s.destroy();
        flood.length = 0;
        await new Promise((r) => setTimeout(r, 300)); // the child sees the closes
        assert.equal(await echoes(child.port, 3000), true, `serves again once descriptors are free (exit ${child.proc.exitCode}, errors ${child.errors.length}, served ${n}, stderr ${child.stderr()})`);
        assert.equal(child.proc.exitCode, null, "the listener's process is still up");
      } finally {
        for (const s of flood) s.destroy();
        await stopChild(child);
      }
    });
  }
});

describe(`probeDescriptors() under ulimit -n ${LIMIT} (what Deno without --allow-all gets instead of /proc)`, () => {
  test("finds the limit and the descriptors in use, as /proc shows them", { timeout: 15_000, skip: name === "node" || process.platform !== "linux" }, async () => {
    const code = `
const { countOpenFds, probeDescriptors, readFdLimit } = await import(${JSON.stringify(FD_LIMITS)});
const limit = readFdLimit();
const inUse = countOpenFds(limit);
const probed = probeDescriptors(10000);
const after = countOpenFds(limit);
process.stdout.write(JSON.stringify({ probed, inUse, after, limit: limit.soft }));
`;
    const proc = spawnLimited(code);
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    await new Promise((r) => proc.on("exit", r));
    const r = JSON.parse(out);
    assert.equal(r.limit, LIMIT);
    assert.deepEqual(r.probed, { limit: LIMIT, inUse: r.inUse, source: "probe" });
    assert.equal(r.after, r.inUse, "the probe closed what it opened");
  });
});
