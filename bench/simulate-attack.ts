/**
 * Deterministic simulation of the adaptive difficulty controller under an attack (docs/POW.md,
 * "Adaptive difficulty"). It drives the real defence parts, built by `createDefence` from
 * SERVE_DEFAULTS exactly as `wisdom serve` builds them (DifficultyController, per-client Escalation,
 * AdaptivePolicy), with a fluid model of one server instance: 600 s in 1 s ticks, quiet, then 300 s of
 * attack, then quiet again. Each tick it builds the PressureSample that src/server.ts would read off
 * its counters and feeds it to `controller.update()`, once, like the server's tick. The same scenario
 * runs twice: with the controller (`adaptive: on`, the default) and without it (`adaptive: off`: the
 * difficulty stays at the floor; escalation and the rate limits stay on, as they do in the server).
 *
 *   npx bun bench/simulate-attack.ts
 *   npx deno run -A bench/simulate-attack.ts
 *
 * Prints a Markdown table, one line with the rise and decay times, and one JSON line. There is no
 * randomness and no clock: every run on every runtime prints the same figures.
 *
 * The model's assumptions (also listed in docs/POW.md):
 * - Traffic is a fluid: rates, not individual connections. Bots are identical, so one representative
 *   bot address (and one honest address) goes through the real Escalation, one hit per challenge.
 * - Server work is event-loop time per event (MODEL.cost). When the offered work exceeds one second
 *   per second, every kind of request is served in the same proportion (FIFO, no priorities) and the
 *   rest is shed (listen backlog overflow, client deadlines); the queued work grows by the excess,
 *   up to MODEL.backlogMaxS, and drains when the load falls again.
 * - Loop delay is the queued work plus the M/D/1 mean wait below saturation. It understates the
 *   server's signal, which is the worst timer lateness of the tick.
 * - Open connections follow Little's law: rate times how long each kind holds its connection.
 * - A difficulty change applies to the next tick's challenges (the server: to challenges issued after
 *   the change; challenges already out keep their bits until they expire).
 * - Bursts of the token buckets, network (/24) limits, connection refusals and network round trips
 *   are left out: the bots, flooders and spammers stay under their per-address caps.
 * @module
 */
import { SERVE_DEFAULTS, type ServeConfig } from "../src/shared/config/schema.ts";
import { type PressureSample, type PriceDriver, pricePressureOf } from "../src/shared/defence/controller.ts";
import { createDefence } from "../src/shared/defence/from-config.ts";

const MODEL = {
  durationS: 600,
  attackStartS: 120,
  attackEndS: 420,
  /** Honest clients: 5 requests/s in all, each address asking once every 2 minutes (600 clients). */
  honestPerS: 5,
  honestPeriodS: 120,
  /** Honest solver: 10 M attempts/s (WASM SIMD kernel, 2 threads; `wisdom bench` here: 9.7 M/s Deno, 6.1-6.6 M/s Bun). */
  honestHps: 10e6,
  /** Solving botnet: 1,000 addresses with 2 native cores each at 15 M attempts/s (bench/native/sha256_midstate.c). */
  bots: 1000,
  botCores: 2,
  coreHps: 15e6,
  /** Connection flood: 1,500 connections/s from 300 addresses (5/s each), silent until the first-byte window closes. */
  floodPerS: 1500,
  /** The non-solving attack alone: a flood as large as the issue's measured one (5,000 connections/s). */
  nonSolvingFloodPerS: 5000,
  /** Proof spam: 250 random answers/s from 50 addresses (5/s each), each one a failed proof. */
  spamPerS: 250,
  /**
   * Event-loop seconds per event. bench/handshake.ts on this 2-core VM: a bare accept-write-close server
   * 2,856-5,310 connections/s, a full gate handshake at difficulty 1 1,465-2,222/s (Bun and Deno).
   * accept + challenge 200 us, redeem (verify, spent set, quote, close) 300 us: 2,000 handshakes/s.
   */
  cost: { acceptS: 200e-6, redeemS: 300e-6, rejectS: 250e-6 },
  /** Most queued work, seconds; beyond it work is shed. Any backlog over 0.15 s is already full pressure. */
  backlogMaxS: 1,
} as const;

const CAPACITY_PER_S = 1 / (MODEL.cost.acceptS + MODEL.cost.redeemS);

