/**
 * The difficulty policy the gate uses when the defence is on: the controller's level plus the client's
 * escalation, within 0..32.
 * @module
 */
import type { DifficultyPolicy } from "../gate/types.ts";
import type { DifficultyController } from "./controller.ts";
import type { Escalation } from "./escalation.ts";

export class AdaptivePolicy implements DifficultyPolicy {
  constructor(private readonly _controller: DifficultyController, private readonly _escalation: Escalation | null) {}

  get baseBits(): number {
    return this._controller.bits;
  }

  bitsFor(addr: string, nowMs: number): number {
    const extra = this._escalation ? this._escalation.hit(addr, nowMs) : 0;
    return Math.min(32, this._controller.bits + extra);
  }
}
