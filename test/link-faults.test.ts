// The reliable link over a damaged line: every message arrives once, in order, whatever the
// line does to the bytes. Virtual time, so timeouts cost nothing and every run is the same.
import { describe, expect, it } from 'vitest';
import { crc32 as zcrc } from 'node:zlib';
import { Link, type LinkOptions } from '../protocol/link.js';
import { memoryPair } from '../protocol/node/transports/memory.js';
import { FaultyTransport, seededRandom, type FaultOptions } from '../protocol/node/transports/faulty.js';
import { VirtualClock } from '../protocol/node/transports/virtual-clock.js';

const crc32 = (b: Uint8Array) => zcrc(b);

function event(i: number, len: number): Uint8Array {
  const m = new Uint8Array(len);
  m[0] = i & 255;
  m[1] = (i >>> 8) & 255;
  m[2] = (i >>> 16) & 255;
  m[3] = (i >>> 24) & 255;
  for (let k = 4; k < len; k++) m[k] = (i + k) & 255;
  return m;
}

function check(m: Uint8Array, i: number, len: number): boolean {
  if (m.length !== len) return false;
  if (((m[0] | (m[1] << 8) | (m[2] << 16) | (m[3] << 24)) >>> 0) !== i) return false;
  for (let k = 4; k < len; k++) if (m[k] !== ((i + k) & 255)) return false;
  return true;
}

function run(total: number, sizeOf: (i: number) => number, faults: FaultOptions, opts: Partial<LinkOptions>) {
  const clock = new VirtualClock();
  const [ta, tb] = memoryPair({ clock, latencyMs: 1, bytesPerMs: 1000 });
  const fa = new FaultyTransport(ta, { ...faults, seed: 11 });
  const fb = new FaultyTransport(tb, { ...faults, seed: 22 });
  const base: LinkOptions = { crc32, clock, rtoMs: 50, minRtoMs: 10, ackDelayMs: 2, ...opts };
  let nonce = 1;
  const a = new Link(fa, { ...base, random32: () => nonce++ });
  const b = new Link(fb, { ...base, random32: () => nonce++ });
  // Both directions carry traffic: A sends events, B answers every 10th with a small reply.
  let next = 0;
  let bad = 0;
  let replies = 0;
  b.onMessage((m) => {
    if (!check(m, next, sizeOf(next))) bad++;
    if (next % 10 === 0) b.send(event(next, 6));
    next++;
  });
  a.onMessage(() => replies++);
  let sent = 0;
  const feed = () => {
    // send() queues even when it returns false: that only says "stop until onDrain".
    while (sent < total) {
      const more = a.send(event(sent, sizeOf(sent)));
      sent++;
      if (!more) break;
    }
  };
  a.onDrain(feed);
  feed();
  const done = clock.run(() => next === total || bad > 0, 1e9);
  return { done, next, bad, replies, a, b, fa, fb, clock };
}

describe('link over a faulty line', () => {
  it('delivers 100,000 events through 1% byte corruption both ways, once each and in order', () => {
    const r = run(100_000, (i) => 4 + (i % 13), { corrupt: 0.01 }, { maxFrame: 64, window: 8, highWater: 4096 });
    expect(r.bad).toBe(0);
    expect(r.next).toBe(100_000);
    expect(r.done).toBe(true);
    expect(r.b.counters.messages_received).toBe(100_000);
    // The line really was damaged, and the link noticed.
    expect(r.fa.counters.corrupted).toBeGreaterThan(5000);
    expect(r.b.counters.crc_errors + r.b.counters.cobs_errors + r.b.counters.runts + r.b.counters.oversize).toBeGreaterThan(2000);
    expect(r.a.counters.retransmits).toBeGreaterThan(1000);
    expect(r.b.counters.resets + r.a.counters.resets).toBe(0);
  });

  it('survives byte loss, duplication and reordering with messages spread over many frames', () => {
    const sizes = seededRandom(5);
    const table = Array.from({ length: 3000 }, () => (sizes() < 0.1 ? 200 + Math.floor(sizes() * 3000) : 4 + Math.floor(sizes() * 60)));
    const r = run(3000, (i) => table[i], { loss: 0.002, duplicate: 0.002, reorder: 0.002, corrupt: 0.002, chunk: 40 }, { maxFrame: 128, window: 6, maxMessage: 4096 });
    expect(r.bad).toBe(0);
    expect(r.next).toBe(3000);
    expect(r.fa.counters.lost + r.fa.counters.duplicated + r.fa.counters.reordered).toBeGreaterThan(100);
    expect(r.a.counters.retransmits).toBeGreaterThan(0);
  });

  it('gets through heavy loss (5% of bytes) in small frames', () => {
    const r = run(2000, () => 8, { loss: 0.05 }, { maxFrame: 32, window: 4 });
    expect(r.bad).toBe(0);
    expect(r.next).toBe(2000);
  });

  it('drops garbage between frames and reassembles nothing from it', () => {
    const clock = new VirtualClock();
    const [ta, tb] = memoryPair({ clock, latencyMs: 1 });
    const a = new Link(ta, { crc32, clock, random32: () => 1 });
    const b = new Link(tb, { crc32, clock, random32: () => 2 });
    const got: Uint8Array[] = [];
    b.onMessage((m) => got.push(m));
    clock.run(() => a.isUp && b.isUp, 1000);
    const noise = seededRandom(9);
    for (let k = 0; k < 200; k++) {
      a.send(event(k, 10));
      const junk = new Uint8Array(1 + Math.floor(noise() * 300));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(noise() * 256);
      ta.write(junk);
      clock.advance(5);
    }
    clock.run(() => got.length === 200, clock.now() + 100000);
    expect(got.every((m, i) => check(m, i, 10))).toBe(true);
    expect(b.counters.messages_received).toBe(200);
  });
});
