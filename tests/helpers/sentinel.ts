/**
 * Test helper: a disposable replicated set on 127.0.0.1 watched by Redis Sentinel: one primary, one
 * replica and three sentinels, all real processes (Debian's redis-server and redis-sentinel, or
 * valkey-server and valkey-sentinel), password-protected, nothing saved to disk, timings short so a
 * failover completes in a few seconds. `killPrimary()` is kill -9. Closed by `await using`.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { findOnPath, freePort } from "./redis.ts";

export type Flavor = "redis" | "valkey";

export interface SentinelSet extends AsyncDisposable {
  readonly flavor: Flavor;
  /** redis+sentinel://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C/NAME/0 */
  readonly url: string;
  readonly masterName: string;
  readonly password: string;
  /** The sentinels' own requirepass (also used between them: `sentinel sentinel-pass`). */
  readonly sentinelPassword: string;
  /** The data nodes' ports, in start order (the first starts as primary). */
  readonly nodePorts: readonly number[];
  /** The port the sentinels currently name as primary (asks the first one that answers). */
  primaryPort(): Promise<number>;
  /** kill -9 the current primary; resolves with its port once the process is gone. */
  killPrimary(): Promise<number>;
  /** Start a killed node again (empty, as a replica of whatever primary the sentinels know). */
  restartNode(port: number): Promise<void>;
  /** The last lines each sentinel logged (for a failure message). */
  sentinelLogs(): string;
  /** One command (arguments as strings) to a data node (authenticated) or a sentinel; the raw reply. */
  command(port: number, args: readonly string[], auth?: boolean): Promise<string>;
}

const _running = new Set<ChildProcess>();
let _exitHook = false;

const DOWN_AFTER_MS = 1000;
const FAILOVER_TIMEOUT_MS = 4000;

export interface SentinelSetOptions {
  /** requirepass on the data nodes and the sentinels (default true); the benchmark runs without, as the plain redis:// it compares with. */
  readonly auth?: boolean;
}

