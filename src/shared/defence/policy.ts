/**
 * The difficulty policy the gate uses when the defence is on: the controller's level plus the client's
 * escalation, within 0..32. Escalation is counted per address and per network (IPv4 /24, IPv6 /64), and
 * the larger of the two applies: an attacker spreading its requests over the addresses of one network
 * pays as if it used one, while an address shared by a few honest clients (NAT) stays under its free
 * count (docs/POW.md, "Per-client escalation").
 * @module
 */
import type { DifficultyPolicy } from "../gate/types.ts";
import { networkKey } from "./client-key.ts";
import type { DifficultyController } from "./controller.ts";
import type { EscalationCounts } from "./escalation.ts";

export class AdaptivePolicy implements DifficultyPolicy {
  constructor(
    private readonly _controller: DifficultyController,
    private readonly _escalation: EscalationCounts | null,
    private readonly _netEscalation: EscalationCounts | null = null,
  ) {}

  get baseBits(): number {
    return this._controller.bits;
  }

  bitsFor(addr: string, nowMs: number): number {
    const extra = this._escalation ? this._escalation.hit(addr, nowMs) : 0;
    const netExtra = this._netEscalation ? this._netEscalation.hit(networkKey(addr), nowMs) : 0;
    return Math.min(32, this._controller.bits + Math.max(extra, netExtra));
  }

  refund(addr: string, nowMs: number): void {
    this._escalation?.refund(addr, nowMs);
    this._netEscalation?.refund(networkKey(addr), nowMs);
  }
}
