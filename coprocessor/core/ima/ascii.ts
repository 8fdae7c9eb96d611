// The ascii_runtime_measurements rendering of template fields (ima_template_lib.c
// ima_show_template_data_ascii) and its inverse, which rebuilds a field's bytes from its ascii form
// so that ascii lists can be verified and replayed like binary ones (ima-formats §1.6, §1.7).
// Portable (Espruino profile).
import { fromHex } from '../../../protocol/bytes.js';
import { DATA_FMT, FIELD, FIELD_DATA_FMT } from './template.js';

const HEXCHARS = '0123456789abcdef';

/** A growable byte buffer for building list exports without per-piece arrays. */
export class ByteWriter {
  buf: Uint8Array;
  length: number;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity > 0 ? capacity : 16);
    this.length = 0;
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.length), 0);
    this.buf = b;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  byte(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }

  u32le(v: number): void {
    this.room(4);
    const b = this.buf;
    const o = this.length;
    b[o] = v & 255;
    b[o + 1] = (v >>> 8) & 255;
    b[o + 2] = (v >>> 16) & 255;
    b[o + 3] = (v >>> 24) & 255;
    this.length += 4;
  }

  /** A string of character codes below 256, one byte each. */
  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.length + i] = s.charCodeAt(i);
    this.length += s.length;
  }

  /** Lowercase hex, as ima_print_digest and %*phN print. */
  hex(b: Uint8Array): void {
    this.room(2 * b.length);
    const o = this.length;
    for (let i = 0; i < b.length; i++) {
      this.buf[o + 2 * i] = HEXCHARS.charCodeAt(b[i] >> 4);
      this.buf[o + 2 * i + 1] = HEXCHARS.charCodeAt(b[i] & 15);
    }
    this.length += 2 * b.length;
  }

  /** The bytes written so far (trimmed to length; no copy when the capacity was exact). */
  result(): Uint8Array {
    return this.length === this.buf.length ? this.buf : this.buf.slice(0, this.length);
  }
}

/** Decimal text of a little-endian unsigned integer of any width (no BigInt on the board). */
export function uintLeToDecimal(b: Uint8Array): string {
  if (b.length <= 4) {
    let v = 0;
    for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i];
    return String(v);
  }
  const limbs: number[] = [];
  for (let i = b.length - 2; i >= 0; i -= 2) limbs.push(b[i] | (b[i + 1] << 8));
  let s = '';
  let nonzero = true;
  while (nonzero) {
    let rem = 0;
    nonzero = false;
    for (let i = 0; i < limbs.length; i++) {
      const cur = rem * 65536 + limbs[i];
      limbs[i] = Math.floor(cur / 10);
      rem = cur % 10;
      if (limbs[i] !== 0) nonzero = true;
    }
    s = String(rem) + s;
  }
  return s;
}

function cStringEnd(data: Uint8Array): number {
  const z = data.indexOf(0);
  return z < 0 ? data.length : z;
}

/** Write a field's ascii form (nothing for an empty field: the caller writes the separating space). */
export function writeFieldAscii(w: ByteWriter, field: number, data: Uint8Array): void {
  if (data.length === 0) return;
  const fmt = FIELD_DATA_FMT[field];
  if (fmt === DATA_FMT.STRING) {
    w.bytes(data.subarray(0, cStringEnd(data)));
  } else if (fmt === DATA_FMT.DIGEST_WITH_ALGO || fmt === DATA_FMT.DIGEST_WITH_TYPE_AND_ALGO) {
    const end = cStringEnd(data);
    let colon = end - 1;
    while (colon >= 0 && data[colon] !== 58) colon--;
    if (colon < 0) {
      w.hex(data);
      return;
    }
    if (colon > 0) w.bytes(data.subarray(0, end));
    if (colon + 2 < data.length) w.hex(data.subarray(colon + 2));
  } else if (fmt === DATA_FMT.UINT) {
    if (data.length === 1 || data.length === 2 || data.length === 4 || data.length === 8) w.ascii(uintLeToDecimal(data));
  } else {
    w.hex(data);
  }
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * Rebuild a field's bytes from its ascii form `text` (one char per byte). Null when the text
 * cannot be that field's rendering (bad hex, no algorithm prefix, a non-number).
 */
export function parseFieldAscii(field: number, text: string): Uint8Array | null {
  const fmt = FIELD_DATA_FMT[field];
  if (fmt === DATA_FMT.STRING) {
    if (text === '' && field === FIELD.XATTRNAMES) return new Uint8Array(0);
    const out = new Uint8Array(text.length + 1);
    out.set(latin1Bytes(text), 0);
    return out;
  }
  if (text === '') return new Uint8Array(0);
  if (fmt === DATA_FMT.DIGEST_WITH_ALGO || fmt === DATA_FMT.DIGEST_WITH_TYPE_AND_ALGO) {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) return null;
    const digest = fromHex(text.substring(colon + 1));
    if (digest === null) return null;
    const out = new Uint8Array(colon + 2 + digest.length);
    out.set(latin1Bytes(text.substring(0, colon + 1)), 0);
    out.set(digest, colon + 2);
    return out;
  }
  if (fmt === DATA_FMT.UINT) {
    if (!/^[0-9]{1,10}$/.test(text)) return null;
    const v = parseInt(text, 10);
    const size = field === FIELD.IMODE ? 2 : 4;
    if (v >= (size === 2 ? 65536 : 4294967296)) return null;
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = Math.floor(v / Math.pow(256, i)) & 255;
    return out;
  }
  return fromHex(text);
}