interface Tick {
  t: number;
  attack: boolean;
  /** Base difficulty in force during the tick, and the bits the bots and honest clients get. */
  bits: number;
  botBits: number;
  honestBits: number;
  attackerOk: number;
  served: number;
  honestMeanS: number;
  honestP99S: number;
  /** The queueing part of the honest latency (two waits), for the p99 of a window. */
  honestWaitS: number;
  load: number;
  pressure: number;
  driver: PriceDriver;
  /** First-byte window in force for the tick's connections (shrinks under connection pressure). */
  windowS: number;
  sample: PressureSample;
}

interface Change {
  t: number;
  from: number;
  to: number;
  pressure: number;
  driver: PriceDriver;
}

/** What an attack sends: solving bots, silent connections, random answers. */
interface Attack {
  readonly bots: number;
  readonly floodPerS: number;
  readonly spamPerS: number;
}

/** Attempts at or below which a fraction `p` of solves at `bits` finish (geometric quantile). */
function attemptsQuantile(bits: number, p: number): number {
  return Math.ceil(Math.log1p(-p) / Math.log1p(-(2 ** -bits)));
}

function simulate(config: ServeConfig, atk: Attack): { ticks: Tick[]; changes: Change[] } {
  const defence = createDefence(config);
  const controller = defence.controller;
  if (!controller) throw new Error("simulate-attack: the defence must be on");
  const tickS = config.adaptive_tick_ms / 1000;
  const botCap = Math.min(config.challenge_rate, config.solution_rate);
  const windows = defence.windows!;
  const ticks: Tick[] = [];
  const changes: Change[] = [];
  let backlogS = 0;
  let botExtra = 0;
  let honestExtra = 0;
  let botCarry = 0;
  let honestCarry = 0;

  for (let i = 0; i * tickS < MODEL.durationS; i++) {
    const t = i * tickS;
    const nowMs = i * config.adaptive_tick_ms;
    const attack = t >= MODEL.attackStartS && t < MODEL.attackEndS;
    const bits = controller.bits;
    // Silent connections are held until the first-byte window in force when they opened.
    const holdFloodS = windows.apply(config.first_byte_timeout_ms) / 1000;
    const botBits = Math.min(32, bits + botExtra);
    const honestBits = Math.min(32, bits + honestExtra);

    // Offered rates. A bot solves on every core and asks for a new challenge per proof, as fast as its
    // hash rate allows, within its per-address token buckets.
    const perBot = attack && atk.bots > 0 ? Math.min(botCap, (MODEL.botCores * MODEL.coreHps) / 2 ** botBits) : 0;
    const bot = atk.bots * perBot;
    const honest = MODEL.honestPerS;
    const flood = attack ? atk.floodPerS : 0;
    const spam = attack ? atk.spamPerS : 0;

    // Each challenge goes through the real policy: controller level plus escalation for that address.
    botCarry += perBot * tickS;
    const botHits = Math.floor(botCarry);
    botCarry -= botHits;
    for (let h = 0; h < botHits; h++) botExtra = defence.policy.bitsFor("bot", nowMs + ((h + 0.5) * config.adaptive_tick_ms) / botHits) - bits;
    honestCarry += tickS / MODEL.honestPeriodS;
    if (honestCarry >= 1) {
      honestCarry -= 1;
      honestExtra = defence.policy.bitsFor("honest", nowMs) - bits;
    }

    // The server: one event loop, served in proportion when overloaded.
    const { acceptS, redeemS, rejectS } = MODEL.cost;
    const load = (honest + bot) * (acceptS + redeemS) + flood * acceptS + spam * (acceptS + rejectS);
    const served = Math.min(1, 1 / load);
    backlogS = Math.min(MODEL.backlogMaxS, Math.max(0, backlogS + (load - 1) * tickS));
    const events = (honest + bot) * 2 + flood + spam * 2;
    const rho = Math.min(load, 0.99);
    const waitS = backlogS + (events > 0 ? ((load / events) * rho) / (2 * (1 - rho)) : 0);

    const honestScaleS = 2 ** honestBits / MODEL.honestHps;
    const botSolveS = 2 ** botBits / MODEL.coreHps;
    const sample: PressureSample = {
      openConnections: Math.min(
        config.max_connections,
        served * (honest * (honestScaleS + 2 * waitS) + bot * (botSolveS + 2 * waitS) + flood * holdFloodS + spam * 2 * waitS),
      ),
      acceptsPerSec: served * (honest + bot + flood + spam),
      challengesPerSec: served * (honest + bot + flood + spam),
      failedProofsPerSec: served * spam,
      validProofsPerSec: served * (honest + bot),
      loopDelayMs: waitS * 1000,
      sourceSaturation: 0,
    };
    windows.update(sample);

    // The server's tick (src/server.ts): one update per tick, only when adaptive.
    let pressure: number;
    let driver: PriceDriver;
    if (defence.adaptive) {
      const step = controller.update(sample);
      ({ pressure, driver } = step);
      if (step.changed) changes.push({ t: t + tickS, from: bits, to: step.bits, pressure, driver });
    } else {
      ({ pressure, driver } = pricePressureOf(sample, controller.spec.thresholds));
    }

    ticks.push({
      t, attack, bits, botBits, honestBits,
      attackerOk: served * bot,
      served,
      honestMeanS: honestScaleS + 2 * waitS,
      honestP99S: attemptsQuantile(honestBits, 0.99) / MODEL.honestHps + 2 * waitS,
      honestWaitS: 2 * waitS,
      load, pressure, driver, windowS: holdFloodS, sample,
    });
  }
  return { ticks, changes };
}

