/**
 * `firewall: nft` against the real kernel: runs tests/helpers/firewall-child.ts as root inside a private
 * network namespace (unshare -n), so the rules touch that namespace's loopback and never the host.
 * Needs root, unshare and setpriv (util-linux), ip (iproute2) and nft (nftables): fails naming what is missing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FirewallError, NftFirewall } from "../../src/shared/runtime/nft-firewall.ts";
import { inNetns, lastJson, prerequisites, scriptCommand } from "../helpers/netns.ts";

const CHILD = fileURLToPath(new URL("../helpers/firewall-child.ts", import.meta.url));

/** Run the child in a fresh network namespace: loopback up, two IPv6 /64s on it; `wrap` goes before the runtime. */
function inChildNetns(args: string[], wrap: string[] = []) {
  const setup = "ip link set lo up && ip addr add fd00:0:0:5::9/64 dev lo nodad && ip addr add fd00:0:0:6::9/64 dev lo nodad";
  return inNetns(scriptCommand(CHILD, args), { setup, wrap });
}

describe("NftFirewall in a private network namespace", () => {
  test("prerequisites are present (root, unshare, setpriv, ip, nft)", () => {
    assert.deepEqual(prerequisites(), [], "missing for the nft firewall test");
  });

  test("bans drop SYNs from the prefix only, count them, and go with the table; startFirewall bans a /24 after 60 refusals", { timeout: 20_000 }, async () => {
    assert.deepEqual(prerequisites(), []);
    const r = lastJson(await inChildNetns([]));
    assert.deepEqual([r.rebanFirst, r.rebanExpired, r.rebanAgain, r.rebanConnects], [false, true, true, false], "a ban that ran out is written again and drops again");
    assert.deepEqual(r.hostBanned, [true, true]);
    assert.deepEqual(r.hostConnects, [false, true, false], "a /32 ban drops that address only; a /128 likewise");
    assert.equal(r.staleReplaced, true, "a stale table of the same name was replaced");
    assert.deepEqual(r.banned, [true, true, false, false], "v4, v6 queued; a repeat and one over maxEntries skipped");
    assert.equal(r.v4BannedConnects, false, "127.0.5.9 is in the banned /24: its SYN is dropped");
    assert.equal(r.v4OtherConnects, true, "127.0.6.9 connects");
    assert.equal(r.v6BannedConnects, false, "fd00:0:0:5::9 is in the banned /64");
    assert.equal(r.v6OtherConnects, true, "fd00:0:0:6::9 connects");
    assert.ok(r.statsOpen.dropped_packets >= 2, `dropped_packets ${r.statsOpen.dropped_packets}`);
    assert.equal(r.statsOpen.entries, 2);
    assert.equal(r.statsOpen.bans, 2);
    assert.equal(r.statsOpen.skipped, 1);
    assert.equal(r.statsOpen.failed, 0);
    assert.equal(r.listedWhileOpen, true);
    assert.equal(r.listedAfterClose, false, "close() deleted the table");
    assert.equal(r.v4BannedConnectsAfterClose, true, "127.0.5.9 connects again after close()");
    assert.ok(r.statsClosed.dropped_packets >= r.statsOpen.dropped_packets, "stats after close keep the last figure read");
    assert.equal(r.statsClosed.entries, 0);
    assert.equal(r.offenderConnects, false, "60 refusals from 127.0.7.x banned 127.0.7.0/24");
    assert.equal(r.trustedConnects, true, "refusals from the trusted 127.0.0.0/24 never ban it");
    assert.equal(r.statsStart.bans, 1);
    assert.equal(r.statsStart.spared, 100);
    assert.ok(r.statsStart.dropped_packets >= 1);
    assert.equal(r.listedAfterClose2, false);
    assert.match(r.missing, /^NFT_MISSING: \/nonexistent\/nft not found: .*apt-get install nftables/);
  });

  test("open() without CAP_NET_ADMIN throws NFT_DENIED telling the operator what to grant", { timeout: 20_000 }, async () => {
    assert.deepEqual(prerequisites(), []);
    const r = lastJson(await inChildNetns(["denied"], ["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--"]));
    assert.match(r.denied, /^NFT_DENIED: .*CAP_NET_ADMIN/);
  });
});

