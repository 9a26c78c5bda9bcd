/**
 * What one gate thread has counted in the shared connection table (shared-conns.ts), kept where the
 * main thread can read it after the thread died: in a SharedArrayBuffer of its own. A thread that fails
 * takes its sockets' closes with it; the supervisor then closes, in the shared table, every count the
 * ledger still holds (replay()), so the caps do not shrink by the dead thread's connections forever.
 *
 * Layout: `capacity` records of RECORD_WORDS Int32 words: [count, key length, key code units...], the
 * key being `address \n network` (at most MAX_KEY UTF-16 code units; longer keys are not ledgered and a
 * crash would leave their count behind). One writer, the thread; the reader runs only after the writer
 * is gone. The thread's own Map finds a key's record; the records it frees are reused.
 * @module
 */
import { zeroedSharedBuffer } from "../runtime/shared-buffer.ts";

const MAX_KEY = 120;
const RECORD_WORDS = 2 + MAX_KEY;

/** The shared connection counts a ledger wraps (SharedConnectionCounts). */
export interface ConnCounts<C> {
  tryOpen(addr: string, net: string, caps: C): number;
  close(addr: string, net: string): void;
}

export class ConnLedger<C> implements ConnCounts<C> {
  private readonly _w: Int32Array;
  private readonly _index = new Map<string, number>();
  private readonly _free: number[] = [];
  private _next = 0;

  /** A ledger for up to `capacity` distinct address-network pairs at once (max_connections is enough). */
  static buffer(capacity: number): SharedArrayBuffer {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ConnLedger: capacity ${capacity} must be a positive integer`);
    return zeroedSharedBuffer(4 * RECORD_WORDS * capacity);
  }

  constructor(buffer: SharedArrayBuffer, private readonly _conns: ConnCounts<C>) {
    if (buffer.byteLength % (4 * RECORD_WORDS) !== 0) throw new TypeError("ConnLedger: not a ledger buffer");
    this._w = new Int32Array(buffer);
  }

  get capacity(): number {
    return this._w.length / RECORD_WORDS;
  }

  tryOpen(addr: string, net: string, caps: C): number {
    const verdict = this._conns.tryOpen(addr, net, caps);
    if (verdict === 0) this._add(`${addr}\n${net}`);
    return verdict;
  }

  close(addr: string, net: string): void {
    this._conns.close(addr, net);
    const key = `${addr}\n${net}`;
    const r = this._index.get(key);
    if (r === undefined) return;
    const w = this._w, at = r * RECORD_WORDS;
    const c = w[at]! - 1;
    if (c > 0) {
      w[at] = c;
      return;
    }
    w[at] = 0;
    this._index.delete(key);
    this._free.push(r);
  }

  private _add(key: string): void {
    const w = this._w;
    const known = this._index.get(key);
    if (known !== undefined) {
      w[known * RECORD_WORDS]!++;
      return;
    }
    if (key.length > MAX_KEY) return;
    const r = this._free.pop() ?? (this._next < this.capacity ? this._next++ : -1);
    if (r < 0) return; // full: more pairs open than the table admits; not ledgered
    const at = r * RECORD_WORDS;
    w[at + 1] = key.length;
    for (let i = 0; i < key.length; i++) w[at + 2 + i] = key.charCodeAt(i);
    w[at] = 1;
    this._index.set(key, r);
  }

  /**
   * After the writing thread is gone: close in `conns` every connection this ledger still counts, then
   * empty it for the thread that takes the slot next. Returns how many connections were closed.
   */
  static replay<C>(buffer: SharedArrayBuffer, conns: ConnCounts<C>): number {
    const w = new Int32Array(buffer);
    let closed = 0;
    for (let at = 0; at < w.length; at += RECORD_WORDS) {
      const count = w[at]!;
      if (count <= 0) continue;
      const len = Math.min(MAX_KEY, Math.max(0, w[at + 1]!));
      let key = "";
      for (let i = 0; i < len; i++) key += String.fromCharCode(w[at + 2 + i]!);
      const nl = key.indexOf("\n");
      if (nl >= 0) {
        for (let i = 0; i < count; i++) conns.close(key.slice(0, nl), key.slice(nl + 1));
        closed += count;
      }
    }
    w.fill(0);
    return closed;
  }
}
