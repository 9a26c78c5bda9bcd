/**
 * The mutation pass of issue 16: one plausible bug at a time in a security-relevant check of the gate,
 * PoW, defence, store, codec and PROXY code. Each entry names one place (`find` must occur exactly once
 * in `file`), the broken version, and what an attacker gains if it shipped. `scripts/mutation/run.ts`
 * applies each to a scratch copy of the project and runs the tests: a mutation the tests do not notice
 * "survives". `equivalent: true` marks behaviour no functional test can see (named in docs/POW.md).
 * @module
 */
export interface Mutation {
  readonly id: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** What the bug would let an attacker (or a fault) do. */
  readonly risk: string;
  /** Test files to run (default DEFAULT_TESTS); a mutation is killed when any of them fails. */
  readonly tests?: readonly string[];
  readonly equivalent?: true;
}

/** Unit tests plus the gate and defence integration suites: fast (10-20 s on Bun) and wide. */
export const DEFAULT_TESTS: readonly string[] = ["tests/unit/", "tests/integration/gate.test.ts", "tests/integration/defence.test.ts", "tests/integration/proxy.test.ts"];
const REDIS_TESTS = ["tests/integration/redis.test.ts"];
const PROXY_TESTS = ["tests/unit/proxy-protocol.test.ts", "tests/integration/proxy.test.ts"];

const CH = "src/shared/pow/challenge.ts";
const KEYS = "src/shared/pow/keys.ts";
const HC = "src/shared/pow/hashcash.ts";
const GATE = "src/shared/gate/gate.ts";
const CONN = "src/shared/gate/connections.ts";
const DL = "src/shared/gate/deadlines.ts";
const MEM = "src/shared/store/memory.ts";
const TB = "src/shared/defence/token-bucket.ts";
const ADM = "src/shared/defence/admission.ts";
const ESC = "src/shared/defence/escalation.ts";
const POL = "src/shared/defence/policy.ts";
const FRAME = "src/shared/protocol/frame.ts";
const MSG = "src/shared/protocol/messages.ts";
const PROXY = "src/shared/net/proxy-protocol.ts";
const RSPENT = "src/shared/store/redis-spent.ts";
const LUA = "src/shared/store/redis-lua.ts";

