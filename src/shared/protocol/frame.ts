/**
 * Frame layer of wire protocol v1 (docs/PROTOCOL.md, "Frames").
 *
 *   offset 0  u8      protocol version (1)
 *   offset 1  u8      message type (1 Challenge, 2 Solution, 3 Quote, 4 Error, 5 Open: the guard's extension)
 *   offset 2  u16 BE  payload length in bytes (at most the decoder's limit: MAX_PAYLOAD by default)
 *   offset 4  ...     payload: UTF-8 JSON object
 *
 * The length is checked from the header before any payload byte is buffered. Pure code over bytes.
 * @module
 */
import { ProtocolError } from "./errors.ts";

export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 4;
/**
 * The default payload limit; larger frames are refused from their header. A server may raise it up to
 * the u16 length field's 65535 (`max_frame_bytes`); clients use the default.
 */
export const MAX_PAYLOAD = 4096;

export const MessageType = { Challenge: 1, Solution: 2, Quote: 3, Error: 4, Open: 5 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
const TYPE_NAMES: Record<number, string> = { 1: "Challenge", 2: "Solution", 3: "Quote", 4: "Error", 5: "Open" };

export function isMessageType(n: number): n is MessageType {
  return n >= 1 && n <= 5;
}
export function messageTypeName(t: number): string {
  return TYPE_NAMES[t] ?? `unknown(${t})`;
}

/** One decoded frame: its type and its payload bytes (a copy: it stays valid after later pushes). */
export interface Frame {
  readonly type: MessageType;
  readonly payload: Uint8Array;
}

/** Encode a frame from raw payload bytes. */
export function encodeFrame(type: MessageType, payload: Uint8Array, maxPayload = MAX_PAYLOAD): Uint8Array {
  if (!isMessageType(type)) throw new RangeError(`Cannot encode frame: unknown message type ${type}`);
  if (payload.length > maxPayload) {
    throw new RangeError(`Cannot encode frame: payload ${payload.length} bytes exceeds limit ${maxPayload}`);
  }
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out[0] = PROTOCOL_VERSION;
  out[1] = type;
  out[2] = payload.length >>> 8;
  out[3] = payload.length & 255;
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Check a 4-byte header; returns the payload length or throws ProtocolError. */
export function checkHeader(version: number, type: number, length: number, maxPayload: number): number {
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError("BAD_FRAME", `Cannot decode frame: unsupported protocol version ${version}`);
  }
  if (!isMessageType(type)) throw new ProtocolError("BAD_FRAME", `Cannot decode frame: unknown message type ${type}`);
  if (length > maxPayload) {
    throw new ProtocolError("FRAME_TOO_LARGE", `Cannot decode frame: length ${length} exceeds limit ${maxPayload}`);
  }
  return length;
}

/**
 * Incremental decoder: push chunks as they arrive, get whole frames out.
 * Buffers at most one header plus one payload of at most `maxPayload` bytes, whatever the input.
 * After it throws, the stream is unusable (the connection should be closed).
 */
export class FrameDecoder {
  readonly maxPayload: number;
  private _buf: Uint8Array;
  private _len = 0;
  private _consumed = 0;

  constructor(maxPayload = MAX_PAYLOAD) {
    if (!Number.isInteger(maxPayload) || maxPayload < 0 || maxPayload > 0xffff) {
      throw new RangeError(`FrameDecoder: maxPayload ${maxPayload} is not an integer in 0..65535`);
    }
    this.maxPayload = maxPayload;
    this._buf = new Uint8Array(0);
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this._len;
  }

  /**
   * How many bytes of the last chunk pushed went into frames or the buffer. Less than its length only
   * when `maxFrames` stopped the decoder: the rest of the chunk is what follows the last frame (after a
   * guard's Open frame, the first bytes of the forwarded stream).
   */
  get consumed(): number {
    return this._consumed;
  }

  /**
   * Feed bytes; returns every frame completed by them (possibly none), at most `maxFrames`: once that
   * many are out, the rest of the chunk is not looked at (a server that takes one Solution per
   * connection passes 1, so bytes after it are ignored however TCP split them). Throws ProtocolError on
   * bad input before that point.
   */
  push(chunk: Uint8Array, maxFrames = Infinity): Frame[] {
    const frames: Frame[] = [];
    let off = 0;
    if (this._len > 0) {
      // Finish the frame started by earlier chunks, copying only the bytes it still needs.
      while (this._len < HEADER_BYTES && off < chunk.length) this._buf[this._len++] = chunk[off++]!;
      if (this._len < HEADER_BYTES) {
        this._checkPartial(this._buf, 0, this._len);
        this._consumed = off;
        return frames;
      }
      const b = this._buf;
      const need = HEADER_BYTES + checkHeader(b[0]!, b[1]!, (b[2]! << 8) | b[3]!, this.maxPayload);
      this._reserve(need);
      const take = Math.min(need - this._len, chunk.length - off);
      this._buf.set(chunk.subarray(off, off + take), this._len);
      this._len += take;
      off += take;
      this._consumed = off;
      if (this._len < need) return frames;
      frames.push({ type: this._buf[1] as MessageType, payload: this._buf.slice(HEADER_BYTES, need) });
      this._len = 0;
      if (frames.length >= maxFrames) return frames;
    }
    // Whole frames straight from the chunk, without copying into the buffer.
    while (frames.length < maxFrames && chunk.length - off >= HEADER_BYTES) {
      const len = checkHeader(chunk[off]!, chunk[off + 1]!, (chunk[off + 2]! << 8) | chunk[off + 3]!, this.maxPayload);
      if (chunk.length - off < HEADER_BYTES + len) break;
      const start = off + HEADER_BYTES;
      frames.push({ type: chunk[off + 1] as MessageType, payload: chunk.slice(start, start + len) });
      off = start + len;
    }
    const rest = chunk.length - off;
    this._consumed = off;
    if (rest > 0 && frames.length < maxFrames) {
      this._checkPartial(chunk, off, rest);
      this._reserve(rest);
      this._buf.set(chunk.subarray(off), 0);
      this._len = rest;
      this._consumed = chunk.length;
    }
    return frames;
  }

  /** Refuse junk as soon as the first header bytes are here. */
  private _checkPartial(bytes: Uint8Array, off: number, n: number): void {
    if (n >= 1 && bytes[off] !== PROTOCOL_VERSION) checkHeader(bytes[off]!, MessageType.Challenge, 0, this.maxPayload);
    if (n >= 2 && !isMessageType(bytes[off + 1]!)) checkHeader(PROTOCOL_VERSION, bytes[off + 1]!, 0, this.maxPayload);
  }

  /** Grow the buffer to hold `n` bytes; never beyond one maximal frame, since `n` comes from a checked header. */
  private _reserve(n: number): void {
    if (this._buf.length >= n) return;
    const next = new Uint8Array(Math.min(Math.max(n, 64, this._buf.length * 2), HEADER_BYTES + this.maxPayload));
    next.set(this._buf.subarray(0, this._len));
    this._buf = next;
  }
}
