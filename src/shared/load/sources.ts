/**
 * Source addresses in 127.0.0.0/8 for the load generator, so one process acts as many clients.
 * Each profile draws from its own /16, so attackers and honest clients never share a /24.
 * @module
 */

/** The `i`-th address of profile block `block` (1..254): 127.block.(i / 250).(i % 250 + 1). */
export function sourceAddress(block: number, i: number): string {
  const n = i % (250 * 250);
  return `127.${block}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

export const BLOCKS = { legit: 200, flood: 1, slowloris: 2, junk: 3, replay: 4, forge: 5, wrong: 6, spam: 7 } as const;
