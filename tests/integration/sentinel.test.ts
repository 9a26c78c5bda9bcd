/**
 * The shared store without a single point of failure: two `wisdom serve` processes on
 * `redis+sentinel://` (one primary, one replica, three sentinels; real Redis and real Valkey, password
 * protected), a steady stream of honest handshakes and of replays of proofs already redeemed, and the
 * primary killed with SIGKILL. Checked: no replay is ever answered with a quote (before, during and
 * after the failover); every honest fetch succeeds within its retries; readiness drops and comes back;
 * the time without a primary is reported (log and metrics); the new server is fenced.
 *
 * Replication on loopback is usually faster than the kill, so few spent marks are lost by chance. To
 * test the worst case, the spent marks of every proof redeemed before the kill are deleted from the new
 * primary as soon as it is promoted (as if none had been replicated): then only the fence stands
 * between those proofs and a second quote.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex } from "@noble/hashes/utils.js";
import { FrameReader } from "../../src/shared/client/frame-reader.ts";
import { challengePrefix } from "../../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference } from "../../src/shared/pow/hashcash.ts";
import { MessageType } from "../../src/shared/protocol/frame.ts";
import { type Challenge, encodeSolution, type ErrorMessage, type Message } from "../../src/shared/protocol/messages.ts";
import { pickTransport } from "../../src/shared/transport/index.ts";
import { fetchQuote } from "../../src/mod.ts";
import { spawnServer } from "../helpers/cli.ts";
import { referenceSolver } from "../helpers/server.ts";
import { type Flavor, type SentinelSet, startSentinelSet } from "../helpers/sentinel.ts";

const t = await pickTransport("node");
const SECRET = "sentinel-shared-secret-0123456789";
const SKEW_MS = 300;
const args = ["--difficulty", "4", "--difficulty-max", "4", "--defence", "off", "--store-failure", "fail-closed", "--store-timeout-ms", "1000", "--clock-skew-ms", String(SKEW_MS)];
const NAMES: Record<number, string> = { 1: "Challenge", 2: "Solution", 3: "Quote", 4: "Error" };
const codeOf = (m: Message) => (m.type === MessageType.Error ? (m.body as ErrorMessage).code : NAMES[m.type]!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** One connection: read the challenge, send `sol` (or solve the challenge), return the answer's code. */
async function handshake(port: number, sol?: Uint8Array): Promise<{ code: string; sol?: Uint8Array; mac?: string }> {
  const reader = new FrameReader();
  const conn = await t.connect("127.0.0.1", port, reader);
  try {
    const first = await within(reader.next(), 5000, "challenge");
    if (first.type !== MessageType.Challenge) return { code: codeOf(first) };
    const ch = first.body as Challenge;
    const mine = sol ?? encodeSolution({ challenge: ch, counter: bytesToHex(encodeCounter(solveReference(challengePrefix(ch), ch.bits))) });
    conn.write(mine);
    return { code: codeOf(await within(reader.next(), 5000, "answer")), sol: mine, mac: ch.mac };
  } finally {
    conn.end();
  }
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

for (const flavor of ["redis", "valkey"] as const satisfies readonly Flavor[]) {
  describe(`two instances on ${flavor} Sentinel: kill -9 the primary`, () => {
    let set: SentinelSet;
    let a: Awaited<ReturnType<typeof spawnServer>>;
    let b: Awaited<ReturnType<typeof spawnServer>>;
    let c: Awaited<ReturnType<typeof spawnServer>> | undefined;
    let env: Record<string, string>;

    before(async () => {
      set = await startSentinelSet(flavor);
      env = { WISDOM_SECRET: SECRET, WISDOM_STORE_PASSWORD: set.password, WISDOM_STORE_SENTINEL_PASSWORD: set.sentinelPassword };
      a = await spawnServer([...args, "--store", set.url], env);
      b = await spawnServer([...args, "--store", set.url], env);
    });
    after(async () => {
      for (const s of [a, b, c]) await s?.[Symbol.asyncDispose]();
      await set?.[Symbol.asyncDispose]();
    });

    test("no replay is ever accepted, honest fetches succeed within retries, readiness drops and recovers, the outage is reported", async () => {
      const ports = [a.port, b.port];
      const metricsPorts = [a.metricsPort, b.metricsPort];
      // Both instances serve through the sentinels' primary. The first server is fenced when the first
      // instance reaches it, so a challenge issued within the skew of that may be refused (EXPIRED) once.
      for (const p of ports) {
        const codes: string[] = [];
        while (codes.at(-1) !== "Quote" && codes.length < 20) {
          codes.push((await handshake(p)).code);
          if (codes.at(-1) !== "Quote") await sleep(100);
        }
        assert.equal(codes.at(-1), "Quote", `first fetches: ${codes}`);
        assert.ok(codes.slice(0, -1).every((c) => c === "EXPIRED"), `only the start fence refuses: ${codes}`);
      }
      // Ready (a store call that timed out on a loaded machine may have marked one down for a moment).
      for (const mp of metricsPorts) {
        const until = performance.now() + 10_000;
        while ((await fetch(`http://127.0.0.1:${mp}/readyz`)).status !== 200) {
          assert.ok(performance.now() < until, `instance with metrics on ${mp} ready before the kill`);
          await sleep(50);
        }
      }

      let phase: "before" | "after" = "before";
      const redeemed: { sol: Uint8Array; mac: string; phase: "before" | "after" }[] = [];
      const honest: { ok: boolean; tries: number; codes: string[]; phase: string }[] = [];
      const replays = new Map<string, number>();
      const replayQuotes: string[] = [];
      const readiness: { at: number; port: number; status: number }[] = [];
      let stop = false;

      // Honest clients: each fetch retries with a fresh challenge (as `wisdom fetch` does) for up to 15 s.
      const honestLoop = async (i: number) => {
        for (let n = 0; !stop; n++) {
          const started = phase;
          const codes: string[] = [];
          const deadline = performance.now() + 15_000;
          let ok = false;
          while (!ok && performance.now() < deadline) {
            const r = await handshake(ports[(i + n + codes.length) % 2]!).catch((err) => ({ code: `error: ${(err as Error).message}`, sol: undefined, mac: undefined }));
            codes.push(r.code);
            if (r.code === "Quote") {
              ok = true;
              redeemed.push({ sol: r.sol!, mac: r.mac!, phase });
            } else await sleep(50);
          }
          honest.push({ ok, tries: codes.length, codes, phase: started });
          await sleep(10);
        }
      };
      // The attacker: replays proofs already redeemed, newest first (those most at risk), to either instance.
      const replayLoop = async (i: number) => {
        for (let n = 0; !stop; n++) {
          if (redeemed.length === 0) {
            await sleep(10);
            continue;
          }
          const pick = redeemed[n % 3 === 0 ? Math.floor(Math.random() * redeemed.length) : redeemed.length - 1 - Math.floor(Math.random() * Math.min(5, redeemed.length))]!;
          const r = await handshake(ports[(i + n) % 2]!, pick.sol).catch((err) => ({ code: `error: ${(err as Error).message}` }));
          replays.set(r.code, (replays.get(r.code) ?? 0) + 1);
          if (r.code === "Quote") replayQuotes.push(`${pick.phase} ${pick.mac}`);
        }
      };
      const readyLoop = async () => {
        while (!stop) {
          for (const [k, mp] of metricsPorts.entries()) {
            const status = await fetch(`http://127.0.0.1:${mp}/readyz`).then((r) => r.status, () => 0);
            readiness.push({ at: performance.now(), port: ports[k]!, status });
          }
          await sleep(50);
        }
      };
      // And the library client with its own retry policy (what `wisdom fetch` does): every call must succeed.
      const library: { ok: boolean; error?: string; phase: string }[] = [];
      const libraryLoop = async () => {
        for (let n = 0; !stop; n++) {
          const started = phase;
          try {
            await fetchQuote(`127.0.0.1:${ports[n % 2]}`, { timeoutMs: 20_000, solver: referenceSolver });
            library.push({ ok: true, phase: started });
          } catch (err) {
            library.push({ ok: false, error: `${(err as { code?: string }).code}: ${(err as Error).message}`, phase: started });
          }
          await sleep(20);
        }
      };
      const loops = [honestLoop(0), honestLoop(1), libraryLoop(), replayLoop(0), replayLoop(1), readyLoop()];

      await sleep(1000);
      const before = redeemed.length;
      assert.ok(before >= 5, `steady traffic before the kill (${before} quotes)`);
      const killedAt = performance.now();
      const killedAtWall = Date.now();
      const oldPort = await set.killPrimary();
      // Worst case of asynchronous replication: the new primary has none of the marks made before the kill.
      let newPort = oldPort;
      while (newPort === oldPort) {
        await sleep(20);
        newPort = await set.primaryPort().catch(() => oldPort);
        if (performance.now() - killedAt > 30_000) assert.fail(`a replica is promoted within 30 s; the sentinels said:\n${set.sentinelLogs()}`);
      }
      const promotedMs = performance.now() - killedAt;
      const lost = redeemed.filter((r) => r.phase === "before").map((r) => `wisdom:spent:${r.mac.slice(0, 32)}`);
      const deleted = Number(/:(\d+)/.exec(await set.command(newPort, ["DEL", ...lost], true))?.[1]);
      phase = "after";
      // Serving again through both instances (readiness dropped, then came back), then steady traffic
      // for a while after the failover.
      const recovered = (port: number) => {
        const mine = readiness.filter((r) => r.port === port && r.at > killedAt);
        const down = mine.findIndex((r) => r.status === 503);
        return down >= 0 && mine.slice(down).some((r) => r.status === 200);
      };
      const deadline = performance.now() + 30_000;
      while (!(recovered(a.port) && recovered(b.port) && redeemed.some((x) => x.phase === "after"))) {
        if (performance.now() > deadline) {
          const last = (port: number) => readiness.filter((r) => r.port === port).slice(-3).map((r) => r.status);
          const logs = (x: typeof a) => x.stderr.split("\n").filter((l) => /"msg":"store/.test(l)).slice(-4).join("\n");
          assert.fail(`both instances ready and serving within 30 s of the promotion: recovered a ${recovered(a.port)} b ${recovered(b.port)}, ` +
            `quotes after ${redeemed.filter((x) => x.phase === "after").length}, last readiness a ${last(a.port)} b ${last(b.port)}, ` +
            `honest codes ${JSON.stringify(honest.slice(-3).map((h) => h.codes.slice(-3)))}\na:\n${logs(a)}\nb:\n${logs(b)}`);
        }
        await sleep(50);
      }
      await sleep(1500);
      stop = true;
      await Promise.all(loops);

      const summary = JSON.stringify({ flavor, promotedMs: Math.round(promotedMs), deleted, lost: lost.length, quotes: redeemed.length, libraryFetches: library.length, replays: Object.fromEntries(replays), failedFetches: honest.filter((h) => !h.ok).map((h) => h.codes.slice(-5)) });
      // 1. No replay was ever answered with a quote.
      assert.deepEqual(replayQuotes, [], `replays accepted: ${summary}`);
      const attempts = [...replays.values()].reduce((x, y) => x + y, 0);
      assert.ok(attempts >= 50, `the attacker kept trying (${attempts}): ${summary}`);
      assert.ok((replays.get("REPLAY") ?? 0) > 0, `replays refused as REPLAY: ${summary}`);
      // The proofs whose marks the new primary lacks were tried again after the failover and refused as
      // fenced (EXPIRED): the fence, not a leftover mark, refused them.
      assert.ok(lost.length > 0 && deleted > 0, `the new primary had marks of pre-kill proofs to lose: ${summary}`);
      assert.ok((replays.get("EXPIRED") ?? 0) > 0, `fenced replays answered EXPIRED: ${summary}`);
      // 2. Every honest fetch succeeded within its retries, and some started after the failover.
      assert.ok(honest.every((h) => h.ok), `honest fetches failed: ${summary}`);
      assert.deepEqual(library.filter((x) => !x.ok), [], `fetchQuote() calls failed (${library.length} made)`);
      assert.ok(library.length >= 5, `fetchQuote() kept fetching (${library.length})`);
      assert.ok(redeemed.filter((r) => r.phase === "after").length >= 5, `steady traffic after the failover: ${summary}`);
      // 3. Readiness dropped during the failover and came back, on both instances.
      for (const port of ports) assert.ok(recovered(port), `readiness of ${port} dropped and recovered`);
      // 4. The time without a primary is reported: metrics and a log line with down_ms.
      for (const [k, s] of [a, b].entries()) {
        const mp = metricsPorts[k]!;
        assert.ok(await metric(mp, "wisdom_store_outages_total") >= 1, `outage counted on ${mp}`);
        const seconds = await metric(mp, "wisdom_store_outage_seconds_total");
        assert.ok(seconds > 0 && seconds < 30, `outage seconds ${seconds}`);
        assert.equal(await metric(mp, "wisdom_store_up"), 1);
        assert.ok(await metric(mp, "wisdom_store_fence_timestamp_seconds") * 1000 >= killedAtWall, "the fence is after the kill");
        assert.match(s.stderr, /"msg":"store up"[^\n]*"down_ms":\d+/, "a log line gives the time without the store");
        assert.ok(!s.stderr.includes(set.password), "the password never appears in the logs");
      }
      const changes = (await metric(a.metricsPort, "wisdom_store_server_changes_total")) + (await metric(b.metricsPort, "wisdom_store_server_changes_total"));
      assert.ok(changes >= 1, `the new primary was fenced by one of the instances (${changes})`);
      assert.match(a.stderr + b.stderr, /"msg":"store server changed"/);
      for (const s of [a, b]) assert.ok(!s.stderr.includes(set.sentinelPassword), "nor the sentinels' password");

      // 5. An instance started after the failover knows nothing of it, and still refuses every proof
      // redeemed before the kill (it adopts the fence recorded on the new primary).
      c = await spawnServer([...args, "--store", set.url], env);
      const late = new Map<string, number>();
      for (const r of redeemed.filter((x) => x.phase === "before").slice(-40)) {
        const code = (await handshake(c.port, r.sol)).code;
        late.set(code, (late.get(code) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(late), { EXPIRED: Math.min(40, redeemed.filter((x) => x.phase === "before").length) }, "all refused as fenced by the new instance");
      assert.match(c.stderr, /"msg":"store fence"/, "it logs the fence it adopted");
      assert.doesNotMatch(c.stderr, /"msg":"store server changed"/, "and does not raise a new one");
      console.log(`sentinel failover (${flavor}): ${summary}`);
    });
  });
}
