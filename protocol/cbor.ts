// CBOR (RFC 8949) for the subset the protocol uses (SPEC.md §3.1): unsigned and negative integers
// within ±(2^53−1), byte strings, UTF-8 text, arrays, maps with text or integer keys, true, false,
// null. Deterministic encoding (§4.2.1: shortest heads, definite lengths, keys sorted bytewise by
// their encodings), and a decoder that accepts exactly that encoding and nothing else, so every
// message has one byte form and a signature over it is reproducible.
//
// Floats, tags, undefined and other simple values are rejected: no message carries them, and a
// board decoder that skips them has less to get wrong.
//
// Portable (Espruino profile): no BigInt, Map or DataView; recursion is bounded by `maxDepth`.

import { utf8Decode, utf8Encode } from './bytes.js';

/** One codec contract for both implementations (this one and `node/cborx.ts`). */
export interface Codec {
  /** Encode deterministically; throws a ProtocolError UNSUPPORTED_VALUE for a value outside the profile. */
  encode(value: unknown): Uint8Array;
  /** Decode one item filling `bytes` exactly; throws a ProtocolError (codes below) on anything else. */
  decode(bytes: Uint8Array): unknown;
}

/**
 * Every protocol error is a plain Error (the board cannot subclass Error) with these fields.
 * `code` names the failure, `err` is the ERROR message code (messages.ts ERR) a reply carries.
 */
export interface ProtocolError extends Error {
  code: string;
  err: number;
  /** Byte offset in the decoded input (−1 when not about input bytes). */
  offset: number;
  /** The message field at fault (wire.ts), e.g. "events[3].fileRef". */
  field?: string;
  /** The request id, when the failing message is a request whose id was read. */
  req?: number;
}

/** ERR.MALFORMED in messages.ts; repeated here so the codec imports nothing but bytes. */
const ERR_MALFORMED = 1;

/** Decoder error codes (ProtocolError.code). All map to ERROR MALFORMED. */
export const CBOR_ERROR = {
  /** The input ends inside an item. */
  TRUNCATED: 'TRUNCATED',
  /** A declared length or count exceeds what the remaining input could hold. */
  LENGTH: 'LENGTH',
  /** Containers nested deeper than maxDepth. */
  DEPTH: 'DEPTH',
  /** More items than maxItems. */
  ITEMS: 'ITEMS',
  /** Bytes left after the top-level item. */
  TRAILING: 'TRAILING',
  /** A non-shortest head, unsorted map keys, or a text key that must be an integer key. */
  NON_CANONICAL: 'NON_CANONICAL',
  /** Indefinite length or a break code. */
  INDEFINITE: 'INDEFINITE',
  /** Additional information 28..30. */
  RESERVED: 'RESERVED',
  FLOAT: 'FLOAT',
  TAG: 'TAG',
  /** undefined or a simple value other than false/true/null. */
  SIMPLE: 'SIMPLE',
  /** An integer beyond ±(2^53−1). */
  INT_RANGE: 'INT_RANGE',
  UTF8: 'UTF8',
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** A map key that is neither text nor integer, or is "__proto__". */
  KEY_TYPE: 'KEY_TYPE',
  /** Encoder: a value outside the profile (float, undefined in an array, BigInt, cycle…). */
  UNSUPPORTED_VALUE: 'UNSUPPORTED_VALUE',
} as const;

export function protocolError(code: string, err: number, message: string, offset: number, field?: string): ProtocolError {
  const e = new Error(message) as ProtocolError;
  e.code = code;
  e.err = err;
  e.offset = offset;
  if (field !== undefined) e.field = field;
  return e;
}

export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof Error && typeof (e as ProtocolError).code === 'string' && typeof (e as ProtocolError).err === 'number';
}

function cborError(code: string, offset: number, what: string): ProtocolError {
  return protocolError(code, ERR_MALFORMED, 'CBOR ' + code + ' at offset ' + offset + ': ' + what, offset);
}

export interface CodecLimits {
  /** Containers nested at most this deep (the top-level array counts 1). */
  maxDepth: number;
  /** Items in one decoded value, all levels counted. */
  maxItems: number;
}

export const DEFAULT_CODEC_LIMITS: CodecLimits = { maxDepth: 16, maxItems: 65536 };

/** 2^53 − 1, the largest integer a double holds exactly (the board has no Number.MAX_SAFE_INTEGER). */
export const MAX_SAFE = 9007199254740991;
const TWO32 = 4294967296;

export function isSafeInt(v: unknown): v is number {
  return typeof v === 'number' && Math.floor(v) === v && v <= MAX_SAFE && v >= -MAX_SAFE;
}

