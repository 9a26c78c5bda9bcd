/** Worker of bench/bun-shared-gc.ts: holds the buffer it is sent and runs mint + verify for `ms`. */
import { bytesToHex } from "@noble/hashes/utils.js";
import { mintChallenge, verifySolution } from "../src/shared/pow/challenge.ts";
import { encodeCounter } from "../src/shared/pow/hashcash.ts";
import { KeyRing } from "../src/shared/pow/keys.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
const bun = (globalThis as unknown as { Bun: { gc(force: boolean): void } }).Bun;

let held: Int32Array | null = null;

self.onmessage = (e: MessageEvent) => {
  const { buffer, every, ms } = e.data as { buffer: SharedArrayBuffer; every: number; ms: number };
  held = new Int32Array(buffer); // as a gate thread holds its view of the shared tables
  const ring = new KeyRing([{ id: "b", secret: new TextEncoder().encode("bench-bun-shared-gc-secret-0123456789") }]);
  const counter = bytesToHex(encodeCounter(0));
  const nonce = new Uint8Array(16);
  const ctx = { nowMs: 0, addr: "192.0.2.1", skewMs: 2000, maxTtlMs: 60_000 };
  let n = 0;
  const t0 = performance.now();
  do {
    for (let i = 0; i < 256; i++, n++) {
      const now = Date.now();
      nonce[0] = n; nonce[1] = n >>> 8; nonce[2] = n >>> 16; nonce[3] = n >>> 24;
      const ch = mintChallenge(ring, { bits: 0, nowMs: now, ttlMs: 60_000, addr: "192.0.2.1", nonce });
      ctx.nowMs = now;
      const v = verifySolution(ring, { challenge: ch, counter }, ctx);
      if (!v.ok) throw new Error("bench: a fresh proof was refused");
      if (every > 0 && n % every === 0) bun.gc(false);
    }
  } while (performance.now() - t0 < ms);
  held[0] = n;
  self.postMessage(n);
};
