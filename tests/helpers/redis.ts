/**
 * Test helper: a disposable real `redis-server` on a free 127.0.0.1 port, with nothing saved to disk.
 * Closed by `await using`; every server still running when the process exits is killed too.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createConnection, createServer } from "node:net";
import { delimiter, join } from "node:path";
import process from "node:process";

export interface RedisProcess extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** Stop the server (SIGTERM, then SIGKILL after 2 s) and wait until it has exited. */
  stop(): Promise<void>;
  /** Start it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  /** CLIENT PAUSE: every client's commands wait `ms` (a slow Redis). */
  pause(ms: number): Promise<void>;
}

const _running = new Set<ChildProcess>();
let _exitHook = false;

/** `password`: requirepass (PING then answers NOAUTH, which still tells the server is up). */
export async function startRedis(opts: { password?: string } = {}): Promise<RedisProcess> {
  const bin = findOnPath("redis-server");
  if (!bin) {
    throw new Error("redis-server is not installed (not found on PATH): install Debian's `redis-server` package (apt-get install redis-server)");
  }
  if (!_exitHook) {
    _exitHook = true;
    process.once("exit", () => {
      for (const p of _running) p.kill("SIGKILL");
    });
  }
  const port = await freePort();
  let child: ChildProcess | null = null;
  const self: RedisProcess = {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    async start() {
      if (child) return;
      child = await _spawn(bin, port, opts.password);
    },
    async stop() {
      const c = child;
      child = null;
      if (c) await _kill(c);
    },
    async pause(ms: number) {
      const reply = await _command(port, `CLIENT PAUSE ${Math.ceil(ms)}`);
      if (!reply.startsWith("+OK")) throw new Error(`CLIENT PAUSE on port ${port} answered ${JSON.stringify(reply)}`);
    },
    async [Symbol.asyncDispose]() {
      await self.stop();
    },
  };
  await self.start();
  return self;
}

async function _spawn(bin: string, port: number, password?: string): Promise<ChildProcess> {
  const args = ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--daemonize", "no", ...(password ? ["--requirepass", password] : [])];
  const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  _running.add(p);
  let out = "";
  const keep = (b: Buffer) => void (out = (out + b.toString()).slice(-2000));
  p.stdout!.on("data", keep);
  p.stderr!.on("data", keep);
  let exited = false;
  p.once("exit", () => {
    exited = true;
    _running.delete(p);
  });
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    if (exited) break;
    if (/^(\+PONG|-NOAUTH)/.test(await _command(port, "PING").catch(() => ""))) return p;
    await new Promise((r) => setTimeout(r, 25));
  }
  await _kill(p);
  throw new Error(`redis-server on 127.0.0.1:${port} did not answer PING within 5 s; its output:\n${out}`);
}

async function _kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(t);
}

/** Send one inline command on a fresh connection and return the first reply line (1 s at most). */
function _command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: "127.0.0.1", port });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply to ${line} from port ${port}`));
    }, 1000);
    let buf = "";
    s.on("connect", () => s.write(line + "\r\n"));
    s.on("data", (d) => {
      buf += d.toString();
      if (!buf.includes("\r\n")) return;
      clearTimeout(t);
      s.destroy();
      resolve(buf.slice(0, buf.indexOf("\r\n")));
    });
    s.on("error", (err) => {
      clearTimeout(t);
      s.destroy();
      reject(err);
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return null;
}
