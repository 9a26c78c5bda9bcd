/**
 * Client side of a connection: a ConnHandler that decodes frames and hands them out one at a time as promises.
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import { FrameDecoder } from "../protocol/frame.ts";
import { decodeMessage, type Message } from "../protocol/messages.ts";
import type { Conn, ConnHandler } from "../transport/types.ts";
import { FetchError } from "./errors.ts";

interface _Waiter {
  resolve(m: Message): void;
  reject(e: Error): void;
}

export class FrameReader implements ConnHandler<FrameReader> {
  private readonly _decoder = new FrameDecoder();
  private readonly _ready: Message[] = [];
  private _waiter: _Waiter | null = null;
  private _error: Error | null = null;
  closed = false;

  open(_conn: Conn): FrameReader {
    return this;
  }

  data(_self: FrameReader, chunk: Uint8Array): void {
    if (this._error) return;
    try {
      for (const f of this._decoder.push(chunk)) this._ready.push(decodeMessage(f));
    } catch (err) {
      const detail = err instanceof ProtocolError ? err.message : String(err);
      this._error = new FetchError("PROTOCOL", `Bad reply from server: ${detail}`, { cause: err });
    }
    this._wake();
  }

  close(_self: FrameReader): void {
    this.closed = true;
    this._wake();
  }

  /** The next message; rejects with FetchError PROTOCOL on junk or on a close before a whole frame. */
  next(): Promise<Message> {
    return new Promise((resolve, reject) => {
      this._waiter = { resolve, reject };
      this._wake();
    });
  }

  private _wake(): void {
    const w = this._waiter;
    if (!w) return;
    if (this._ready.length > 0) {
      this._waiter = null;
      w.resolve(this._ready.shift()!);
    } else if (this._error) {
      this._waiter = null;
      w.reject(this._error);
    } else if (this.closed) {
      this._waiter = null;
      w.reject(new FetchError("PROTOCOL", "Server closed the connection before a complete reply", { dropped: true }));
    }
  }
}
