/**
 * Connection helpers shared by the load profiles: open from a source address, read the next frame
 * within a deadline, sleep.
 * @module
 */
import { FrameReader } from "../client/frame-reader.ts";
import type { Message } from "../protocol/messages.ts";
import type { Conn, Transport } from "../transport/types.ts";
import { sourceAddress } from "./sources.ts";

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly transport: Transport;
  /** Wall-clock ms (performance.now) at which every profile stops. */
  readonly until: number;
  /** Spread over this many source addresses per profile (1: just the first). */
  readonly sources: number;
}

/** What open() counts. */
export interface ConnectCounts {
  connects: number;
  connectErrors: number;
}

export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

/** A connection from address `i % t.sources` of `block`, or null (counted) when it cannot connect. */
export async function open(t: Target, c: ConnectCounts, block: number, i: number): Promise<{ conn: Conn; reader: FrameReader } | null> {
  const reader = new FrameReader();
  try {
    const conn = await t.transport.connect(t.host, t.port, reader, { localAddress: sourceAddress(block, i % t.sources) });
    c.connects++;
    return { conn, reader };
  } catch {
    c.connectErrors++;
    return null;
  }
}

/** Next message or null (closed, junk, or `ms` passed). */
export async function next(reader: FrameReader, ms: number): Promise<Message | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([reader.next(), new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
