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

/** How long a connect may take: a dropped SYN (a firewall) would otherwise hold a lane for the kernel's retries (~2 min). */
export const CONNECT_TIMEOUT_MS = 2000;

/** A connection from address `i % t.sources` of `block`, or null (counted) when it cannot connect in time. */
export async function open(t: Target, c: ConnectCounts, block: number, i: number): Promise<{ conn: Conn; reader: FrameReader } | null> {
  const reader = new FrameReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = t.transport.connect(t.host, t.port, reader, { localAddress: sourceAddress(block, i % t.sources) });
  try {
    const conn = await Promise.race([connecting, new Promise<null>((r) => (timer = setTimeout(() => r(null), CONNECT_TIMEOUT_MS)))]);
    if (conn === null) {
      connecting.then((late) => late.destroy(), () => {}); // a connect that completes after the deadline is dropped
      c.connectErrors++;
      return null;
    }
    c.connects++;
    return { conn, reader };
  } catch {
    c.connectErrors++;
    return null;
  } finally {
    clearTimeout(timer);
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
