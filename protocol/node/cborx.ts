// The host's codec: cbor-x, held to the portable codec's profile so both give the same bytes and
// accept the same inputs (SPEC.md §3.1).
//
// cbor-x alone is not deterministic: it keeps insertion order for keys, writes integers beyond
// 32 bits as float64, and its decoder accepts non-shortest heads, indefinite lengths, floats,
// tags and duplicate keys. So:
// - encode: values are first rewritten into what cbor-x writes canonically (objects become Maps
//   with keys in bytewise order of their encodings, integer keys as numbers; integers beyond 32
//   bits become BigInt, which cbor-x writes as the 8-byte head the profile wants);
// - decode: cbor-x decodes, the result is normalised (byte strings copied out of the input,
//   safe BigInts made numbers) and re-encoded; only when that reproduces the input exactly is it
//   the answer. Anything else (a cbor-x error, a value outside the profile, a different byte
//   form) is referred to the portable decoder, which decides and names the error with its offset.
//   For well-formed messages the referral never happens (`stats.fallbacks` counts it; tests
//   assert it stays 0 on valid input), so errors are the only slow path.

import { Decoder, Encoder, Options, setSizeLimits } from 'cbor-x';
import { equalBytes } from '../bytes.js';
import { Codec, CodecLimits, DEFAULT_CODEC_LIMITS, decodeCbor, encodeCbor, isIntKey, isPlainObject, isSafeInt, sortedKeys } from '../cbor.js';

const TWO32 = 4294967296;
/** cbor-x writes a lone surrogate as its raw 3 bytes; the profile (bytes.ts utf8Encode) writes U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Thrown inside the fast paths only; always caught here and replaced by the portable codec's verdict. */
const REFER = new Error('refer to the portable codec');

export interface CborxCodec extends Codec {
  /** fast: answered by cbor-x; fallbacks: referred to the portable codec (errors, or a disagreement). */
  stats: { fast: number; fallbacks: number };
}

function bigIfNeeded(v: number): number | bigint {
  return v >= TWO32 || v < -TWO32 ? BigInt(v) : v;
}

/** Rewrite a value into the form cbor-x encodes canonically; returns the same object when nothing changes. */
function toCborx(v: unknown, depth: number, maxDepth: number): unknown {
  if (typeof v === 'number') {
    if (!isSafeInt(v)) throw REFER;
    return bigIfNeeded(v);
  }
  if (typeof v === 'string') {
    if (LONE_SURROGATE.test(v)) throw REFER;
    return v;
  }
  if (v === null || v === true || v === false || v instanceof Uint8Array) return v;
  if (depth >= maxDepth) throw REFER;
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = toCborx(x, depth + 1, maxDepth);
      if (y !== x && out === null) out = v.slice(0, i);
      if (out !== null) out.push(y);
    }
    return out === null ? v : out;
  }
  if (isPlainObject(v)) {
    const keys = sortedKeys(v);
    const m = new Map<unknown, unknown>();
    for (const k of keys) m.set(isIntKey(k.key) ? bigIfNeeded(Number(k.key)) : k.key, toCborx(v[k.key], depth + 1, maxDepth));
    return m;
  }
  throw REFER;
}

interface Walk {
  items: number;
  maxItems: number;
  maxDepth: number;
}

/** Normalise a cbor-x result in place to what the portable decoder returns; throws REFER outside the profile. */
function fromCborx(v: unknown, depth: number, w: Walk): unknown {
  if (++w.items > w.maxItems) throw REFER;
  if (typeof v === 'number' || typeof v === 'string' || v === null || v === true || v === false) return v;
  if (typeof v === 'bigint') {
    const n = Number(v);
    if (!isSafeInt(n) || BigInt(n) !== v) throw REFER;
    return n;
  }
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (depth >= w.maxDepth) throw REFER;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fromCborx(v[i], depth + 1, w);
    return v;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      w.items++;
      v[k] = fromCborx(v[k], depth + 1, w);
    }
    return v;
  }
  throw REFER;
}

/**
 * A cbor-x codec with the portable codec's profile and limits. cbor-x's size limits are global to
 * the process; they are set to `maxItems` so a huge declared length fails before allocating.
 */
export function createCborxCodec(limits?: CodecLimits): CborxCodec {
  const l = limits || DEFAULT_CODEC_LIMITS;
  setSizeLimits({ maxArraySize: l.maxItems, maxMapSize: l.maxItems, maxObjectSize: l.maxItems });
  // useTag259ForMaps is read by cbor-x's encoder (encode.js) but missing from its typings.
  const options: Options & { useTag259ForMaps: boolean } = {
    useRecords: false,
    variableMapSize: true,
    tagUint8Array: false,
    useTag259ForMaps: false,
    mapsAsObjects: true,
    largeBigIntToFloat: false,
  };
  const encoder = new Encoder(options);
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });
  const stats = { fast: 0, fallbacks: 0 };

  function fastEncode(value: unknown): Uint8Array {
    const b = encoder.encode(toCborx(value, 0, l.maxDepth));
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }

  return {
    stats,
    encode(value: unknown): Uint8Array {
      try {
        const out = fastEncode(value);
        stats.fast++;
        return out;
      } catch {
        // REFER (a value outside the profile) or a cbor-x failure: the portable encoder decides.
      }
      stats.fallbacks++;
      return encodeCbor(value, l);
    },
    decode(bytes: Uint8Array): unknown {
      try {
        const v = fromCborx(decoder.decode(bytes), 0, { items: 0, maxItems: l.maxItems, maxDepth: l.maxDepth });
        if (equalBytes(fastEncode(v), bytes)) {
          stats.fast++;
          return v;
        }
      } catch {
        // cbor-x's own errors, and REFER: the portable decoder gives the verdict below.
      }
      stats.fallbacks++;
      return decodeCbor(bytes, l);
    },
  };
}
