// The shared byte helpers against Node's own implementations (Buffer, TextEncoder/TextDecoder),
// which the board lacks and these replace.
import { describe, expect, it } from 'vitest';
import {
  bytesToBinaryString,
  concat,
  equalBytes,
  fromHex,
  readU16be,
  readU32be,
  readU32le,
  toHex,
  u32le,
  utf8Decode,
  utf8Encode,
  writeU32le,
} from './bytes.js';
import { randomText, rng } from './node/random.js';

describe('hex', () => {
  it('round-trips every byte value and matches Buffer', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    expect(toHex(all)).toBe(Buffer.from(all).toString('hex'));
    expect(fromHex(toHex(all))).toEqual(all);
    expect(fromHex('DEADbeef')).toEqual(Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });
  it('rejects odd lengths and non-hex characters', () => {
    expect(fromHex('abc')).toBeNull();
    expect(fromHex('0g')).toBeNull();
    expect(fromHex('  ')).toBeNull();
  });
});

describe('integers', () => {
  it('reads and writes 32-bit little- and big-endian values at an offset', () => {
    const b = new Uint8Array(8);
    writeU32le(b, 2, 0xfedcba98);
    expect(toHex(b)).toBe('000098badcfe0000');
    expect(readU32le(b, 2)).toBe(0xfedcba98);
    expect(readU32be(b, 2)).toBe(0x98badcfe);
    expect(readU16be(b, 2)).toBe(0x98ba);
    expect(u32le(0xffffffff)).toEqual(Uint8Array.of(255, 255, 255, 255));
    expect(readU32le(u32le(1), 0)).toBe(1);
    const r = rng(7);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(4294967296);
      const buf = Buffer.alloc(4);
      buf.writeUInt32BE(v);
      expect(readU32be(buf, 0)).toBe(v);
      expect(toHex(u32le(v))).toBe(Buffer.from(buf).reverse().toString('hex'));
    }
  });
});

describe('concat and equalBytes', () => {
  it('joins in order and compares by content', () => {
    const c = concat([Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)]);
    expect(c).toEqual(Uint8Array.of(1, 2, 3));
    expect(concat([])).toEqual(new Uint8Array(0));
    expect(equalBytes(c, Uint8Array.of(1, 2, 3))).toBe(true);
    expect(equalBytes(c, Uint8Array.of(1, 2, 4))).toBe(false);
    expect(equalBytes(c, Uint8Array.of(1, 2))).toBe(false);
  });
});

describe('UTF-8', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder('utf-8', { fatal: true });

  it('encodes like TextEncoder, lone surrogates included', () => {
    const r = rng(11);
    const samples = ['', 'abc', 'é', '水', '\ud83d\ude00', 'a\ud800b', '\udc00', '\ud800', 'x\ud800\ud800y', '\u07ff\u0800\uffff'];
    for (let i = 0; i < 2000; i++) samples.push(randomText(r));
    for (const s of samples) expect(toHex(utf8Encode(s))).toBe(toHex(enc.encode(s)));
  });

  it('decodes like a fatal TextDecoder: same text, or null where it throws', () => {
    const r = rng(12);
    const cases: Uint8Array[] = [
      Uint8Array.of(0xc0, 0xaf), // overlong
      Uint8Array.of(0xe0, 0x80, 0xaf), // overlong
      Uint8Array.of(0xed, 0xa0, 0x80), // surrogate
      Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
      Uint8Array.of(0xf5, 0x80, 0x80, 0x80),
      Uint8Array.of(0xc3), // truncated
      Uint8Array.of(0x80), // lone continuation
      Uint8Array.of(0xf0, 0x9f, 0x98, 0x80), // U+1F600
    ];
    for (let i = 0; i < 5000; i++) {
      const b = r.bytes(r.int(8));
      if (r.chance(0.5)) for (let k = 0; k < b.length; k++) b[k] = 0x80 | (b[k] & 0x7f) | (k % 3 === 0 ? 0x40 : 0);
      cases.push(b);
    }
    for (let i = 0; i < 500; i++) cases.push(enc.encode(randomText(r)));
    for (const b of cases) {
      let want: string | null;
      try {
        want = dec.decode(b);
      } catch {
        want = null;
      }
      expect([toHex(b), utf8Decode(b)]).toEqual([toHex(b), want]);
    }
  });
});

describe('bytesToBinaryString', () => {
  it('maps each byte to one char', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    expect(bytesToBinaryString(all)).toBe(Buffer.from(all).toString('latin1'));
  });
});