/** The p-quantile of honest latency over `ticks`, each weighted by the honest requests it served. */
function mixtureQuantile(ticks: Tick[], p: number): number {
  const weight = ticks.reduce((a, k) => a + k.served, 0);
  const tail = (x: number) =>
    ticks.reduce((a, k) => {
      const over = x <= k.honestWaitS ? 1 : (1 - 2 ** -k.honestBits) ** ((x - k.honestWaitS) * MODEL.honestHps);
      return a + k.served * over;
    }, 0) / weight;
  let lo = 0;
  let hi = Math.max(...ticks.map((k) => k.honestP99S)) * 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (tail(mid) > 1 - p) lo = mid;
    else hi = mid;
  }
  return hi;
}

interface Row {
  window: string;
  bits: string;
  attackerOk: number;
  served: number;
  honestMeanS: number;
  honestP99S: number;
  load: number;
  pressure: number;
  driver: PriceDriver;
  windowS: number;
}

function phaseRow(ticks: Tick[], from: number, to: number, label: string): Row {
  const ks = ticks.filter((k) => k.t >= from && k.t < to);
  const base = [...new Set(ks.map((k) => k.bits))];
  const botBits = ks.filter((k) => k.attack).map((k) => k.botBits);
  const lo = Math.min(...botBits);
  const hi = Math.max(...botBits);
  const weight = ks.reduce((a, k) => a + k.served, 0);
  const peak = ks.reduce((a, k) => (k.pressure > a.pressure ? k : a));
  return {
    window: label,
    bits: `${base.length === 1 ? base[0] : `${Math.min(...base)}-${Math.max(...base)}`}${botBits.length > 0 && hi > Math.min(...base) ? ` (bots ${lo === hi ? lo : `${lo}-${hi}`})` : ""}`,
    attackerOk: ks.reduce((a, k) => a + k.attackerOk, 0) / ks.length,
    served: weight / ks.length,
    honestMeanS: ks.reduce((a, k) => a + k.served * k.honestMeanS, 0) / weight,
    honestP99S: mixtureQuantile(ks, 0.99),
    load: ks.reduce((a, k) => a + k.load, 0) / ks.length,
    pressure: peak.pressure,
    driver: peak.driver,
    windowS: Math.min(...ks.map((k) => k.windowS)),
  };
}

function pointRow(ticks: Tick[], t: number): Row {
  const k = ticks.find((x) => x.t === t)!;
  return {
    window: `t = ${t}`,
    bits: `${k.bits}${k.attack && k.botBits !== k.bits ? ` (bots ${k.botBits})` : ""}`,
    attackerOk: k.attackerOk,
    served: k.served,
    honestMeanS: k.honestMeanS,
    honestP99S: k.honestP99S,
    load: k.load,
    pressure: k.pressure,
    driver: k.driver,
    windowS: k.windowS,
  };
}

/** Seconds from `since` until the base difficulty in force first satisfies `ok`. */
function secondsUntil(ticks: Tick[], since: number, ok: (bits: number) => boolean): number | null {
  const k = ticks.find((x) => x.t >= since && ok(x.bits));
  return k ? k.t - since : null;
}

const sig = (x: number) => Number(x.toPrecision(4));
const fmtS = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
const fmtRate = (r: number) => (r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1));
const SIGNAL: Record<PriceDriver, string> = {
  validProofsPerSec: "valid proofs/s",
  loopDelayMs: "loop delay x solving share",
  sourceSaturation: "quote source",
};

