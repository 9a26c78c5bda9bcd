/**
 * Client side of a connection: a ConnHandler that decodes frames and hands them out one at a time as promises.
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import { FrameDecoder, MessageType } from "../protocol/frame.ts";
import { decodeMessage } from "../protocol/message-check.ts"; // not valibot: see there
import type { Message } from "../protocol/messages.ts";
import type { Conn, ConnHandler } from "../transport/types.ts";
import { FetchError } from "./errors.ts";

interface _Waiter {
  resolve(m: Message): void;
  reject(e: Error): void;
}

/** Where the bytes after a guard's Open frame go (see FrameReader.stream). */
export interface StreamSink {
  data(chunk: Uint8Array): void;
  /** The server (the guarded service, through the guard) sent its FIN. */
  end(): void;
  close(): void;
}

export class FrameReader implements ConnHandler<FrameReader> {
  private readonly _decoder = new FrameDecoder();
  private readonly _ready: Message[] = [];
  private _waiter: _Waiter | null = null;
  private _error: Error | null = null;
  private _conn: Conn | null = null;
  /** After an Open frame: raw stream bytes, held until stream() names their sink. */
  private _raw: Uint8Array[] | null = null;
  private _sink: StreamSink | null = null;
  private _ended = false;
  closed = false;

  open(conn: Conn): FrameReader {
    this._conn = conn;
    return this;
  }

  data(_self: FrameReader, chunk: Uint8Array): void {
    if (this._sink) return this._sink.data(chunk);
    if (this._raw) return void this._raw.push(chunk.slice());
    if (this._error) return;
    try {
      let off = 0;
      while (off < chunk.length) {
        const part = off === 0 ? chunk : chunk.subarray(off);
        const frames = this._decoder.push(part, 1);
        if (frames.length === 0) break;
        off += this._decoder.consumed;
        const m = decodeMessage(frames[0]!);
        this._ready.push(m);
        if (m.type === MessageType.Open) {
          // From here on the bytes belong to the guarded service, not to the protocol.
          this._raw = off < chunk.length ? [chunk.slice(off)] : [];
          break;
        }
      }
    } catch (err) {
      const detail = err instanceof ProtocolError ? err.message : String(err);
      this._error = new FetchError("PROTOCOL", `Bad reply from server: ${detail}`, { cause: err });
    }
    this._wake();
  }

  /** The peer's FIN: passed to the stream's sink after an Open frame; otherwise the connection ends. */
  end(_self: FrameReader): void {
    if (this._sink) return this._sink.end();
    if (this._raw) {
      this._ended = true;
      return;
    }
    this._conn?.end();
  }

  close(_self: FrameReader): void {
    this.closed = true;
    this._sink?.close();
    this._wake();
  }

  /**
   * After an Open frame was read: hand every later byte (those that came with it first) to `sink`,
   * with the FIN and the close. Throws when no Open frame was read.
   */
  stream(sink: StreamSink): void {
    if (!this._raw) throw new Error("FrameReader.stream(): no Open frame was read");
    const held = this._raw;
    this._raw = [];
    for (const chunk of held) sink.data(chunk);
    this._sink = sink;
    if (this._ended) sink.end();
    if (this.closed) sink.close();
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