describe("NftFirewall batching (a stand-in nft that logs its runs; no root needed)", () => {
  /** A fake nft: appends "RUN <args>" and its stdin to a log; fails "add element" runs when `failAdds`. */
  function fakeNft(failAdds: boolean) {
    const dir = mkdtempSync(join(tmpdir(), "wisdom-fakenft-"));
    const log = join(dir, "log");
    const path = join(dir, "nft");
    writeFileSync(path, `#!/bin/sh
echo "RUN $*" >> ${log}
input=$(cat)
printf '%s\n' "$input" >> ${log}
case "$input" in *"add element"*) ${failAdds ? 'echo "Error: Could not process rule: Too many open files in system" >&2; exit 1' : ":"};; esac
echo '{"nftables":[{"rule":{"expr":[{"counter":{"packets":3,"bytes":180}},{"drop":null}]}},{"rule":{"expr":[{"counter":{"packets":4,"bytes":300}}]}}]}'
`);
    chmodSync(path, 0o755);
    return { path, runs: () => readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("RUN ")), text: () => readFileSync(log, "utf8"), [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
  }

  test("a burst of 600 bans becomes a handful of nft runs, each element with its timeout", async () => {
    using nft = fakeNft(false);
    const fw = await NftFirewall.open({ table: "wisdom_b", port: 7077, banMs: 60_000, maxEntries: 1000, nftPath: nft.path });
    for (let i = 0; i < 500; i++) assert.equal(fw.ban(`10.${i >> 8}.${i & 255}.0/24`), true);
    for (let i = 0; i < 100; i++) {
      fw.ban(`2001:db8:${i.toString(16)}::/64`);
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 25));
    }
    await fw.flush();
    const adds = nft.runs().length - 1; // minus the run that created the table
    assert.ok(adds >= 2 && adds <= 6, `${adds} nft runs for 600 bans`);
    assert.equal(nft.text().match(/timeout 60000ms/g)?.length, 600);
    assert.match(nft.text(), /add element inet wisdom_b ban4 \{ 10\.0\.0\.0 timeout 60000ms, 10\.0\.1\.0 timeout/);
    assert.match(nft.text(), /add element inet wisdom_b ban6 \{ 2001:db8::? timeout 60000ms/);
    const s = await fw.stats();
    assert.deepEqual(s, { dropped_packets: 7, entries: 600, bans: 600, skipped: 0, failed: 0 });
    await fw.close();
  });

  test("a failed write counts the bans as failed, reports a FirewallError, and frees their places", async () => {
    using nft = fakeNft(true);
    const errors: FirewallError[] = [];
    const fw = await NftFirewall.open({ table: "wisdom_b", port: 7077, banMs: 60_000, maxEntries: 2, nftPath: nft.path, onError: (e) => errors.push(e) });
    assert.equal(fw.ban("192.0.2.0/24"), true);
    assert.equal(fw.ban("198.51.100.0/24"), true);
    assert.equal(fw.ban("203.0.113.0/24"), false, "full");
    await fw.flush();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, "NFT_FAILED");
    assert.match(errors[0]!.message, /Too many open files/);
    assert.deepEqual(await fw.stats(), { dropped_packets: 7, entries: 0, bans: 0, skipped: 1, failed: 2 });
    assert.equal(fw.ban("203.0.113.0/24"), true, "places freed");
    await fw.close();
  });

  test("a prefix banned again when its ban has run out is written again (not taken for still banned)", async () => {
    using nft = fakeNft(false);
    let now = 1_000_000;
    const fw = await NftFirewall.open({ table: "wisdom_b", port: 7077, banMs: 60_000, maxEntries: 10, nftPath: nft.path, now: () => now });
    assert.equal(fw.ban("192.0.2.0/24"), true);
    await fw.flush();
    now += 30_000;
    assert.equal(fw.ban("192.0.2.0/24"), false, "still banned");
    now += 30_000; // the kernel's timeout has just run out; the place is still counted for GC slack
    assert.equal(fw.ban("192.0.2.0/24"), true, "banned again");
    await fw.flush();
    assert.equal(nft.text().match(/add element inet wisdom_b ban4 \{ 192\.0\.2\.0 timeout 60000ms/g)?.length, 2);
    const s = await fw.stats();
    assert.equal(s.bans, 2);
    assert.equal(s.entries, 1);
    await fw.close();
  });

  test("ban() takes only a /24, /32, /64 or /128 (the text goes into an nft script)", async () => {
    using nft = fakeNft(false);
    const fw = await NftFirewall.open({ table: "wisdom_b", port: 7077, banMs: 60_000, maxEntries: 2, nftPath: nft.path });
    for (const bad of ["10.0.0.0/16", "10.0.0.0", "2001:db8::/48", "10.0.0.0/24; flush ruleset", "10.0.0.1/32 ; flush ruleset", "junk/24", "junk/32"]) assert.throws(() => fw.ban(bad), RangeError, bad);
    await fw.close();
    await assert.rejects(NftFirewall.open({ table: "bad name", port: 7077, banMs: 60_000, maxEntries: 2, nftPath: nft.path }), RangeError);
  });
});
