/**
 * Run by tests/integration/firewall-nft.test.ts inside a private network namespace (unshare -n), as
 * root: real nftables rules on that namespace's loopback only. Prints one JSON line with what it saw.
 * Mode "main" (default): bans, SYN drops, counters, close, startFirewall. Mode "denied": open() without
 * CAP_NET_ADMIN must throw NFT_DENIED.
 */
import { spawnSync } from "node:child_process";
import * as net from "node:net";
import { connects } from "./netns.ts";
import { FirewallError, NftFirewall, startFirewall } from "../../src/shared/runtime/nft-firewall.ts";

const argv = typeof (globalThis as any).Deno !== "undefined" ? (globalThis as any).Deno.args : process.argv.slice(2);
const mode: string = argv[0] ?? "main";

const tables = () => spawnSync("nft", ["list", "tables"], { encoding: "utf8" }).stdout;

async function openError(o: Parameters<typeof NftFirewall.open>[0]): Promise<string> {
  try {
    await (await NftFirewall.open(o)).close();
    return "none";
  } catch (err) {
    return err instanceof FirewallError ? `${err.code}: ${err.message}` : `not a FirewallError: ${err}`;
  }
}

async function main(): Promise<Record<string, unknown>> {
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => server.listen({ host: "::", port: 0, ipv6Only: false }, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const r: Record<string, unknown> = {};
  try {
    // A stale table of the same name (a crashed earlier run) is replaced.
    spawnSync("nft", ["add table inet wisdom_t; add chain inet wisdom_t stale"]);
    const fw = await NftFirewall.open({ table: "wisdom_t", port, banMs: 30_000, maxEntries: 2 });
    r.staleReplaced = !spawnSync("nft", ["list", "table", "inet", "wisdom_t"], { encoding: "utf8" }).stdout.includes("stale");
    r.banned = [fw.ban("127.0.5.0/24"), fw.ban("fd00:0:0:5::77/64"), fw.ban("127.0.5.0/24"), fw.ban("127.0.9.0/24")];
    await fw.flush();
    r.v4BannedConnects = await connects("127.0.0.1", port, "127.0.5.9");
    r.v4OtherConnects = await connects("127.0.0.1", port, "127.0.6.9");
    r.v6BannedConnects = await connects("::1", port, "fd00:0:0:5::9");
    r.v6OtherConnects = await connects("::1", port, "fd00:0:0:6::9");
    r.statsOpen = await fw.stats();
    r.listedWhileOpen = tables().includes("inet wisdom_t");
    await fw.close();
    await fw.close(); // idempotent
    r.listedAfterClose = tables().includes("inet wisdom_t");
    r.v4BannedConnectsAfterClose = await connects("127.0.0.1", port, "127.0.5.9");
    r.statsClosed = await fw.stats();

    // Offenders-driven: 60 refusals from one /24 within the window ban it; trusted loopback /24 never.
    const t0 = Date.now();
    const f2 = await startFirewall({ table: "wisdom_t2", port, banMs: 30_000, maxEntries: 16, refusals: 50, windowMs: 10_000, trusted: "127.0.0.0/24,::1/128" });
    for (let i = 0; i < 60; i++) f2.onRefused(`127.0.7.${1 + (i % 200)}`, t0 + i);
    for (let i = 0; i < 100; i++) f2.onRefused("127.0.0.1", t0 + i);
    await new Promise((res) => setTimeout(res, 300)); // one flush
    r.offenderConnects = await connects("127.0.0.1", port, "127.0.7.200");
    r.trustedConnects = await connects("127.0.0.1", port, "127.0.0.1");
    r.statsStart = await f2.stats();
    await f2.close();
    r.listedAfterClose2 = tables().includes("inet wisdom_t2");

    // One address banned alone (a per-address offence): its neighbours still connect.
    const f4 = await NftFirewall.open({ table: "wisdom_t6", port, banMs: 30_000, maxEntries: 4 });
    r.hostBanned = [f4.ban("127.0.10.9/32"), f4.ban("fd00:0:0:5::9/128")];
    await f4.flush();
    r.hostConnects = [await connects("127.0.0.1", port, "127.0.10.9"), await connects("127.0.0.1", port, "127.0.10.10"), await connects("::1", port, "fd00:0:0:5::9")];
    await f4.close();

    // A ban that ran out in the kernel is written again: the prefix is dropped again, not let in.
    const f3 = await NftFirewall.open({ table: "wisdom_t5", port, banMs: 1000, maxEntries: 4 });
    f3.ban("127.0.8.0/24");
    await f3.flush();
    r.rebanFirst = await connects("127.0.0.1", port, "127.0.8.9");
    await new Promise((res) => setTimeout(res, 1300)); // past the kernel's timeout, within the GC slack
    r.rebanExpired = await connects("127.0.0.1", port, "127.0.8.9");
    r.rebanAgain = f3.ban("127.0.8.0/24");
    await f3.flush();
    r.rebanConnects = await connects("127.0.0.1", port, "127.0.8.9");
    await f3.close();

    r.missing = await openError({ table: "wisdom_t3", port, banMs: 30_000, maxEntries: 1, nftPath: "/nonexistent/nft" });
  } finally {
    server.close();
  }
  return r;
}

const result = mode === "denied" ? { denied: await openError({ table: "wisdom_t4", port: 7, banMs: 30_000, maxEntries: 1 }) } : await main();
console.log(JSON.stringify(result));
process.exit(0);