/** A JS object key that stands for a CBOR integer key: the canonical decimal form of a safe integer. */
export function isIntKey(k: string): boolean {
  const c = k.charCodeAt(0);
  if (!(c === 45 || (c >= 48 && c <= 57))) return false;
  const n = Number(k);
  return isSafeInt(n) && String(n) === k;
}

// ---- encoder ------------------------------------------------------------------------------

interface EncState {
  buf: Uint8Array;
  pos: number;
  depth: number;
}

function room(st: EncState, n: number): void {
  if (st.pos + n <= st.buf.length) return;
  let size = st.buf.length * 2;
  while (size < st.pos + n) size *= 2;
  const nb = new Uint8Array(size);
  nb.set(st.buf.subarray(0, st.pos));
  st.buf = nb;
}

/** Write a head: major type (0..7) and argument `n` (0 ≤ n ≤ 2^53−1) in its shortest form. */
function writeHead(st: EncState, major: number, n: number): void {
  const m = major << 5;
  room(st, 9);
  const b = st.buf;
  let p = st.pos;
  if (n < 24) b[p++] = m | n;
  else if (n < 256) {
    b[p++] = m | 24;
    b[p++] = n;
  } else if (n < 65536) {
    b[p++] = m | 25;
    b[p++] = n >> 8;
    b[p++] = n & 255;
  } else if (n < TWO32) {
    b[p++] = m | 26;
    b[p++] = (n >>> 24) & 255;
    b[p++] = (n >>> 16) & 255;
    b[p++] = (n >>> 8) & 255;
    b[p++] = n & 255;
  } else {
    const hi = Math.floor(n / TWO32);
    const lo = n - hi * TWO32;
    b[p++] = m | 27;
    b[p++] = (hi >>> 24) & 255;
    b[p++] = (hi >>> 16) & 255;
    b[p++] = (hi >>> 8) & 255;
    b[p++] = hi & 255;
    b[p++] = (lo >>> 24) & 255;
    b[p++] = (lo >>> 16) & 255;
    b[p++] = (lo >>> 8) & 255;
    b[p++] = lo & 255;
  }
  st.pos = p;
}

function writeBytes(st: EncState, major: number, bytes: Uint8Array): void {
  writeHead(st, major, bytes.length);
  room(st, bytes.length);
  st.buf.set(bytes, st.pos);
  st.pos += bytes.length;
}

function unsupported(what: string): ProtocolError {
  return protocolError(CBOR_ERROR.UNSUPPORTED_VALUE, ERR_MALFORMED, 'CBOR cannot encode ' + what, -1);
}

function newEncState(size: number): EncState {
  return { buf: new Uint8Array(size), pos: 0, depth: 0 };
}

function writeInt(st: EncState, v: number): void {
  if (v >= 0) writeHead(st, 0, v);
  else writeHead(st, 1, -1 - v);
}

/** The deterministic encoding of a map key as the decoder presents it: integer keys are their decimal text. */
export function encodeKey(k: string): Uint8Array {
  const st = newEncState(k.length + 9);
  if (isIntKey(k)) writeInt(st, Number(k));
  else {
    if (k === '__proto__') throw unsupported('the map key "__proto__"');
    writeBytes(st, 3, utf8Encode(k));
  }
  return st.buf.subarray(0, st.pos);
}

/** Bytewise lexicographic order (RFC 8949 §4.2.1 map key order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Own enumerable keys whose value is not undefined (undefined properties are omitted), sorted by encoding. */
export function sortedKeys(o: { [k: string]: unknown }): { key: string; bytes: Uint8Array }[] {
  const keys = Object.keys(o);
  const out: { key: string; bytes: Uint8Array }[] = [];
  for (let i = 0; i < keys.length; i++) {
    if (o[keys[i]] !== undefined) out.push({ key: keys[i], bytes: encodeKey(keys[i]) });
  }
  out.sort(function (x, y) {
    return compareBytes(x.bytes, y.bytes);
  });
  return out;
}

/** A plain object (a map), not an array, byte string or class instance. */
export function isPlainObject(v: unknown): v is { [k: string]: unknown } {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return false;
  // A map decoded with a "constructor" key has a non-function there; class instances have their class.
  const c = (v as { constructor?: unknown }).constructor;
  return c === Object || typeof c !== 'function';
}