export async function startSentinelSet(flavor: Flavor, opts: SentinelSetOptions = {}): Promise<SentinelSet> {
  const auth = opts.auth ?? true;
  const serverBin = findOnPath(`${flavor}-server`);
  const sentinelBin = findOnPath(`${flavor}-sentinel`);
  const pkg = flavor === "redis" ? "redis-server redis-sentinel" : "valkey-server valkey-sentinel (bookworm-backports)";
  if (!serverBin || !sentinelBin) throw new Error(`${flavor}-server or ${flavor}-sentinel is not installed: install Debian's ${pkg} (node scripts/ensure-deps.mjs does)`);
  if (!_exitHook) {
    _exitHook = true;
    process.once("exit", () => {
      for (const p of _running) p.kill("SIGKILL");
    });
  }
  const dir = mkdtempSync(join(tmpdir(), `wisdom-sentinel-${flavor}-`));
  const password = `pw-${Math.random().toString(36).slice(2)}-${flavor}`;
  const sentinelPassword = `spw-${Math.random().toString(36).slice(2)}-${flavor}`;
  const masterName = "wisdom-primary";
  const nodePorts = [await freePort(), await freePort()];
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  const nodes = new Map<number, ChildProcess>();
  const sentinels: ChildProcess[] = [];
  const sentinelOutput: (() => string)[] = [];

  const nodeArgs = (port: number, primary: number | null) => [
    "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir,
    ...(auth ? ["--requirepass", password, "--masterauth", password] : []),
    "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1",
    ...(primary === null ? [] : ["--replicaof", "127.0.0.1", String(primary)]),
  ];
  const startNode = async (port: number, primary: number | null) => {
    const p = _spawn(serverBin, nodeArgs(port, primary), `${flavor}-server :${port}`);
    nodes.set(port, p.child);
    await _until(async () => (await command(port, ["PING"], true)).startsWith("+PONG"), 5000, () => `${flavor}-server on ${port} did not answer PING; output:\n${p.output()}`);
  };
  const command = (port: number, args: readonly string[], withAuth = false) => _resp(port, withAuth && auth ? [["AUTH", password], args] : [args]);
  const ask = (port: number, args: readonly string[]) => _resp(port, auth ? [["AUTH", sentinelPassword], args] : [args]);

  const self: SentinelSet = {
    flavor,
    get url() { // a getter: a sentinel whose port was taken meanwhile starts on another (below)
      return `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(",")}/${masterName}/0`;
    },
    masterName,
    password,
    sentinelPassword,
    nodePorts,
    command,
    sentinelLogs: () => sentinelOutput.map((o, i) => `sentinel ${i}:\n${o().split("\n").slice(-25).join("\n")}`).join("\n"),
    async primaryPort() {
      for (const s of sentinelPorts) {
        const reply = await ask(s, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName]).catch(() => "");
        const m = /\$\d+\r\n[\d.]+\r\n\$\d+\r\n(\d+)\r\n/.exec(reply);
        if (m) return Number(m[1]);
      }
      throw new Error("no sentinel names a primary");
    },
    async killPrimary() {
      const port = await self.primaryPort();
      const child = nodes.get(port);
      if (!child) throw new Error(`the sentinels name ${port} as primary, which this set did not start`);
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGKILL");
      await gone;
      nodes.delete(port);
      return port;
    },
    async restartNode(port) {
      const primary = await self.primaryPort();
      await startNode(port, primary === port ? null : primary);
    },
    async [Symbol.asyncDispose]() {
      const all = [...sentinels, ...nodes.values()];
      await Promise.all(all.map(_kill));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await startNode(nodePorts[0]!, null);
    await startNode(nodePorts[1]!, nodePorts[0]!);
    await _until(async () => /master_link_status:up/.test(await command(nodePorts[1]!, ["INFO", "replication"], true)), 10_000, () => "the replica did not finish its first sync");
    for (let i = 0; i < sentinelPorts.length; i++) {
      // A port found free can be taken before the sentinel binds it (seconds later, after the first
      // sync; an outgoing connection's local port is drawn from the same range): such a sentinel exits
      // at once, and then it starts again on another port.
      for (let attempt = 1; ; attempt++) {
        const port = sentinelPorts[i]!;
        const p = startSentinel(i, port);
        const exited = () => p.child.exitCode !== null || p.child.signalCode !== null;
        try {
          await _until(async () => (await ask(port, ["PING"])).includes("+PONG"), 5000, () => `${flavor}-sentinel on ${port} (attempt ${attempt} of 3); output:\n${p.output()}`, exited);
          sentinels.push(p.child);
          sentinelOutput.push(p.output);
          break;
        } catch (err) {
          const died = exited();
          await _kill(p.child);
          if (!died || attempt === 3) throw err; // silent but running, or 3 ports taken: not a port race
        }
        sentinelPorts[i] = await freePort();
      }
    }
    // Ready when every sentinel knows the replica and the two other sentinels: only then can they
    // agree that the primary is down and elect one of them to promote the replica.
    for (const s of sentinelPorts) {
      await _until(async () => {
        const reply = await ask(s, ["SENTINEL", "MASTER", masterName]).catch(() => "");
        return /num-slaves\r\n:1\r\n|num-slaves\r\n\$1\r\n1/.test(reply) && /num-other-sentinels\r\n(?::2|\$1\r\n2)/.test(reply) ||
          (_field(reply, "num-slaves") === "1" && _field(reply, "num-other-sentinels") === "2");
      }, 20_000, () => `sentinel ${s} did not discover the replica and the other sentinels; its last words:\n${self.sentinelLogs()}`);
    }
  } catch (err) {
    await self[Symbol.asyncDispose]();
    throw err;
  }
  return self;

  function startSentinel(i: number, port: number): { child: ChildProcess; output(): string } {
    const conf = join(dir, `sentinel-${i}.conf`);
    // Sentinel rewrites its file (it records what it learns), so each gets its own writable copy.
    writeFileSync(conf, [
      `port ${port}`,
      "bind 127.0.0.1",
      "daemonize no",
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${nodePorts[0]} 2`,
      ...(auth ? [`sentinel auth-pass ${masterName} ${password}`, `requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`] : []),
      `sentinel down-after-milliseconds ${masterName} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${masterName} ${FAILOVER_TIMEOUT_MS}`,
      `sentinel parallel-syncs ${masterName} 1`,
      "",
    ].join("\n"));
    return _spawn(sentinelBin!, [conf], `${flavor}-sentinel :${port}`); // checked above
  }
}

/** A field of a flat RESP array of bulk strings (SENTINEL MASTER's reply). */
function _field(reply: string, name: string): string | undefined {
  const lines = reply.split("\r\n");
  const i = lines.indexOf(name);
  return i >= 0 ? lines[i + 2] : undefined;
}

function _spawn(bin: string, args: string[], label: string): { child: ChildProcess; output(): string } {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  _running.add(child);
  let out = "";
  const keep = (b: Buffer) => void (out = (out + b.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.once("exit", () => _running.delete(child));
  child.once("error", (err) => void (out += `\n${label}: ${err.message}`));
  return { child, output: () => out };
}

async function _kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  p.kill("SIGKILL");
  await exited;
}

/** Poll `cond` every 50 ms until true; throws after `ms`, or at once when `gone()` says the process waited on has exited. */
async function _until(cond: () => Promise<boolean>, ms: number, what: () => string, gone?: () => boolean): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (gone?.()) throw new Error(`exited: ${what()}`);
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Send commands (RESP arrays) on a fresh connection and return the raw reply of the last one; waits
 * until that reply is complete enough to use (at most 2 s, then whatever arrived).
 */
function _resp(port: number, commands: readonly (readonly string[])[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: "127.0.0.1", port });
    let buf = "";
    const done = (err?: Error) => {
      clearTimeout(t);
      clearTimeout(settle);
      s.destroy();
      if (err) reject(err);
      else {
        // Drop the replies of the commands before the last (AUTH's "+OK").
        let rest = buf;
        for (let i = 1; i < commands.length; i++) rest = rest.slice(rest.indexOf("\r\n") + 2);
        resolve(rest);
      }
    };
    const t = setTimeout(() => (buf ? done() : done(new Error(`no reply from port ${port}`))), 2000);
    let settle: ReturnType<typeof setTimeout> | undefined;
    s.on("connect", () => {
      let out = "";
      for (const c of commands) {
        out += `*${c.length}\r\n`;
        for (const a of c) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
      }
      s.write(out);
    });
    s.on("data", (d) => {
      buf += d.toString();
      // Replies here are small: once data stops for 20 ms the reply is whole.
      clearTimeout(settle);
      settle = setTimeout(() => done(), 20);
    });
    s.on("error", (err) => done(err));
  });
}
