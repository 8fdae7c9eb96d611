import { describe, expect, it } from 'vitest';
import { crc32 as zcrc } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { encodeFrame, FLAG_MORE, FRAME, FrameDecoder, HEADER_LEN, TYPE_MASK, wireSize, type FrameCounters } from './frame.js';
import { concat, fromHex, toHex } from './bytes.js';
import { seededRandom } from './node/transports/faulty.js';

const crc32 = (b: Uint8Array) => zcrc(b);
const TYPE_NAMES = ['DATA', 'ACK', 'NACK', 'RST', 'RST_ACK'];

interface Got {
  type: string | number;
  more: boolean;
  seq: number;
  ack: number;
  payload: string;
  tagged: boolean;
}

function decoder(maxFrame = 256, tag = 0) {
  const got: Got[] = [];
  const d = new FrameDecoder(maxFrame, crc32, (f, len, tagged) => {
    const t = f[0] & TYPE_MASK;
    got.push({ type: TYPE_NAMES[t] ?? t, more: (f[0] & FLAG_MORE) !== 0, seq: f[1], ack: f[2], payload: toHex(f.subarray(HEADER_LEN, len)), tagged });
  });
  d.tag = tag;
  return { d, got };
}

function nonZero(c: FrameCounters) {
  const o: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (v && k !== 'bytes_received') o[k] = v;
  return o;
}

const rand = seededRandom;

const TAG = 0xa5a5f00d;
function sample(): { wire: Uint8Array; frames: Got[] } {
  const specs: [number, number, number, number, string][] = [
    [FRAME.DATA, 0, 1, 2, '0568656c6c6f'],
    [FRAME.ACK, 0, 0, 7, ''],
    [FRAME.DATA, FLAG_MORE, 2, 7, '03000000'],
    [FRAME.NACK, 0, 0, 9, ''],
    [FRAME.DATA, 0, 3, 9, '80f0' + '00'.repeat(240)],
  ];
  const frames = specs.map(([t, f, s, a, p]) => ({ type: TYPE_NAMES[t], more: f !== 0, seq: s, ack: a, payload: p, tagged: true }));
  return { wire: concat(specs.map(([t, f, s, a, p]) => encodeFrame(t, f, s, a, fromHex(p)!, TAG, crc32))), frames };
}

