/**
 * RedisRateLimiter's leases against a scripted link (no Redis): the order of requests, grants and the
 * takes answered at once from leased tokens is chosen by the test. The Redis side is covered in
 * tests/integration/redis.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisRateLimiter } from "../../src/shared/store/redis-limiter.ts";
import type { RedisLink } from "../../src/shared/store/redis-link.ts";
import { MemoryRateLimiter } from "../../src/shared/defence/rate-limiter.ts";
import type { Take } from "../../src/shared/defence/token-bucket.ts";

type Args = () => (string | number)[];

/** A link whose requests wait until the test sends them (args() is read then, as the real link does at its flush) and answers them. */
function scriptedLink() {
  const queued: { args: Args; resolve: (r: [number, number]) => void }[] = [];
  const sent: { ask: (string | number)[]; resolve: (r: [number, number]) => void }[] = [];
  const link = {
    up: true,
    target: { url: "redis://scripted" },
    fallback() {},
    batch(_key: string, args: Args): Promise<[number, number]> {
      return new Promise((resolve) => void queued.push({ args, resolve }));
    },
  };
  return {
    link: link as unknown as RedisLink,
    /** Send every queued request: returns what each asked for, [op, rate, burst, least, most]. */
    send(): (string | number)[][] {
      const out = queued.splice(0).map((q) => (sent.push({ ask: q.args(), resolve: q.resolve }), sent[sent.length - 1]!.ask));
      return out;
    },
    /** Answer sent request `i` with `got` tokens (as Redis does when the bucket has them). */
    grant(i: number, got: number): void {
      sent[i]!.resolve([got, 0]);
    },
  };
}

const SPEC = { ratePerSec: 1e6, burst: 1e6 }; // leases of up to 64; Redis always has enough here
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("RedisRateLimiter leases (scripted link)", () => {
  test("takes waiting on a request get their own tokens even when the tokens leased here meanwhile are spent by others", async () => {
    const s = scriptedLink();
    const l = new RedisRateLimiter(s.link, "t:", "fail-closed", new MemoryRateLimiter());
    // A first request is sent; a second one (three takes) is queued while the key has no token here.
    const first = l.take("c", "10.0.0.1", SPEC, 0) as Promise<Take>;
    s.send();
    const waiting = [0, 1, 2].map(() => l.take("c", "10.0.0.1", SPEC, 0) as Promise<Take>);
    // The first grant comes back with more than its take: 4 tokens stay leased here.
    s.grant(0, 5);
    assert.deepEqual(await first, { ok: true });
    assert.equal(l.held("c", "10.0.0.1"), 4);
    // The second request leaves now, while those 4 tokens are here...
    const [ask] = s.send();
    // ...and takes answered at once spend them before its grant comes back.
    for (let i = 0; i < 4; i++) assert.deepEqual(l.take("c", "10.0.0.1", SPEC, 0), { ok: true });
    const most = Number(ask![4]);
    s.grant(1, most); // Redis gives what was asked: the bucket holds a million
    const answers = await Promise.all(waiting);
    assert.deepEqual(answers, [{ ok: true }, { ok: true }, { ok: true }], `the request asked for ${most} token(s) for its 3 takes`);
    await settle();
  });

  test("a request never asks for fewer tokens than its takes, nor less than one lease when none is in flight", async () => {
    const s = scriptedLink();
    const l = new RedisRateLimiter(s.link, "t:", "fail-closed", new MemoryRateLimiter());
    const takes = [0, 1, 2, 3, 4].map(() => l.take("c", "10.0.0.2", SPEC, 0) as Promise<Take>);
    const [ask] = s.send();
    assert.equal(ask![3], 1, "least: the smallest take");
    assert.ok(Number(ask![4]) >= 5, `most ${ask![4]}: the five takes`);
    s.grant(0, Number(ask![4]));
    assert.deepEqual(await Promise.all(takes), Array(5).fill({ ok: true }));
  });
});
