// Frames on the byte stream (SPEC.md §1): COBS(header | payload | crc32-le) followed by 0x00.
// The CRC-32 (ISO-HDLC) is injected: Node passes zlib.crc32 and the board E.CRC32, so no
// JavaScript CRC table runs anywhere. The push decoder keeps two preallocated buffers sized from
// the maximum frame, copies each chunk once, and resynchronises at the next 0x00 after noise.
//
// Portable (Espruino profile).

import { COBS_OVERFLOW, cobsDecodeInto, cobsEncodeInto, cobsMaxEncoded } from './cobs.js';

export type Crc32 = (data: Uint8Array) => number;

/** Frame types: the low 3 bits of header byte 0 (SPEC.md §1.3). */
export const FRAME = {
  DATA: 0,
  ACK: 1,
  NACK: 2,
  RST: 3,
  RST_ACK: 4,
} as const;

export const TYPE_MASK = 0x07;
/** DATA only: the last record of the payload continues in the next DATA frame. */
export const FLAG_MORE = 0x08;

export const HEADER_LEN = 3;
export const CRC_LEN = 4;
/** Header and CRC: the smallest well-formed frame. */
export const MIN_FRAME = HEADER_LEN + CRC_LEN;
export const DEFAULT_MAX_FRAME = 256;
/** Bounds on a negotiated maximum frame (header + payload + CRC, before COBS). */
export const MIN_MAX_FRAME = 32;
export const MAX_MAX_FRAME = 16384;

/** Bytes on the wire for a frame of `n` bytes before COBS: the encoding and the delimiter. */
export function wireSize(n: number): number {
  return cobsMaxEncoded(n) + 1;
}

/** Whether a type's CRC field is XORed with the session tag (DATA, ACK, NACK) or not (RST, RST_ACK). */
export function isSessionType(type: number): boolean {
  return type <= FRAME.NACK;
}

/**
 * Encode one frame. `raw[0, len)` holds header and payload and `raw` has 4 more bytes of room,
 * where the CRC (XORed with `tag`) is written. The COBS bytes and the 0x00 delimiter go to `out`
 * from `at`; returns the offset past the delimiter, or -1 when `out` is too small.
 */
export function encodeFrameInto(raw: Uint8Array, len: number, tag: number, crc32: Crc32, out: Uint8Array, at: number): number {
  const c = (crc32(raw.subarray(0, len)) ^ tag) >>> 0;
  raw[len] = c & 255;
  raw[len + 1] = (c >>> 8) & 255;
  raw[len + 2] = (c >>> 16) & 255;
  raw[len + 3] = (c >>> 24) & 255;
  const o = cobsEncodeInto(raw, len + CRC_LEN, out, at);
  if (o < 0 || o >= out.length) return -1;
  out[o] = 0;
  return o + 1;
}

/** Convenience form: the wire bytes of one frame, delimiter included. */
export function encodeFrame(type: number, flags: number, seq: number, ack: number, payload: Uint8Array, tag: number, crc32: Crc32): Uint8Array {
  const n = HEADER_LEN + payload.length;
  const raw = new Uint8Array(n + CRC_LEN);
  raw[0] = (type & TYPE_MASK) | flags;
  raw[1] = seq & 255;
  raw[2] = ack & 255;
  raw.set(payload, HEADER_LEN);
  const out = new Uint8Array(wireSize(n + CRC_LEN));
  return out.subarray(0, encodeFrameInto(raw, n, tag, crc32, out, 0));
}

/** Counters the decoder bumps; the link shares this object so they appear in its counters. */
export interface FrameCounters {
  /** Frames that passed every check and were handed on. */
  frames_received: number;
  /** Frames whose CRC matched neither the plain CRC nor the session-tagged one. */
  crc_errors: number;
  /** Frames longer than the maximum, cut off at max + 1 and dropped. */
  oversize: number;
  /** Bytes between delimiters that are not valid COBS. */
  cobs_errors: number;
  /** Frames shorter than header + CRC. */
  runts: number;
  /** Wire bytes fed in, delimiters and noise included. */
  bytes_received: number;
}

export function newFrameCounters(): FrameCounters {
  return { frames_received: 0, crc_errors: 0, oversize: 0, cobs_errors: 0, runts: 0, bytes_received: 0 };
}

/**
 * Called with each good frame: `frame[0, len)` is header and payload (CRC stripped), a view into
 * the decoder's buffer that is only valid during the call; `tagged` tells whether the CRC matched
 * XORed with the session tag (true) or plain (false).
 */
export type FrameHandler = (frame: Uint8Array, len: number, tagged: boolean) => void;

export class FrameDecoder {
  readonly counters: FrameCounters;
  /** Session tag the CRC of DATA/ACK/NACK frames is XORed with; 0 while there is no session. */
  tag = 0;
  private readonly crc32: Crc32;
  private readonly acc: Uint8Array;
  private readonly dec: Uint8Array;
  private accLen = 0;
  private dropping = false;
  private onFrame: FrameHandler;

  constructor(maxFrame: number, crc32: Crc32, onFrame: FrameHandler, counters?: FrameCounters) {
    this.crc32 = crc32;
    this.onFrame = onFrame;
    this.counters = counters || newFrameCounters();
    this.acc = new Uint8Array(cobsMaxEncoded(maxFrame));
    this.dec = new Uint8Array(maxFrame);
  }

  /** Feed received bytes (any split). Never throws unless the frame handler does. */
  feed(chunk: Uint8Array): void {
    const c = this.counters;
    c.bytes_received += chunk.length;
    const cap = this.acc.length;
    let i = 0;
    while (i < chunk.length) {
      const z = chunk.indexOf(0, i);
      const end = z < 0 ? chunk.length : z;
      if (!this.dropping && end > i) {
        if (this.accLen + end - i > cap) {
          this.dropping = true;
          this.accLen = 0;
          c.oversize++;
        } else {
          if (end - i === 1) this.acc[this.accLen] = chunk[i];
          else this.acc.set(chunk.subarray(i, end), this.accLen);
          this.accLen += end - i;
        }
      }
      if (z < 0) return;
      if (this.dropping) this.dropping = false;
      else if (this.accLen > 0) this.frame();
      this.accLen = 0;
      i = z + 1;
    }
  }

  /** Forget a partly received frame (e.g. after the port reopened). */
  reset(): void {
    this.accLen = 0;
    this.dropping = false;
  }

  private frame(): void {
    const c = this.counters;
    const n = cobsDecodeInto(this.acc, this.accLen, this.dec);
    if (n === COBS_OVERFLOW) {
      c.oversize++;
      return;
    }
    if (n < 0) {
      c.cobs_errors++;
      return;
    }
    if (n < MIN_FRAME) {
      c.runts++;
      return;
    }
    const d = this.dec;
    const body = n - CRC_LEN;
    const stored = (d[body] | (d[body + 1] << 8) | (d[body + 2] << 16) | (d[body + 3] << 24)) >>> 0;
    const x = (stored ^ this.crc32(d.subarray(0, body))) >>> 0;
    if (x !== 0 && (this.tag === 0 || x !== this.tag)) {
      c.crc_errors++;
      return;
    }
    c.frames_received++;
    this.onFrame(d, body, x !== 0);
  }
}