function writeValue(st: EncState, v: unknown, maxDepth: number): void {
  if (typeof v === 'number') {
    if (!isSafeInt(v)) throw unsupported('the number ' + v + ' (only integers within ±(2^53−1))');
    writeInt(st, v);
  } else if (typeof v === 'string') writeBytes(st, 3, utf8Encode(v));
  else if (v === null) {
    room(st, 1);
    st.buf[st.pos++] = 0xf6;
  } else if (v === true || v === false) {
    room(st, 1);
    st.buf[st.pos++] = v ? 0xf5 : 0xf4;
  } else if (v instanceof Uint8Array) writeBytes(st, 2, v);
  else if (Array.isArray(v)) {
    if (++st.depth > maxDepth) throw unsupported('a value nested deeper than ' + maxDepth);
    writeHead(st, 4, v.length);
    for (let i = 0; i < v.length; i++) writeValue(st, v[i], maxDepth);
    st.depth--;
  } else if (isPlainObject(v)) {
    if (++st.depth > maxDepth) throw unsupported('a value nested deeper than ' + maxDepth);
    const keys = sortedKeys(v);
    writeHead(st, 5, keys.length);
    for (let i = 0; i < keys.length; i++) {
      room(st, keys[i].bytes.length);
      st.buf.set(keys[i].bytes, st.pos);
      st.pos += keys[i].bytes.length;
      writeValue(st, v[keys[i].key], maxDepth);
    }
    st.depth--;
  } else throw unsupported(v === undefined ? 'undefined' : 'a ' + typeof v);
}

/** Encode deterministically. Objects are maps; an undefined property is omitted. */
export function encodeCbor(value: unknown, limits?: CodecLimits): Uint8Array {
  const st = newEncState(128);
  writeValue(st, value, (limits || DEFAULT_CODEC_LIMITS).maxDepth);
  return st.buf.subarray(0, st.pos);
}

/** The head alone (major type and argument), for callers that splice pre-encoded items into an array. */
export function encodeHead(major: number, n: number): Uint8Array {
  const st = newEncState(9);
  writeHead(st, major, n);
  return st.buf.subarray(0, st.pos);
}

// ---- decoder ------------------------------------------------------------------------------

interface DecState {
  b: Uint8Array;
  pos: number;
  items: number;
  maxItems: number;
  maxDepth: number;
  /** Set by readHead: the major type of the head just read. */
  major: number;
}

/** Read a head at st.pos; returns its argument, checked shortest and within range. */
function readHead(st: DecState): number {
  const b = st.b;
  const at = st.pos;
  if (at >= b.length) throw cborError(CBOR_ERROR.TRUNCATED, at, 'an item was expected');
  const ib = b[at];
  const major = ib >> 5;
  const info = ib & 31;
  st.major = major;
  if (major === 6) throw cborError(CBOR_ERROR.TAG, at, 'tags are not in the profile');
  if (info === 31) throw cborError(CBOR_ERROR.INDEFINITE, at, 'indefinite lengths and break are not allowed');
  if (info >= 28) throw cborError(CBOR_ERROR.RESERVED, at, 'reserved additional information ' + info);
  if (major === 7) {
    if (info >= 25) throw cborError(CBOR_ERROR.FLOAT, at, 'floats are not in the profile');
    if (info < 20 || info > 22) throw cborError(CBOR_ERROR.SIMPLE, at, 'only false, true and null are allowed');
    st.pos = at + 1;
    return info;
  }
  if (info < 24) {
    st.pos = at + 1;
    return info;
  }
  const n = 1 << (info - 24);
  if (at + 1 + n > b.length) throw cborError(CBOR_ERROR.TRUNCATED, at, 'the head needs ' + n + ' more bytes');
  let v: number;
  let min: number;
  if (n === 1) {
    v = b[at + 1];
    min = 24;
  } else if (n === 2) {
    v = (b[at + 1] << 8) | b[at + 2];
    min = 256;
  } else if (n === 4) {
    v = ((b[at + 1] << 24) | (b[at + 2] << 16) | (b[at + 3] << 8) | b[at + 4]) >>> 0;
    min = 65536;
  } else {
    const hi = ((b[at + 1] << 24) | (b[at + 2] << 16) | (b[at + 3] << 8) | b[at + 4]) >>> 0;
    const lo = ((b[at + 5] << 24) | (b[at + 6] << 16) | (b[at + 7] << 8) | b[at + 8]) >>> 0;
    if (hi > 0x1fffff) throw cborError(CBOR_ERROR.INT_RANGE, at, 'an argument beyond 2^53−1');
    v = hi * TWO32 + lo;
    min = TWO32;
  }
  if (v < min) throw cborError(CBOR_ERROR.NON_CANONICAL, at, 'the argument ' + v + ' has a shorter form');
  st.pos = at + 1 + n;
  return v;
}

function countItem(st: DecState, at: number): void {
  if (++st.items > st.maxItems) throw cborError(CBOR_ERROR.ITEMS, at, 'more than ' + st.maxItems + ' items');
}

