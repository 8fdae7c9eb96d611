// Both codecs against RFC 8949 Appendix A examples (the profile's subset), the deterministic
// rules, every rejection, and each other (random values must give the same bytes; random and
// mutated inputs must give the same value or the same typed error).
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { CBOR_ERROR, Codec, createPortableCodec, decodeCbor, encodeHead, isProtocolError, ProtocolError } from './cbor.js';
import { createCborxCodec } from './node/cborx.js';
import { randomValue, rng } from './node/random.js';

const portable = createPortableCodec();
const cborx = createCborxCodec();
const codecs: [string, Codec][] = [
  ['portable', portable],
  ['cbor-x', cborx],
];

const h = (s: string): Uint8Array => fromHex(s.replace(/\s+/g, '')) as Uint8Array;

function errorOf(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (e) {
    if (isProtocolError(e)) return e;
    throw e;
  }
  throw new Error('expected a ProtocolError, got a value');
}

// RFC 8949 Appendix A, restricted to the profile, plus the profile's own boundaries.
const GOOD: [unknown, string][] = [
  [0, '00'],
  [1, '01'],
  [10, '0a'],
  [23, '17'],
  [24, '1818'],
  [25, '1819'],
  [100, '1864'],
  [255, '18ff'],
  [256, '190100'],
  [1000, '1903e8'],
  [65535, '19ffff'],
  [65536, '1a00010000'],
  [1000000, '1a000f4240'],
  [4294967295, '1affffffff'],
  [4294967296, '1b0000000100000000'],
  [1000000000000, '1b000000e8d4a51000'],
  [9007199254740991, '1b001fffffffffffff'],
  [-1, '20'],
  [-10, '29'],
  [-24, '37'],
  [-25, '3818'],
  [-100, '3863'],
  [-1000, '3903e7'],
  [-4294967296, '3affffffff'],
  [-4294967297, '3b0000000100000000'],
  [-9007199254740991, '3b001ffffffffffffe'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [new Uint8Array(0), '40'],
  [h('01020304'), '4401020304'],
  [new Uint8Array(24), '5818' + '00'.repeat(24)],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['"\\', '62225c'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\ud800\udd51', '64f0908591'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [
    Array.from({ length: 25 }, (_, i) => i + 1),
    '98190102030405060708090a0b0c0d0e0f101112131415161718181819',
  ],
  [{}, 'a0'],
  [{ 1: 2, 3: 4 }, 'a201020304'],
  [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
  [['a', { b: 'c' }], '826161a161626163'],
  // Keys in bytewise order of their encodings: 10 (0a) < -1 (20) < "a" < "b" < "aa" (longer text later).
  [{ b: 1, aa: 3, a: 2, '-1': 5, 10: 4 }, 'a50a04200561610261620162616103'],
];

describe.each(codecs)('%s codec', (_name, codec) => {
  it.each(GOOD.map(([v, hex]) => [hex, v] as [string, unknown]))('%s', (hex, v) => {
    expect(toHex(codec.encode(v))).toBe(hex);
    expect(codec.decode(h(hex))).toEqual(v);
  });

  it('omits undefined properties and writes lone surrogates as U+FFFD', () => {
    expect(toHex(codec.encode({ u: undefined, v: 1 }))).toBe('a1617601');
    expect(toHex(codec.encode('a\ud800b'))).toBe('6561efbfbd62');
    expect(toHex(codec.encode('\udc00'))).toBe('63efbfbd');
  });

  it('refuses values outside the profile', () => {
    for (const v of [1.5, NaN, Infinity, 2 ** 53, -(2 ** 53), undefined, [undefined], BigInt(1), new Date(0), new Map(), () => 1, new Uint16Array(2)]) {
      expect(errorOf(() => codec.encode(v)).code).toBe(CBOR_ERROR.UNSUPPORTED_VALUE);
    }
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(errorOf(() => codec.encode(cyclic)).code).toBe(CBOR_ERROR.UNSUPPORTED_VALUE);
    expect(errorOf(() => codec.encode(JSON.parse('{"__proto__": 1}'))).code).toBe(CBOR_ERROR.UNSUPPORTED_VALUE);
  });

  it('decodes byte strings as copies, not views of the input', () => {
    const input = h('824201024103');
    const v = codec.decode(input) as Uint8Array[];
    input.fill(0xee);
    expect(v[0]).toEqual(h('0102'));
    expect(v[1]).toEqual(h('03'));
    expect(v[0].buffer).not.toBe(input.buffer);
  });

  it('keeps a "constructor" key as data', () => {
    const v = codec.decode(h('a16b636f6e7374727563746f7201'));
    expect(v).toEqual({ constructor: 1 });
    expect(toHex(codec.encode(v))).toBe('a16b636f6e7374727563746f7201');
  });
});

// Each input and the error code and offset both decoders must report.
const BAD: [string, string, string, number][] = [
  ['empty input', '', CBOR_ERROR.TRUNCATED, 0],
  ['uint8 head without its byte', '18', CBOR_ERROR.TRUNCATED, 0],
  ['uint64 head cut short', '1b000000', CBOR_ERROR.TRUNCATED, 0],
  ['second element cut inside its head', '820118', CBOR_ERROR.TRUNCATED, 2],
  ['declared 2^32−1 items, none present', '9affffffff', CBOR_ERROR.LENGTH, 0],
  ['declared 2^32−1 map entries', 'baffffffff', CBOR_ERROR.LENGTH, 0],
  ['declared 2^53−1 string bytes', '5b001fffffffffffff', CBOR_ERROR.LENGTH, 0],
  ['text longer than the input', '6561', CBOR_ERROR.LENGTH, 0],
  ['17 nested arrays', '81'.repeat(17) + '00', CBOR_ERROR.DEPTH, 16],
  ['trailing byte', '0000', CBOR_ERROR.TRAILING, 1],
  ['array then trailing bytes', '8101ffff', CBOR_ERROR.TRAILING, 2],
  ['non-shortest uint8', '1817', CBOR_ERROR.NON_CANONICAL, 0],
  ['non-shortest uint16', '1900ff', CBOR_ERROR.NON_CANONICAL, 0],
  ['non-shortest uint32', '1a0000ffff', CBOR_ERROR.NON_CANONICAL, 0],
  ['non-shortest uint64', '1b00000000ffffffff', CBOR_ERROR.NON_CANONICAL, 0],
  ['non-shortest negative', '3800', CBOR_ERROR.NON_CANONICAL, 0],
  ['non-shortest array length', '980100', CBOR_ERROR.NON_CANONICAL, 0],
  ['non-shortest string length', '5800', CBOR_ERROR.NON_CANONICAL, 0],
  ['non-shortest map length inside an array', '81b80100', CBOR_ERROR.NON_CANONICAL, 1],
  ['indefinite array', '9f01ff', CBOR_ERROR.INDEFINITE, 0],
  ['indefinite byte string', '5f4101ff', CBOR_ERROR.INDEFINITE, 0],
  ['indefinite map', 'bf6161 01ff', CBOR_ERROR.INDEFINITE, 0],
  ['lone break', 'ff', CBOR_ERROR.INDEFINITE, 0],
  ['reserved additional information', '1c', CBOR_ERROR.RESERVED, 0],
  ['float16 1.0', 'f93c00', CBOR_ERROR.FLOAT, 0],
  ['float32', 'fa47c35000', CBOR_ERROR.FLOAT, 0],
  ['float64', 'fb3ff199999999999a', CBOR_ERROR.FLOAT, 0],
  ['tag 1 (epoch time)', 'c11a514b67b0', CBOR_ERROR.TAG, 0],
  ['tag 2 (bignum)', 'c249010000000000000000', CBOR_ERROR.TAG, 0],
  ['tag 64 (uint8 typed array)', 'd8404101', CBOR_ERROR.TAG, 0],
  ['undefined', 'f7', CBOR_ERROR.SIMPLE, 0],
  ['simple value 16', 'f0', CBOR_ERROR.SIMPLE, 0],
  ['simple value 255', 'f8ff', CBOR_ERROR.SIMPLE, 0],
  ['2^53', '1b0020000000000000', CBOR_ERROR.INT_RANGE, 0],
  ['2^64−1', '1bffffffffffffffff', CBOR_ERROR.INT_RANGE, 0],
  ['−2^53', '3b001fffffffffffff', CBOR_ERROR.INT_RANGE, 0],
  ['−2^64', '3bffffffffffffffff', CBOR_ERROR.INT_RANGE, 0],
  ['UTF-8 overlong "/"', '62c0af', CBOR_ERROR.UTF8, 0],
  ['UTF-8 surrogate', '63eda080', CBOR_ERROR.UTF8, 0],
  ['UTF-8 truncated sequence', '61c3', CBOR_ERROR.UTF8, 0],
  ['duplicate text key', 'a2616101616102', CBOR_ERROR.DUPLICATE_KEY, 4],
  ['duplicate integer key', 'a201020103', CBOR_ERROR.DUPLICATE_KEY, 3],
  ['unsorted keys', 'a2616201616102', CBOR_ERROR.NON_CANONICAL, 4],
  ['text key before an integer key', 'a2616101 0102', CBOR_ERROR.NON_CANONICAL, 4],
  ['text key that must be an integer key', 'a1613101', CBOR_ERROR.NON_CANONICAL, 1],
  ['byte-string key', 'a1410101', CBOR_ERROR.KEY_TYPE, 1],
  ['array key', 'a18001', CBOR_ERROR.KEY_TYPE, 1],
  ['"__proto__" key', 'a1695f5f70726f746f5f5f01', CBOR_ERROR.KEY_TYPE, 1],
];

describe('rejections', () => {
  it.each(BAD)('%s', (_what, hex, code, offset) => {
    for (const [name, codec] of codecs) {
      const e = errorOf(() => codec.decode(h(hex)));
      expect([name, e.code, e.offset]).toEqual([name, code, offset]);
      expect(e.err).toBe(1); // ERR.MALFORMED
      expect(e).toBeInstanceOf(Error);
      expect(Object.getPrototypeOf(e)).toBe(Error.prototype);
    }
  });

  it('limits items and depth as configured', () => {
    const small = { maxDepth: 2, maxItems: 4 };
    expect(decodeCbor(h('8281 0102'), small)).toEqual([[1], 2]);
    expect(errorOf(() => decodeCbor(h('818181 00'), small)).code).toBe(CBOR_ERROR.DEPTH);
    expect(errorOf(() => decodeCbor(h('84 01020304'), small)).code).toBe(CBOR_ERROR.ITEMS);
    expect(errorOf(() => decodeCbor(h('a2 0101 0202'), small)).code).toBe(CBOR_ERROR.ITEMS);
    const x = createCborxCodec(small);
    expect(errorOf(() => x.decode(h('84 01020304'))).code).toBe(CBOR_ERROR.ITEMS);
    createCborxCodec(); // restore cbor-x's process-wide size limits for the other tests
  });

  it('fails a huge declared length at once, without allocating', () => {
    const mem = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) for (const [, codec] of codecs) errorOf(() => codec.decode(h('9a7fffffff01')));
    expect(process.memoryUsage().heapUsed - mem).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('the two codecs agree', () => {
  it('encode random values to identical bytes, which both decode back', () => {
    const r = rng(0xc0ffee);
    const fallbacks = cborx.stats.fallbacks;
    for (let i = 0; i < 3000; i++) {
      const v = randomValue(r);
      const a = portable.encode(v);
      const b = cborx.encode(v);
      if (toHex(a) !== toHex(b)) throw new Error(`case ${i}: ${JSON.stringify(v)} portable ${toHex(a)} cbor-x ${toHex(b)}`);
      expect(portable.decode(a)).toEqual(v);
      expect(cborx.decode(a)).toEqual(v);
    }
    // Well-formed input never leaves cbor-x's fast path.
    expect(cborx.stats.fallbacks).toBe(fallbacks);
  });

  it('give the same value or the same error on random and mutated inputs (fuzz)', () => {
    const r = rng(0xf022);
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) seeds.push(portable.encode(randomValue(r)));
    for (const [, hex] of BAD) seeds.push(h(hex));
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let input: Uint8Array;
      if (r.chance(0.2)) input = r.bytes(r.int(64));
      else {
        input = new Uint8Array(r.pick(seeds));
        const n = 1 + r.int(4);
        for (let k = 0; k < n && input.length > 0; k++) {
          const at = r.int(input.length);
          const op = r.int(4);
          if (op === 0) input[at] = r.int(256);
          else if (op === 1) input[at] ^= 1 << r.int(8);
          else if (op === 2) input = input.subarray(0, at);
          else input = Uint8Array.of(...input.subarray(0, at), r.int(256), ...input.subarray(at));
        }
      }
      const out = [portable, cborx].map((c) => {
        try {
          return { value: c.decode(input) };
        } catch (e) {
          if (!isProtocolError(e)) throw new Error(`case ${i} ${toHex(input)}: untyped ${String(e)}`);
          return { code: e.code, offset: e.offset };
        }
      });
      if ('value' in out[0]) {
        accepted++;
        // Accepted input is canonical: it re-encodes to itself.
        expect(toHex(portable.encode(out[0].value))).toBe(toHex(input));
      }
      expect(out[1]).toEqual(out[0]);
    }
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('encodeHead', () => {
  it('writes the shortest head for each major type', () => {
    expect(toHex(encodeHead(4, 3))).toBe('83');
    expect(toHex(encodeHead(4, 24))).toBe('9818');
    expect(toHex(encodeHead(2, 65536))).toBe('5a00010000');
    expect(toHex(encodeHead(0, 2 ** 32))).toBe('1b0000000100000000');
  });
});