describe('frame decoder', () => {
  it('passes the shared vectors', () => {
    const doc = JSON.parse(readFileSync(new URL('./vectors/frames.json', import.meta.url), 'utf8'));
    expect(doc.vectors.length).toBeGreaterThan(15);
    for (const v of doc.vectors) {
      const { d, got } = decoder(v.maxFrame, parseInt(v.tag, 16));
      d.feed(fromHex(v.wire)!);
      const want = v.frames.map((f: Got) => ({ type: f.type, more: f.more, seq: f.seq, ack: f.ack, payload: f.payload, tagged: f.tagged }));
      expect({ name: v.name, got }).toEqual({ name: v.name, got: want });
      expect({ name: v.name, counters: nonZero(d.counters) }).toEqual({ name: v.name, counters: v.counters });
      // Every valid single-frame vector is also what the encoder produces.
      if (v.frames.length === 1 && Object.keys(v.counters).length === 1 && !v.wire.startsWith('00')) {
        const f = v.frames[0];
        const t = typeof f.type === 'number' ? f.type : TYPE_NAMES.indexOf(f.type);
        const tag = f.tagged ? parseInt(v.tag, 16) : 0;
        expect({ name: v.name, wire: toHex(encodeFrame(t, f.more ? FLAG_MORE : 0, f.seq, f.ack, fromHex(f.payload)!, tag, crc32)) }).toEqual({ name: v.name, wire: v.wire });
      }
    }
  });

  it('decodes the same frames fed one byte at a time and split at every point', () => {
    const { wire, frames } = sample();
    const one = decoder(256, TAG);
    for (let i = 0; i < wire.length; i++) one.d.feed(wire.subarray(i, i + 1));
    expect(one.got).toEqual(frames);
    for (let cut = 0; cut <= wire.length; cut++) {
      const x = decoder(256, TAG);
      x.d.feed(wire.subarray(0, cut));
      x.d.feed(wire.subarray(cut));
      expect(x.got).toEqual(frames);
    }
    // Three pieces, over a coarser grid.
    for (let a = 0; a < wire.length; a += 7) {
      for (let b = a; b <= wire.length; b += 5) {
        const x = decoder(256, TAG);
        x.d.feed(wire.subarray(0, a));
        x.d.feed(wire.subarray(a, b));
        x.d.feed(wire.subarray(b));
        expect(x.got.length).toBe(frames.length);
      }
    }
  });

  it('resynchronises after garbage, bad CRCs, oversize and truncated frames', () => {
    const { wire, frames } = sample();
    const good = encodeFrame(FRAME.ACK, 0, 0, 1, new Uint8Array(0), TAG, crc32);
    const bad = encodeFrame(FRAME.DATA, 0, 1, 1, fromHex('01020304')!, TAG, crc32);
    bad[3] ^= 0x10;
    const huge = encodeFrame(FRAME.DATA, 0, 1, 1, new Uint8Array(1000).fill(7), TAG, crc32);
    const truncated = good.subarray(0, good.length - 3);
    const x = decoder(256, TAG);
    x.d.feed(concat([fromHex('deadbeef13110000ff')!, new Uint8Array([0]), bad, huge, truncated, new Uint8Array([0]), wire]));
    expect(x.got).toEqual(frames);
    expect(x.d.counters.crc_errors).toBe(1);
    expect(x.d.counters.oversize).toBe(1);
    expect(x.d.counters.cobs_errors + x.d.counters.runts + x.d.counters.crc_errors).toBeGreaterThanOrEqual(3);
  });

  it('fuzz: random bytes and mutated frames never throw, and a frame after a delimiter still decodes', () => {
    const r = rand(7);
    const { wire, frames } = sample();
    const x = decoder(256, TAG);
    let expected = 0;
    for (let n = 0; n < 3000; n++) {
      let noise: Uint8Array;
      if (n % 2 === 0) {
        noise = new Uint8Array(Math.floor(r() * 600));
        for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(r() * 256);
      } else {
        noise = wire.slice();
        const flips = 1 + Math.floor(r() * 4);
        for (let k = 0; k < flips; k++) noise[Math.floor(r() * noise.length)] ^= 1 << Math.floor(r() * 8);
      }
      const before = x.got.length;
      x.d.feed(noise);
      // Whatever the noise did, a delimiter followed by a good frame is decoded.
      x.d.feed(concat([new Uint8Array([0]), encodeFrame(FRAME.ACK, 0, 0, n & 255, new Uint8Array(0), TAG, crc32)]));
      expected++;
      const last = x.got[x.got.length - 1];
      expect(last).toEqual({ type: 'ACK', more: false, seq: 0, ack: n & 255, payload: '', tagged: true });
      expect(x.got.length - before).toBeLessThanOrEqual(1 + frames.length);
    }
    expect(x.d.counters.frames_received).toBeGreaterThanOrEqual(expected);
  });

  it('bounds the buffering to the maximum frame whatever arrives', () => {
    const x = decoder(64, TAG);
    const big = new Uint8Array(1 << 20).fill(0x55);
    x.d.feed(big);
    x.d.feed(big);
    x.d.feed(concat([new Uint8Array([0]), encodeFrame(FRAME.ACK, 0, 0, 3, new Uint8Array(0), TAG, crc32)]));
    expect(x.d.counters.oversize).toBe(1);
    expect(x.got).toEqual([{ type: 'ACK', more: false, seq: 0, ack: 3, payload: '', tagged: true }]);
    // A frame of exactly the maximum passes; one byte more does not.
    const fit = encodeFrame(FRAME.DATA, 0, 0, 0, new Uint8Array(64 - 7).fill(0xff), TAG, crc32);
    const over = encodeFrame(FRAME.DATA, 0, 0, 0, new Uint8Array(64 - 6).fill(0xff), TAG, crc32);
    expect(fit.length).toBe(wireSize(64));
    x.d.feed(fit);
    x.d.feed(over);
    expect(x.got.length).toBe(2);
    expect(x.d.counters.oversize).toBe(2);
  });
});