function readItem(st: DecState, depth: number): unknown {
  const at = st.pos;
  countItem(st, at);
  const arg = readHead(st);
  const major = st.major;
  const b = st.b;
  if (major === 0) return arg;
  if (major === 1) {
    if (arg === MAX_SAFE) throw cborError(CBOR_ERROR.INT_RANGE, at, 'an integer below −(2^53−1)');
    return -1 - arg;
  }
  if (major === 2 || major === 3) {
    if (arg > b.length - st.pos) throw cborError(CBOR_ERROR.LENGTH, at, 'a string of ' + arg + ' bytes with ' + (b.length - st.pos) + ' left');
    const start = st.pos;
    st.pos += arg;
    if (major === 2) return b.slice(start, start + arg);
    const s = utf8Decode(b.subarray(start, start + arg));
    if (s === null) throw cborError(CBOR_ERROR.UTF8, at, 'malformed UTF-8 text');
    return s;
  }
  if (major === 7) return arg === 20 ? false : arg === 21 ? true : null;
  if (depth >= st.maxDepth) throw cborError(CBOR_ERROR.DEPTH, at, 'containers nested deeper than ' + st.maxDepth);
  if (major === 4) {
    if (arg > b.length - st.pos) throw cborError(CBOR_ERROR.LENGTH, at, 'an array of ' + arg + ' items with ' + (b.length - st.pos) + ' bytes left');
    if (st.items + arg > st.maxItems) throw cborError(CBOR_ERROR.ITEMS, at, 'more than ' + st.maxItems + ' items');
    const a: unknown[] = [];
    for (let i = 0; i < arg; i++) a.push(readItem(st, depth + 1));
    return a;
  }
  if (arg > (b.length - st.pos) / 2) throw cborError(CBOR_ERROR.LENGTH, at, 'a map of ' + arg + ' entries with ' + (b.length - st.pos) + ' bytes left');
  if (st.items + 2 * arg > st.maxItems) throw cborError(CBOR_ERROR.ITEMS, at, 'more than ' + st.maxItems + ' items');
  const o: { [k: string]: unknown } = {};
  let prevStart = -1;
  let prevEnd = -1;
  for (let i = 0; i < arg; i++) {
    const kAt = st.pos;
    countItem(st, kAt);
    const kArg = readHead(st);
    let key: string;
    if (st.major === 0) key = String(kArg);
    else if (st.major === 1) {
      if (kArg === MAX_SAFE) throw cborError(CBOR_ERROR.INT_RANGE, kAt, 'an integer key below −(2^53−1)');
      key = String(-1 - kArg);
    } else if (st.major === 3) {
      if (kArg > b.length - st.pos) throw cborError(CBOR_ERROR.LENGTH, kAt, 'a key of ' + kArg + ' bytes with ' + (b.length - st.pos) + ' left');
      const s = utf8Decode(b.subarray(st.pos, st.pos + kArg));
      st.pos += kArg;
      if (s === null) throw cborError(CBOR_ERROR.UTF8, kAt, 'malformed UTF-8 key');
      if (s === '__proto__') throw cborError(CBOR_ERROR.KEY_TYPE, kAt, 'the key "__proto__" is not allowed');
      if (isIntKey(s)) throw cborError(CBOR_ERROR.NON_CANONICAL, kAt, 'the text key "' + s + '" must be sent as an integer key');
      key = s;
    } else throw cborError(CBOR_ERROR.KEY_TYPE, kAt, 'map keys must be text or integers');
    if (prevStart >= 0) {
      const c = compareBytes(b.subarray(prevStart, prevEnd), b.subarray(kAt, st.pos));
      if (c === 0) throw cborError(CBOR_ERROR.DUPLICATE_KEY, kAt, 'the key "' + key + '" repeats');
      if (c > 0) throw cborError(CBOR_ERROR.NON_CANONICAL, kAt, 'map keys are not in bytewise order');
    }
    prevStart = kAt;
    prevEnd = st.pos;
    o[key] = readItem(st, depth + 1);
  }
  return o;
}

/** Decode exactly one item filling `bytes`. Byte strings are copies, never views of `bytes`. */
export function decodeCbor(bytes: Uint8Array, limits?: CodecLimits): unknown {
  const l = limits || DEFAULT_CODEC_LIMITS;
  const st: DecState = { b: bytes, pos: 0, items: 0, maxItems: l.maxItems, maxDepth: l.maxDepth, major: 0 };
  const v = readItem(st, 0);
  if (st.pos !== bytes.length) throw cborError(CBOR_ERROR.TRAILING, st.pos, bytes.length - st.pos + ' bytes after the item');
  return v;
}

/** The portable codec (the engine's; the host may use `node/cborx.ts`, which gives the same bytes). */
export function createPortableCodec(limits?: CodecLimits): Codec {
  const l = limits || DEFAULT_CODEC_LIMITS;
  return {
    encode: function (value: unknown): Uint8Array {
      return encodeCbor(value, l);
    },
    decode: function (bytes: Uint8Array): unknown {
      return decodeCbor(bytes, l);
    },
  };
}