export const MUTATIONS: readonly Mutation[] = [
  // --- pow/challenge.ts: verification order and every signed field
  { id: "ch-alg", file: CH, find: "if (c.alg !== ALG_SHA256_HASHCASH) return fail", replace: "if (false) return fail", risk: "a puzzle of another algorithm accepted" },
  { id: "ch-bits-max", file: CH, find: "if (c.bits > MAX_BITS) return fail", replace: "if (c.bits > MAX_BITS + 1) return fail", risk: "bits 33 passes the bounds check" },
  { id: "ch-ttl-max", file: CH, find: "c.exp - c.iat > ctx.maxTtlMs", replace: "c.exp - c.iat > ctx.maxTtlMs * 1000", risk: "a lifetime the server never signs is accepted (max-TTL check gone)" },
  { id: "ch-ttl-order", file: CH, find: "if (c.exp <= c.iat ||", replace: "if (c.exp < c.iat ||", risk: "exp == iat accepted" },
  { id: "ch-expired", file: CH, find: "if (ctx.nowMs >= c.exp) return fail", replace: "if (ctx.nowMs > c.exp) return fail", risk: "a proof accepted at its expiry instant" },
  { id: "ch-expired-gone", file: CH, find: "if (ctx.nowMs >= c.exp) return fail", replace: "if (false) return fail", risk: "expired challenges accepted" },
  { id: "ch-future", file: CH, find: "if (c.iat > ctx.nowMs + ctx.skewMs) return fail", replace: "if (false) return fail", risk: "challenges from the future accepted (pre-minted work)" },
  { id: "ch-kid", file: CH, find: "if (!ring.has(c.kid)) return fail", replace: "if (false) return fail", risk: "unknown key id reaches tagInto" },
  { id: "ch-mac-compare", file: CH, find: "if (!timingSafeEqual(_given, _expected)) return fail", replace: "if (_given[0] !== _expected[0]) return fail", risk: "tag compared on its first byte: forgery in ~256 tries" },
  { id: "ch-mac-gone", file: CH, find: "if (!timingSafeEqual(_given, _expected)) return fail", replace: "if (false) return fail", risk: "no signature check" },
  { id: "ch-addr", file: CH, find: "if (c.addr !== ctx.addr) return fail", replace: "if (false) return fail", risk: "a proof solved for one address redeemed from another" },
  { id: "ch-work", file: CH, find: "if (got < c.bits) return fail", replace: "if (got < c.bits - 1) return fail", risk: "one bit less work than demanded accepted" },
  { id: "ch-work-gone", file: CH, find: "if (got < c.bits) return fail", replace: "if (false) return fail", risk: "no work checked" },
  { id: "ch-prefix-bits", file: CH, find: "_prefix[16] = c.bits;", replace: "_prefix[16] = 0;", risk: "the work does not commit to the difficulty" },
  { id: "ch-spentkey", file: CH, find: "spentKey: c.mac.slice(0, 32)", replace: "spentKey: c.mac.slice(0, 32) + s.counter", risk: "one challenge redeemed once per counter" },
  { id: "ch-spent-exp", file: CH, find: "expiresAtMs: c.exp, bits", replace: "expiresAtMs: c.exp - 1000, bits", risk: "spent mark forgotten a second before the challenge expires" },
  { id: "ch-sign-exp", file: CH, find: "putU64(out, o, c.exp); o += 8;", replace: "o += 8;", risk: "exp not signed: a challenge's lifetime extended" },
  { id: "ch-sign-iat", file: CH, find: "putU64(out, o, c.iat); o += 8;", replace: "o += 8;", risk: "iat not signed" },
  { id: "ch-sign-bits", file: CH, find: "out[o++] = c.bits;", replace: "o++;", risk: "bits not signed: an attacker lowers the difficulty" },
  { id: "ch-sign-addr", file: CH, find: "o = putString(out, o, c.addr);", replace: "o = putString(out, o, \"\");", risk: "addr not signed" },
  { id: "ch-sign-nonce", file: CH, find: "out[o++] = c.nonce.length; out.set(c.nonce, o); o += c.nonce.length;", replace: "out[o++] = 0;", risk: "nonce not signed: fresh challenges without the server" },
  { id: "ch-sign-kid", file: CH, find: "o = putString(out, o, c.kid);", replace: "o = putString(out, o, \"\");", risk: "kid not signed" },
  { id: "keys-tse-length", file: KEYS, find: "if (a.length !== b.length) return false;", replace: "", risk: "a short tag compared as a prefix" },
  { id: "keys-tse-const", file: KEYS, find: "for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;", replace: "for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;", risk: "early exit: timing leaks how many bytes match", equivalent: true },
  // --- pow/hashcash.ts
  { id: "hc-lzb", file: HC, find: "return leadingZeroBits(workDigest(prefix, counterBytes)) >= bits;", replace: "return leadingZeroBits(workDigest(prefix, counterBytes)) >= bits - 1;", risk: "the reference check accepts one bit less" },
  { id: "hc-domain", file: "src/shared/pow/hashcash-bytes.ts", find: "out.set(DOMAIN, 0);", replace: "", risk: "no domain separation in the prefix" },
  // --- gate/gate.ts: order of verify, spend, quote
  { id: "gate-spend-first", file: GATE,
    find: "    const verdict = verifySolution(this.ring, s, ctx);\n    if (!verdict.ok) return this._reject(verdict.code, verdict.message);\n    let fresh: boolean | Promise<boolean>;\n    try {\n      fresh = this.store.markSpent(verdict.spentKey, verdict.expiresAtMs, now, s.challenge.iat);\n    } catch (err) {\n      return this._storeFailed(err);\n    }\n",
    replace: "    let fresh: boolean | Promise<boolean>;\n    try {\n      fresh = this.store.markSpent(s.challenge.mac.slice(0, 32), s.challenge.exp, now, s.challenge.iat);\n    } catch (err) {\n      return this._storeFailed(err);\n    }\n    const verdict = verifySolution(this.ring, s, ctx);\n    if (!verdict.ok) return this._reject(verdict.code, verdict.message);\n",
    risk: "challenge marked spent before its proof is verified: a forged Solution burns a victim's challenge and fills the spent set for free" },
  { id: "gate-replay", file: GATE, find: "if (!fresh) return this._reject(\"REPLAY\"", replace: "if (false) return this._reject(\"REPLAY\"", risk: "replays answered" },
  { id: "gate-store-fail-open", file: GATE, find: "      return this._storeFailed(err);\n    }\n    if (typeof fresh", replace: "      fresh = true;\n    }\n    if (typeof fresh", risk: "a failing store answers quotes (fail-open without asking)" },
  { id: "gate-bad-quote", file: GATE, find: "typeof q.text !== \"string\" || ", replace: "", risk: "a non-string quote text sent as ok" },
  // --- gate/connections.ts: deadlines, one solution per connection, challenge/solution pairing
  { id: "conn-handshake-deadline", file: DL, find: "if (age > handshakeMs) return", replace: "if (age > handshakeMs * 10) return", risk: "a byte-dripping client holds a connection past the handshake deadline" },
  { id: "conn-first-byte", file: DL, find: "if (!s.gotByte && !s.proxy && now - s.challengedAt > s.firstByteMs) return", replace: "if (!s.gotByte && !s.proxy && now - s.challengedAt > s.firstByteMs * 10) return", risk: "silent slowloris held 10x longer" },
  { id: "conn-frame-deadline", file: DL, find: "if (s.phase === Phase.Waiting && s.frameStartedAt > 0 && now - s.frameStartedAt > s.frameMs) return", replace: "if (false) return", risk: "a frame started and never finished holds the connection" },
  { id: "conn-proxy-deadline", file: DL, find: "if (s.proxy && s.frameStartedAt === 0 && age > s.frameMs) return", replace: "if (false) return", risk: "a trusted proxy connection that never sends its header is held" },
  { id: "conn-done-destroy", file: CONN, find: "if (answeredTooLong(age, t)) s.conn.destroy();", replace: "", risk: "an answered peer that never reads holds its slot forever" },
  { id: "conn-one-solution", file: CONN, find: "if (s.phase !== Phase.Waiting) return; // one solution per connection; the rest is ignored", replace: "if (s.phase === Phase.Done) return;", risk: "a second Solution on one connection is processed" },
  { id: "conn-early-bound", file: CONN, find: "} else if (n <= this._gate.settings.maxPayload + 4) held.push(chunk.slice());", replace: "} else held.push(chunk.slice());", risk: "unbounded buffering while a shared limiter decides" },
  // --- store/memory.ts
  { id: "mem-bucket-floor", file: MEM, find: "const id = Math.ceil(expiresAtMs / this._bucketMs);", replace: "const id = Math.floor(expiresAtMs / this._bucketMs);", risk: "spent entry dropped before its challenge expires: replay in the last second" },
  { id: "mem-full", file: MEM, find: "if (this._size >= this._max) {", replace: "if (false) {", risk: "the spent set grows without bound" },
  { id: "mem-full-evict", file: MEM, find: "if (this._size >= this._max) {\n      throw", replace: "if (this._size >= this._max) {\n      this._buckets.delete(this._buckets.keys().next().value!);\n    }\n    if (false) {\n      throw", risk: "evict-oldest when full: a flood flushes entries and reopens replays" },
  { id: "mem-sweep", file: MEM, find: "if (id * this._bucketMs <= nowMs) {", replace: "if (id * this._bucketMs <= nowMs + this._bucketMs) {", risk: "a bucket dropped one bucket early" },
  { id: "mem-has", file: MEM, find: "if (bucket?.has(key)) return false;", replace: "", risk: "no replay check" },
  { id: "mem-fence", file: MEM, find: "if (issuedAtMs < this._fence) {", replace: "if (false) {", risk: "after a restart, proofs redeemed by the previous process are accepted again", tests: [...DEFAULT_TESTS, "tests/integration/restart-replay.test.ts"] },
  { id: "mem-fence-lower", file: MEM, find: "if (iatMs < this._fence) this._fence = iatMs;", replace: "this._fence = iatMs;", risk: "the fence follows the newest challenge: this process's own earlier challenges refused" },
  // --- store/redis
  { id: "redis-nx", file: LUA, find: "redis.call('SET', key, '1', 'PX', ARGV[a + 1], 'NX')", replace: "redis.call('SET', key, '1', 'PX', ARGV[a + 1])", risk: "SET without NX: every replay looks fresh", tests: REDIS_TESTS },
  { id: "redis-ttl", file: RSPENT, find: "const ttl = Math.max(1, Math.ceil(expiresAtMs - nowMs));", replace: "const ttl = Math.max(1, Math.ceil(expiresAtMs - nowMs) - 1000);", risk: "the Redis mark expires a second before the challenge", tests: REDIS_TESTS },
  { id: "redis-fail-closed", file: RSPENT, find: "if (this._failMode === \"fail-closed\") {", replace: "if (false) {", risk: "fail-closed falls back to memory (an outage opens replays across instances)", tests: REDIS_TESTS },
  { id: "redis-fallback-binding", file: RSPENT, find: "if (this._fallback.size() === 0) this._fellBack = false;", replace: "this._fellBack = false;", risk: "proofs spent in memory during an outage forgotten when Redis returns", tests: REDIS_TESTS },
  { id: "redis-fence-check", file: LUA, find: "if tonumber(ARGV[a + 2]) < fence then", replace: "if false then", risk: "the failover fence never refuses: proofs spent on a lost primary are accepted again", tests: REDIS_TESTS },
  { id: "redis-fence-raise", file: LUA, find: "if rec[1] ~= id then", replace: "if false then", risk: "a new server (failover, restart, FLUSHALL) is not noticed: no fence", tests: REDIS_TESTS },
  { id: "redis-start-fence", file: RSPENT, find: "if (issuedAtMs < this._startFence) {", replace: "if (false) {", risk: "fail-open: a proof accepted from memory before a restart is accepted again by Redis after it", tests: REDIS_TESTS },
  // --- defence
  { id: "tb-burst", file: TB, find: "b.tokens = Math.min(this.spec.burst, b.tokens + (nowMs - b.at) * this._ratePerMs);", replace: "b.tokens = b.tokens + (nowMs - b.at) * this._ratePerMs;", risk: "a token bucket refills past its burst: an idle client saves up a flood" },
  { id: "tb-take", file: TB, find: "if (b.tokens >= n) {", replace: "if (b.tokens >= n - 1) {", risk: "one request more than the bucket holds" },
  { id: "tb-evict-full-only", file: TB, find: "if (nowMs - b.at >= fullAfterMs) this._map.delete(k);", replace: "this._map.delete(k);", risk: "eviction drops limited (non-idle) clients, resetting their limits" },
  { id: "adm-conn-cap", file: ADM, find: "if (this.open >= s.maxConnections) return", replace: "if (this.open > s.maxConnections) return", risk: "one connection over the cap" },
  { id: "adm-addr-cap", file: ADM, find: "if (a >= s.maxConnectionsPerAddr) return", replace: "if (a > s.maxConnectionsPerAddr) return", risk: "one connection over the per-address cap" },
  { id: "adm-net-cap", file: ADM, find: "if (n >= s.maxConnectionsPerNet) return", replace: "if (n > s.maxConnectionsPerNet) return", risk: "one connection over the per-network cap" },
  { id: "adm-outstanding", file: ADM, find: "if (out.length >= this.spec.maxOutstandingPerAddr) {", replace: "if (out.length > this.spec.maxOutstandingPerAddr) {", risk: "one unsolved challenge over the cap" },
  { id: "adm-outstanding-prune", file: ADM, find: "while (drop < out.length && out[drop]! + this.spec.ttlMs <= nowMs) drop++;", replace: "while (drop < out.length) drop++;", risk: "outstanding challenges forgotten at once: the cap never binds" },
  { id: "adm-close-uncount", file: ADM, find: "if (a <= 0) this._perAddr.delete(addr);", replace: "this._perAddr.delete(addr);", risk: "closing one connection forgets all of that address's connections" },
  { id: "esc-free", file: ESC, find: "if (count <= this.spec.freeRequests) return 0;", replace: "if (count <= this.spec.freeRequests * 2) return 0;", risk: "twice the free requests before escalation" },
  { id: "esc-cap", file: ESC, find: "return Math.min(this.spec.maxExtraBits, Math.ceil(Math.log2(count / this.spec.freeRequests)));", replace: "return Math.min(this.spec.maxExtraBits, Math.floor(Math.log2(count / this.spec.freeRequests)));", risk: "escalation one bit short" },
  { id: "pol-max", file: POL, find: "this._controller.bits + Math.max(extra, netExtra)", replace: "this._controller.bits + extra", risk: "per-network escalation ignored: a /24 of addresses each under the free count" },
  // --- protocol codec
  { id: "frame-too-large", file: FRAME, find: "if (length > maxPayload) {", replace: "if (length > maxPayload + 1) {", risk: "a frame one byte over the limit accepted" },
  { id: "msg-kid", file: MSG, find: "v.regex(/^[A-Za-z0-9._-]{1,32}$/,", replace: "v.regex(/^[\\s\\S]{1,64}$/,", risk: "any kid string accepted into the key lookup" },
  { id: "msg-addr-max", file: MSG, find: "addr: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),", replace: "addr: v.pipe(v.string(), v.minLength(1)),", risk: "unbounded addr string" },
  { id: "client-msg-bits", file: "src/shared/protocol/message-check.ts", find: '["bits", uint(255, U8)],', replace: '["bits", uint(1e6, U8)],', risk: "the client's own decoder takes a challenge the protocol forbids" },
  { id: "client-msg-addr", file: "src/shared/protocol/message-check.ts", find: '["addr", str(1, 64)],', replace: '["addr", str(0, 64)],', risk: "the client's decoder drifts from the server's schema (empty addr)" },
  // --- PROXY codec
  { id: "proxy-v2-sig", file: PROXY, find: "if (b[i] !== PROXY_V2_SIGNATURE[i]) {", replace: "if (i < 4 && b[i] !== PROXY_V2_SIGNATURE[i]) {", risk: "a partial v2 signature accepted", tests: PROXY_TESTS },
  { id: "proxy-v2-len", file: PROXY, find: "if (total > maxHeaderBytes) {", replace: "if (false) {", risk: "unbounded v2 header length buffered", tests: PROXY_TESTS },
  { id: "proxy-v2-block", file: PROXY, find: "if (blockLength < addressBytes) {", replace: "if (false) {", risk: "addresses read past a short block", tests: PROXY_TESTS },
  { id: "proxy-v1-port", file: PROXY, find: "if (port > 0xffff) throw", replace: "if (false) throw", risk: "port 99999 accepted", tests: PROXY_TESTS },
  { id: "proxy-v1-crlf", file: PROXY, find: "if (c === 0x0a) throw new ProxyHeaderError(", replace: "if (false) throw new ProxyHeaderError(", risk: "a bare LF line end accepted", tests: PROXY_TESTS },
  { id: "proxy-v1-maxline", file: PROXY, find: "if (b.length >= maxLine - 1) {", replace: "if (false) {", risk: "a PROXY v1 line without CRLF buffered forever", tests: PROXY_TESTS },
];
