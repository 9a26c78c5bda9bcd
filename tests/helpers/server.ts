/** Test helpers: a real server on 127.0.0.1 port 0, closed by `await using`. */
import { SERVE_DEFAULTS, type ServeConfig } from "../../src/shared/config/schema.ts";
import type { SolverLike } from "../../src/shared/client/fetch.ts";
import { solveReference } from "../../src/shared/pow/hashcash.ts";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server.ts";
import type { Transport } from "../../src/shared/transport/types.ts";

export const TEST_SECRET = new TextEncoder().encode("wisdom-test-secret-0123456789");

export async function testServer(config: Partial<ServeConfig> = {}, extra: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startServer({
    config: { ...SERVE_DEFAULTS, listen: "127.0.0.1:0", metrics_listen: "", difficulty: 4, log_level: "silent", ...config },
    keys: [{ id: "t1", secret: TEST_SECRET }],
    ...extra,
  });
}

/** A slow but obviously correct solver (one @noble/hashes call per attempt), for protocol tests. */
export const referenceSolver: SolverLike = {
  kernel: "reference",
  threads: 1,
  async solve(prefix, bits, opts) {
    const t0 = performance.now();
    let start = 0;
    for (;;) {
      if (opts?.signal?.aborted) throw new DOMException("aborted", "AbortError");
      const c = solveReference(prefix, bits, start, 4096);
      if (c >= 0) return { counter: c, attempts: c + 1, elapsedMs: performance.now() - t0 };
      start += 4096;
      await new Promise((r) => setTimeout(r, 0));
    }
  },
};

/** A raw client: connect, collect every byte, know when closed. */
export async function rawConnect(t: Transport, port: number, host = "127.0.0.1") {
  const chunks: Uint8Array[] = [];
  let closedAt = 0;
  let onClose: (() => void) | null = null;
  const closed = new Promise<void>((r) => (onClose = r));
  const conn = await t.connect(host, port, {
    open: () => null,
    data: (_s, c) => void chunks.push(c.slice()),
    close: () => {
      closedAt = performance.now();
      onClose!();
    },
  });
  return {
    conn,
    closed,
    get closedAt() {
      return closedAt;
    },
    bytes(): Uint8Array {
      const n = chunks.reduce((a, c) => a + c.length, 0);
      const out = new Uint8Array(n);
      let o = 0;
      for (const c of chunks) { out.set(c, o); o += c.length; }
      return out;
    },
  };
}

export async function waitFor(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Limits lifted, for tests about something else that make many requests from 127.0.0.1. */
export const NO_LIMITS = {
  challenge_rate: 1e6, challenge_burst: 1e6, net_challenge_rate: 1e6, net_challenge_burst: 1e6,
  solution_rate: 1e6, solution_burst: 1e6, max_outstanding: 1e6, escalation_max_bits: 0,
  max_connections_per_addr: 1e6, max_connections_per_net: 1e6,
} as const;
