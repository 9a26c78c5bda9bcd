/** A real HAProxy (Debian package haproxy; npm test installs it) in front of wisdom instances, on free loopback ports. */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly checkPort: number;
}

export async function startHaproxy(backends: Backend[], healthPath = "/readyz") {
  if (spawnSync("sh", ["-c", "command -v haproxy"]).status !== 0) throw new Error("haproxy not found: install Debian's haproxy package (npm test does this as root)");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "wisdom-haproxy-"));
  const cfg = `global
    maxconn 4096
defaults
    mode tcp
    timeout connect 1s
    timeout client 15s
    timeout server 15s
    retries 3
    option redispatch
frontend f
    bind 127.0.0.1:${port}
    default_backend b
backend b
    balance roundrobin
    option httpchk GET ${healthPath}
    http-check expect status 200
    default-server inter 300ms fall 1 rise 1 send-proxy-v2
${backends.map((b) => `    server ${b.name} 127.0.0.1:${b.port} check port ${b.checkPort}`).join("\n")}
`;
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, cfg);
  const check = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`haproxy config invalid:\n${check.stdout}${check.stderr}`);
  const child = spawn("haproxy", ["-db", "-f", file], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  // wait until it accepts
  const until = performance.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => (s.destroy(), r(true)));
      s.on("error", () => r(false));
    });
    if (ok) break;
    if (performance.now() > until) throw new Error(`haproxy did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    get log() {
      return log;
    },
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.pid) {
        process.kill(child.pid, "SIGKILL");
        await exited;
      }
    },
  };
}
