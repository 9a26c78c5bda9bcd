/**
 * `wisdom serve --firewall nft` end to end, against the real kernel: the CLI runs as root inside a private
 * network namespace (unshare -n; tests/helpers/netns.ts), so its nftables table and the storm's 127.x
 * addresses stay on that namespace's loopback. A reconnect storm from 127.0.9.x runs into the per-network
 * challenge limit; its RATE_LIMITED refusals ban 127.0.9.0/24 in the kernel while another /24 is still
 * served; SIGTERM removes the table. Startup without nft, or without CAP_NET_ADMIN, exits 2.
 * proxy_trusted is never banned and defaults to all of 127.0.0.0/8, so the server here trusts 192.0.2.0/24.
 * Needs root, unshare, setpriv, ip and nft: fails naming what is missing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { inNetns, lastJson, prerequisites, scriptCommand, wisdomCommand } from "../helpers/netns.ts";

const CHILD = fileURLToPath(new URL("../helpers/firewall-serve-child.ts", import.meta.url));
/** One table name per run and runtime, so two runs at once never delete each other's table (each is in its own namespace anyway). */
const table = (what: string) => `wisdom_${what}_${process.pid}`;
const SERVE = ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--log-format", "json", "--proxy-trusted", "192.0.2.0/24"];

describe("wisdom serve --firewall nft in a private network namespace", () => {
  test("prerequisites are present (root, unshare, setpriv, ip, nft)", () => {
    assert.deepEqual(prerequisites(), [], "missing for the serve firewall test");
  });

  test("a reconnect storm from one /24 gets it dropped by the kernel; another /24 still gets quotes; SIGTERM exits 0 and removes the table", { timeout: 20_000 }, async () => {
    assert.deepEqual(prerequisites(), []);
    const name = table("serve");
    const r = lastJson(await inNetns(scriptCommand(CHILD, [name]), { timeoutMs: 18_000 }));
    const why = JSON.stringify(r);
    assert.equal(r.error, undefined, why);
    assert.equal(r.tableWhileRunning, true, `nft list table inet ${name} while serving: ${why}`);
    assert.equal(r.stormNetConnectsBefore, true, "127.0.9.250 connects before the storm");
    assert.ok(r.storm.errors.RATE_LIMITED >= 20, `the storm was refused RATE_LIMITED at least firewall_refusals times: ${why}`);
    assert.ok(r.storm.challenges <= 5, `net_challenge_burst 5 lets at most 5 challenges through: ${why}`);
    assert.ok(r.storm.stalled > 0, `the storm ran into the ban (connects stalled) within ${r.storm.ms} ms: ${why}`);
    assert.deepEqual(r.stormNetConnectsAfter, [false, false], "127.0.9.7 and 127.0.9.230 do not connect within 1 s");
    assert.equal(r.tableListsBan, true, `127.0.9.0 is in the drop set: ${why}`);
    assert.equal(r.honest.ok, true, `127.0.3.3 gets a quote: ${why}`);
    assert.ok(r.bans >= 1, `wisdom_firewall_bans_total ${r.bans}`);
    assert.ok(r.dropped > 0, `wisdom_firewall_dropped_packets_total ${r.dropped}`);
    assert.ok(r.entries >= 1, `wisdom_firewall_entries ${r.entries}`);
    assert.equal(r.failures, 0, "wisdom_firewall_failures_total");
    assert.equal(r.exitCode, 0, `exit code after SIGTERM: ${why}`);
    assert.equal(r.tableAfterExit, false, "the table is gone after shutdown");
  });

  test("without nft on PATH, serve exits 2 naming nft", { timeout: 15_000 }, async () => {
    assert.deepEqual(prerequisites(), []);
    const r = await inNetns(wisdomCommand([...SERVE, "--firewall", "nft", "--firewall-table", table("missing")]), { wrap: ["env", "PATH=/nonexistent"] });
    assert.equal(r.code, 2, `exit code: ${r.stderr}`);
    assert.match(r.stderr, /nft not found: firewall: nft needs the nft command/);
  });

  test("without CAP_NET_ADMIN, serve exits 2 saying what to grant", { timeout: 15_000 }, async () => {
    assert.deepEqual(prerequisites(), []);
    const wrap = ["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--"];
    const r = await inNetns(wisdomCommand([...SERVE, "--firewall", "nft", "--firewall-table", table("denied")]), { wrap });
    assert.equal(r.code, 2, `exit code: ${r.stderr}`);
    assert.match(r.stderr, /Operation not permitted.*CAP_NET_ADMIN/);
  });
});
