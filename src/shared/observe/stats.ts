/**
 * Plain counters fed by the gate's events: what tests, logs and `wisdom load` read. The Prometheus
 * registry subscribes to the same events.
 * @module
 */
import type { ErrorCode } from "../protocol/errors.ts";
import type { CloseReason, GateObserver } from "../gate/types.ts";

export class GateStats implements GateObserver {
  accepted = 0;
  open = 0;
  closed: Record<string, number> = {};
  challenges = 0;
  proofsOk = 0;
  proofsFailed: Record<string, number> = {};
  framesRejected: Record<string, number> = {};
  quotes: Record<string, number> = {};
  refused: Record<string, number> = {};
  difficulty = 0;
  difficultyMax = 0;

  connOpened(): void {
    this.accepted++;
    this.open++;
  }
  connClosed(reason: CloseReason): void {
    this.open--;
    this.closed[reason] = (this.closed[reason] ?? 0) + 1;
  }
  challengeIssued(): void {
    this.challenges++;
  }
  proofAccepted(): void {
    this.proofsOk++;
  }
  proofRejected(code: ErrorCode): void {
    this.proofsFailed[code] = (this.proofsFailed[code] ?? 0) + 1;
  }
  frameRejected(code: ErrorCode): void {
    this.framesRejected[code] = (this.framesRejected[code] ?? 0) + 1;
  }
  connRefused(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }
  difficultyChanged(bits: number): void {
    this.difficulty = bits;
    this.difficultyMax = Math.max(this.difficultyMax, bits);
  }
  quoteServed(source: string): void {
    this.quotes[source] = (this.quotes[source] ?? 0) + 1;
  }
}

/** Fan one event stream out to several observers. */
export function fanOut(...observers: GateObserver[]): GateObserver {
  const pick = <K extends keyof GateObserver>(k: K) => observers.map((o) => o[k]?.bind(o)).filter((f) => f !== undefined) as NonNullable<GateObserver[K]>[];
  // Fixed arity and no rest/spread: these run several times per connection.
  const call = <K extends keyof GateObserver>(k: K) => {
    const fs = pick(k) as ((a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void)[];
    if (fs.length === 1) return fs[0]!;
    return (a?: unknown, b?: unknown, c?: unknown, d?: unknown) => {
      for (let i = 0; i < fs.length; i++) fs[i]!(a, b, c, d);
    };
  };
  return {
    connOpened: call("connOpened"),
    connClosed: call("connClosed"),
    challengeIssued: call("challengeIssued"),
    proofAccepted: call("proofAccepted"),
    proofRejected: call("proofRejected"),
    quoteServed: call("quoteServed"),
    frameRejected: call("frameRejected"),
    connRefused: call("connRefused"),
    difficultyChanged: call("difficultyChanged"),
  };
}