const { attackStartS: a0, attackEndS: a1, durationS: end } = MODEL;
const SOLVING: Attack = { bots: MODEL.bots, floodPerS: MODEL.floodPerS, spamPerS: MODEL.spamPerS };
const NON_SOLVING: Attack = { bots: 0, floodPerS: MODEL.nonSolvingFloodPerS, spamPerS: MODEL.spamPerS };
const runs = [
  { name: "solving, controller on", attack: SOLVING, config: { ...SERVE_DEFAULTS, adaptive: "on" } as ServeConfig },
  { name: "solving, controller off", attack: SOLVING, config: { ...SERVE_DEFAULTS, adaptive: "off" } as ServeConfig },
  { name: "non-solving, controller on", attack: NON_SOLVING, config: { ...SERVE_DEFAULTS, adaptive: "on" } as ServeConfig },
].map((r) => {
  const { ticks, changes } = simulate(r.config, r.attack);
  const floor = r.config.difficulty;
  const ceiling = r.config.difficulty_max;
  const rows = [
    phaseRow(ticks, 0, a0, `quiet 0-${a0}`),
    ...(r.config.adaptive === "on" ? [a0, a0 + 2, a0 + 4, a0 + 30] : [a0, a0 + 30]).map((t) => pointRow(ticks, t)),
    phaseRow(ticks, a0, a1, `attack ${a0}-${a1}`),
    ...(r.config.adaptive === "on" ? [a1 + 10, a1 + 39, a1 + 40].map((t) => pointRow(ticks, t)) : []),
    phaseRow(ticks, a1, end, `quiet ${a1}-${end}`),
  ];
  return {
    ...r,
    rows,
    changes,
    riseS: r.config.adaptive === "on" ? secondsUntil(ticks, a0, (b) => b > floor) : null,
    ceilingS: r.config.adaptive === "on" ? secondsUntil(ticks, a0, (b) => b >= ceiling) : null,
    decayS: r.config.adaptive === "on" ? secondsUntil(ticks, a1, (b) => b <= floor) : null,
  };
});

console.log("| run | time (s) | bits | attacker proofs/s | of capacity | honest served | honest mean | honest p99 | load | first-byte window | price pressure (signal), peak over a window |");
console.log("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of runs) {
  for (const row of r.rows) {
    console.log(
      `| ${r.name} | ${row.window} | ${row.bits} | ${fmtRate(row.attackerOk)} | ${Math.round((row.attackerOk / CAPACITY_PER_S) * 100)} % | ` +
        `${Math.round(row.served * 100)} % | ${fmtS(row.honestMeanS)} | ${fmtS(row.honestP99S)} | ${row.load.toFixed(2)} | ${fmtS(row.windowS)} | ` +
        `${row.pressure.toFixed(2)} (${SIGNAL[row.driver]}) |`,
    );
  }
}
const on = runs[0]!;
const calm = runs[2]!;
console.log(`\nnon-solving attack, controller on: ${calm.changes.length} level changes (the price never moves: nothing in it can be shed by work).`);
console.log(
  `solving attack, controller on: first raise ${on.riseS} s after the attack starts, ceiling after ${on.ceilingS} s; ` +
    `back at the floor ${on.decayS} s after it ends. Changes: ${on.changes.map((c) => `t=${c.t} ${c.from}->${c.to}`).join(", ")}.`,
);
console.log(JSON.stringify({
  bench: "simulate-attack",
  model: { ...MODEL, capacity_per_s: CAPACITY_PER_S, tick_ms: SERVE_DEFAULTS.adaptive_tick_ms },
  runs: runs.map((r) => ({
    name: r.name,
    attack: r.attack,
    adaptive: r.config.adaptive,
    rise_s: r.riseS,
    ceiling_s: r.ceilingS,
    decay_s: r.decayS,
    changes: r.changes.map((c) => ({ ...c, pressure: sig(c.pressure) })),
    rows: r.rows.map((row) => ({
      window: row.window,
      bits: row.bits,
      attacker_ok_per_s: sig(row.attackerOk),
      attacker_share: sig(row.attackerOk / CAPACITY_PER_S),
      honest_served: sig(row.served),
      honest_mean_s: sig(row.honestMeanS),
      honest_p99_s: sig(row.honestP99S),
      load: sig(row.load),
      pressure: sig(row.pressure),
      driver: row.driver,
      first_byte_window_s: sig(row.windowS),
    })),
  })),
}));
