#!/usr/bin/env node
// Makes sure the Debian packages the tests need are installed: installs what is missing when running as
// root with apt-get (CI and these machines), otherwise fails with a message naming the package.
// Never skips silently. Usage: node scripts/ensure-deps.mjs [--check]
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";

export const NEEDED = [
  { bin: "promtool", pkg: "prometheus", why: "promtool check metrics / test rules (tests/integration/observe*.test.ts, deploy/prometheus)" },
  { bin: "redis-server", pkg: "redis-server", why: "the Redis store tests (tests/integration/redis*.test.ts, scale-out)" },
  { bin: "redis-sentinel", pkg: "redis-sentinel", why: "the Sentinel failover test (tests/integration/sentinel.test.ts)" },
  // Debian 12 ships Valkey only in bookworm-backports: the source is added below when it is missing.
  { bin: "valkey-server", pkg: "valkey-server", backports: true, why: "the Sentinel failover test against Valkey (tests/integration/sentinel.test.ts)" },
  { bin: "valkey-sentinel", pkg: "valkey-sentinel", backports: true, why: "the Sentinel failover test against Valkey (tests/integration/sentinel.test.ts)" },
  { bin: "haproxy", pkg: "haproxy", why: "the PROXY protocol and scale-out test behind HAProxy" },
  { bin: "redis-cli", pkg: "redis-tools", why: "redis-cli through wisdom tunnel (tests/integration/guard-cli.test.ts)" },
  { bin: "curl", pkg: "curl", why: "curl through wisdom tunnel (tests/integration/guard-cli.test.ts)" },
  { bin: "ssh", pkg: "openssh-client", why: "a real ssh client with ProxyCommand='wisdom connect %h:%p' (tests/integration/guard-cli.test.ts)" },
  { bin: "qemu-aarch64-static", pkg: "qemu-user-static", why: "running the linux-arm64 binary under emulation" },
  { file: "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1", pkg: "libc6-arm64-cross", why: "the C library the linux-arm64 binary loads under qemu (QEMU_LD_PREFIX=/usr/aarch64-linux-gnu)" },
  { bin: "zsh", pkg: "zsh", why: "checking the zsh completion script" },
  { bin: "fish", pkg: "fish", why: "checking the fish completion script" },
  { bin: "nft", pkg: "nftables", why: "the kernel-level shedding test (tests/integration/firewall-nft.test.ts, firewall: nft)" },
  { bin: "unshare", pkg: "util-linux", why: "running the nft firewall test in a private network namespace" },
  { bin: "setpriv", pkg: "util-linux", why: "the nft firewall test without CAP_NET_ADMIN (NFT_DENIED)" },
  { bin: "ip", pkg: "iproute2", why: "bringing up loopback and IPv6 addresses in the nft firewall test's namespace" },
  { lib: "libcrypto.so.3", pkg: "libssl3", why: "the solver's native kernel (OpenSSL's SHA-256 through the runtime's FFI)" },
  { bin: "go", pkg: "golang-go", why: "go tool pprof opens the /debug/pprof/ profiles (tests/integration/pprof.test.ts); go build of the handshake benchmark's native load generator (tests/integration/bench-loadgen.test.ts)" },
];

const has = (bin) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
const hasLib = (name) => spawnSync("sh", ["-c", `ldconfig -p | grep -qF ${name}`], { stdio: "ignore" }).status === 0;
const present = (n) => (n.file ? existsSync(n.file) : n.lib ? hasLib(n.lib) : has(n.bin));
const missing = NEEDED.filter((n) => !present(n));
if (missing.length === 0) process.exit(0);
const names = missing.map((m) => m.pkg).join(" ");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const hasApt = has("apt-get");
if (process.argv.includes("--check") || !isRoot || !hasApt) {
  for (const m of missing) process.stderr.write(`missing: ${m.bin ?? m.file ?? m.lib} (Debian package ${m.pkg}) for ${m.why}\n`);
  process.stderr.write(`Install them first: apt-get install -y ${names}\n`);
  process.exit(1);
}
process.stdout.write(`ensure-deps: installing ${names}\n`);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
const run = (args) => spawnSync("apt-get", args, { stdio: "inherit", env }).status === 0;
const plain = missing.filter((m) => !m.backports);
const fromBackports = missing.filter((m) => m.backports);
const suite = fromBackports.length > 0 ? addBackports() : null;
const install = (pkgs, extra = []) => pkgs.length === 0 || run(["install", "-y", "-qq", "--no-install-recommends", ...extra, ...pkgs.map((m) => m.pkg)]);
if (!run(["update", "-qq"]) || !install(plain) || !install(fromBackports, ["-t", suite])) {
  process.stderr.write(`ensure-deps: apt-get could not install ${names}\n`);
  process.exit(1);
}
const still = missing.filter((n) => !present(n));
if (still.length > 0) {
  process.stderr.write(`ensure-deps: still missing after install: ${still.map((s) => s.bin ?? s.file ?? s.lib).join(", ")}\n`);
  process.exit(1);
}

/**
 * The `<codename>-backports` suite, adding a deb822 source for it when no configured source names it
 * (idempotent: a second run finds it). Debian only; anything else fails naming the packages.
 */
function addBackports() {
  const osRelease = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
  const codename = /^VERSION_CODENAME=(\w+)$/m.exec(osRelease)?.[1];
  if (!/^ID=debian$/m.test(osRelease) || !codename) {
    process.stderr.write(`ensure-deps: ${fromBackports.map((m) => m.pkg).join(" ")} come from Debian backports; install them by hand on this system\n`);
    process.exit(1);
  }
  const suite = `${codename}-backports`;
  const dir = "/etc/apt/sources.list.d";
  const files = ["/etc/apt/sources.list", ...(existsSync(dir) ? readdirSync(dir).map((f) => `${dir}/${f}`) : [])];
  const named = files.some((f) => existsSync(f) && readFileSync(f, "utf8").split("\n").some((l) => !l.trim().startsWith("#") && l.includes(suite)));
  if (!named) {
    process.stdout.write(`ensure-deps: adding the ${suite} source (${dir}/${suite}.sources)\n`);
    writeFileSync(`${dir}/${suite}.sources`, [
      "Types: deb",
      "URIs: http://deb.debian.org/debian",
      `Suites: ${suite}`,
      "Components: main",
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
      "",
    ].join("\n"));
  }
  return suite;
}
