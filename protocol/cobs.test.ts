import { describe, expect, it } from 'vitest';
import { COBS_OVERFLOW, COBS_TRUNCATED, COBS_ZERO_IN_INPUT, cobsDecode, cobsDecodeInto, cobsEncode, cobsMaxEncoded } from './cobs.js';
import { fromHex, toHex } from './bytes.js';
import { seededRandom } from './node/transports/faulty.js';

const hex = (s: string) => fromHex(s.replace(/ /g, ''))!;
const seq = (from: number, to: number) => {
  const a = new Uint8Array(to - from + 1);
  for (let i = 0; i < a.length; i++) a[i] = from + i;
  return a;
};

// Examples from the COBS paper / Wikipedia, including the 254-byte block boundary cases.
const EXAMPLES: [Uint8Array, string][] = [
  [hex(''), '01'],
  [hex('00'), '0101'],
  [hex('0000'), '010101'],
  [hex('00 11 00'), '01021101'],
  [hex('11 22 00 33'), '0311220233'],
  [hex('11 22 33 44'), '0511223344'],
  [hex('11 00 00 00'), '0211010101'],
  [seq(1, 254), 'ff' + toHex(seq(1, 254))],
  [new Uint8Array([0, ...seq(1, 254)]), '01ff' + toHex(seq(1, 254))],
  [seq(1, 255), 'ff' + toHex(seq(1, 254)) + '02ff'],
  [new Uint8Array([...seq(2, 255), 0]), 'ff' + toHex(seq(2, 255)) + '0101'],
  [new Uint8Array([...seq(3, 255), 0, 1]), 'fe' + toHex(seq(3, 255)) + '0201'],
];

const rand = seededRandom;

describe('cobs', () => {
  it('encodes and decodes the reference examples', () => {
    for (const [raw, enc] of EXAMPLES) {
      expect(toHex(cobsEncode(raw))).toBe(enc);
      expect(toHex(cobsDecode(hex(enc))!)).toBe(toHex(raw));
    }
  });

  it('round-trips random data of every zero density and never exceeds the bound', () => {
    const r = rand(1);
    for (let n = 0; n < 800; n++) {
      const len = Math.floor(r() * 1200);
      const density = [0, 0.001, 0.05, 0.33, 0.9][n % 5];
      const a = new Uint8Array(len);
      for (let i = 0; i < len; i++) a[i] = r() < density ? 0 : 1 + Math.floor(r() * 255);
      const e = cobsEncode(a);
      expect(e.length).toBeLessThanOrEqual(cobsMaxEncoded(len));
      expect(e.indexOf(0)).toBe(-1);
      expect(toHex(cobsDecode(e)!)).toBe(toHex(a));
    }
  });

  it('accepts the redundant trailing 01 block some encoders emit after a final 0xFF block', () => {
    expect(toHex(cobsDecode(hex('ff' + toHex(seq(1, 254)) + '01'))!)).toBe(toHex(seq(1, 254)));
  });

  it('reports invalid input with a status instead of throwing', () => {
    const out = new Uint8Array(16);
    expect(cobsDecodeInto(hex('03 11 00'), 3, out)).toBe(COBS_ZERO_IN_INPUT);
    expect(cobsDecodeInto(hex('05 11 22'), 3, out)).toBe(COBS_TRUNCATED);
    expect(cobsDecodeInto(hex('05 11 22 33 44'), 5, new Uint8Array(3))).toBe(COBS_OVERFLOW);
    expect(cobsDecodeInto(hex('02 11 02 22'), 4, new Uint8Array(2))).toBe(COBS_OVERFLOW);
    expect(cobsDecodeInto(hex('02 11 02 22'), 4, new Uint8Array(3))).toBe(3);
  });

  it('decodes random garbage to a status or to at most the input length, never throwing', () => {
    const r = rand(2);
    const out = new Uint8Array(64);
    for (let n = 0; n < 20000; n++) {
      const len = Math.floor(r() * 70);
      const a = new Uint8Array(len);
      for (let i = 0; i < len; i++) a[i] = Math.floor(r() * 256);
      const d = cobsDecodeInto(a, len, out);
      expect(d).toBeLessThanOrEqual(Math.max(0, len - 1));
    }
  });
});
