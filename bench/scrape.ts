/**
 * What scraping /metrics every second costs under load: runs `wisdom serve` with a steady handshake load
 * (a fixed rate of full PoW handshakes at difficulty 1 from this process), and compares the server's CPU
 * time (from /proc) over the same period with and without a scraper hitting /metrics once a second.
 *
 *   npx bun bench/scrape.ts [--seconds 10] [--rate 1000]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bytesToHex } from "@noble/hashes/utils.js";
import { challengePrefix } from "../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../src/shared/pow/hashcash.ts";
import { FrameDecoder, MessageType } from "../src/shared/protocol/frame.ts";
import { encodeSolution } from "../src/shared/protocol/messages.ts";
import { pickTransport } from "../src/shared/transport/index.ts";

const { values } = parseArgs({ options: { seconds: { type: "string" }, rate: { type: "string" } } });
const seconds = Number(values.seconds ?? 10);
const rate = Number(values.rate ?? 1000);
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const TICK = 100; // clock ticks per second on Linux (getconf CLK_TCK)

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / TICK; // utime + stime
}

async function start() {
  const child = spawn(process.execPath, [main, "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-format", "json", "--difficulty", "1", "--difficulty-max", "1",
    "--challenge-rate", "1000000", "--challenge-burst", "1000000", "--net-challenge-rate", "1000000", "--net-challenge-burst", "1000000", "--solution-rate", "1000000",
    "--solution-burst", "1000000", "--max-outstanding", "1000000", "--escalation-max-bits", "0", "--max-connections-per-addr", "1000000", "--max-connections-per-net", "1000000"], {
    env: { ...process.env, WISDOM_SECRET: "scrape-bench-secret-0123456789" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const ports = await new Promise<{ port: number; metrics: number }>((resolve) =>
    child.stderr!.on("data", (d) => {
      log += d;
      const m = /"address":"127\.0\.0\.1:(\d+)","metrics":"127\.0\.0\.1:(\d+)"/.exec(log);
      if (m) resolve({ port: Number(m[1]), metrics: Number(m[2]) });
    }));
  return { child, ...ports };
}

const t = await pickTransport();
async function handshake(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const dec = new FrameDecoder();
    let ok = false;
    let conn: { write(b: Uint8Array): void };
    t.connect("127.0.0.1", port, {
      open: (c) => (conn = c),
      data: (_s, chunk) => {
        for (const f of dec.push(chunk)) {
          if (f.type === MessageType.Challenge) {
            const ch = JSON.parse(new TextDecoder().decode(f.payload));
            conn.write(encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits))) }));
          } else ok = f.type === MessageType.Quote;
        }
      },
      close: () => resolve(ok),
    }).catch(() => resolve(false));
  });
}

async function phase(port: number, metrics: number, pid: number, scrape: boolean) {
  let done = 0, failed = 0, scrapes = 0;
  const until = performance.now() + seconds * 1000;
  const cpu0 = cpuSeconds(pid);
  const scraper = scrape
    ? setInterval(async () => {
        const r = await fetch(`http://127.0.0.1:${metrics}/metrics`);
        await r.text();
        scrapes++;
      }, 1000)
    : null;
  const inflight = new Set<Promise<void>>();
  for (let next = performance.now(); performance.now() < until; next += 1000 / rate) {
    const wait = next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const p = handshake(port).then((ok) => void (ok ? done++ : failed++));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  if (scraper) clearInterval(scraper);
  const cpu = cpuSeconds(pid) - cpu0;
  return { scrape, handshakes: done, failed, scrapes, server_cpu_s: Math.round(cpu * 100) / 100, server_cpu_pct: Math.round((cpu / seconds) * 1000) / 10 };
}

const srv = await start();
await phase(srv.port, srv.metrics, srv.child.pid!, false); // warm-up (JIT), not reported
// Alternate the two conditions (A B B A A B) so drift in the machine's speed cancels out.
const order = [false, true, true, false, false, true];
const runs = [];
for (const scrape of order) runs.push(await phase(srv.port, srv.metrics, srv.child.pid!, scrape));
process.kill(srv.child.pid!, "SIGKILL");
for (const r of runs) console.log(JSON.stringify(r));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const off = mean(runs.filter((r) => !r.scrape).map((r) => r.server_cpu_pct));
const on = mean(runs.filter((r) => r.scrape).map((r) => r.server_cpu_pct));
// Direct cost of one scrape, measured from outside: CPU the server spends on 20 back-to-back scrapes, idle.
console.log(JSON.stringify({ seconds, rate, server_cpu_pct_without: Math.round(off * 10) / 10, server_cpu_pct_with: Math.round(on * 10) / 10, scrape_overhead_cpu_pct_points: Math.round((on - off) * 10) / 10 }));
