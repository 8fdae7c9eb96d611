import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { crc32 as zcrc } from 'node:zlib';
import { Link, sessionTag, type LinkOptions, type ResetInfo } from './link.js';
import { encodeFrame, FRAME, TYPE_MASK } from './frame.js';
import { cobsDecode } from './cobs.js';
import type { Transport } from './transport.js';
import { memoryPair } from './node/transports/memory.js';
import { VirtualClock } from './node/transports/virtual-clock.js';
import { seededRandom } from './node/transports/faulty.js';

const crc32 = (b: Uint8Array) => zcrc(b);

/** Passes writes through while `on`; records the types of the frames written. */
class Tap implements Transport {
  on = true;
  /** Drop this many of the next DATA frames. */
  dropData = 0;
  types: number[] = [];
  constructor(private readonly inner: Transport) {}
  write(bytes: Uint8Array): void {
    const keep: number[] = [];
    let s = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== 0) continue;
      const type = i > s ? cobsDecode(bytes.subarray(s, i))![0] & TYPE_MASK : -1;
      if (type >= 0) this.types.push(type);
      if (type === FRAME.DATA && this.dropData > 0) this.dropData--;
      else for (let k = s; k <= i; k++) keep.push(bytes[k]);
      s = i + 1;
    }
    if (this.on && keep.length) this.inner.write(new Uint8Array(keep));
  }
  onData(cb: (chunk: Uint8Array) => void): void {
    this.inner.onData(cb);
  }
  close(): void {
    /* a crashed process does not close the line */
  }
}

function msg(i: number, len = 4): Uint8Array {
  const m = new Uint8Array(Math.max(4, len));
  m[0] = i & 255;
  m[1] = (i >>> 8) & 255;
  m[2] = (i >>> 16) & 255;
  m[3] = (i >>> 24) & 255;
  for (let k = 4; k < m.length; k++) m[k] = (i * 31 + k) & 255;
  return m;
}
const idx = (m: Uint8Array) => (m[0] | (m[1] << 8) | (m[2] << 16) | (m[3] << 24)) >>> 0;

function setup(optsA: Partial<LinkOptions> = {}, optsB: Partial<LinkOptions> = {}, latencyMs = 1) {
  const clock = new VirtualClock();
  const [ta, tb] = memoryPair({ clock, latencyMs });
  const tapA = new Tap(ta);
  const tapB = new Tap(tb);
  let n = 1;
  const base = { crc32, clock, random32: () => 0x1000 * n++ };
  const a = new Link(tapA, { ...base, ...optsA });
  const b = new Link(tapB, { ...base, ...optsB });
  const gotA: Uint8Array[] = [];
  const gotB: Uint8Array[] = [];
  a.onMessage((m) => gotA.push(m));
  b.onMessage((m) => gotB.push(m));
  return { clock, ta, tb, tapA, tapB, a, b, gotA, gotB, base };
}

describe('link', () => {
  it('comes up with the smaller of both limits and delivers in order', () => {
    const s = setup({ maxFrame: 512, window: 8, maxMessage: 9000 }, { maxFrame: 128, window: 3, maxMessage: 5000 });
    let ups = 0;
    s.a.onUp(() => ups++);
    expect(s.clock.run(() => s.a.isUp && s.b.isUp, 1000)).toBe(true);
    expect(ups).toBe(1);
    expect(s.a.params).toEqual({ maxFrame: 128, window: 3, maxMessage: 5000 });
    expect(s.b.params).toEqual(s.a.params);
    for (let i = 0; i < 50; i++) s.a.send(msg(i, i));
    s.clock.run(() => s.gotB.length === 50, 5000);
    expect(s.gotB.map(idx)).toEqual([...Array(50).keys()]);
    expect(() => s.a.send(new Uint8Array(5001))).toThrow(/limit 5000/);
  });

  it('packs small messages sent together into few frames and splits large ones', () => {
    const s = setup({ maxFrame: 256 }, { maxFrame: 256 });
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    for (let i = 0; i < 200; i++) s.a.send(msg(i, 10));
    const big = msg(999, 4000);
    s.a.send(big);
    s.a.send(msg(1000, 0));
    s.clock.run(() => s.gotB.length === 202, 10000);
    expect(s.gotB.slice(0, 200).map(idx)).toEqual([...Array(200).keys()]);
    expect(s.gotB[200]).toEqual(big);
    expect(idx(s.gotB[201])).toBe(1000);
    // 200 x 11 record bytes + 4002: about 6,200 bytes in frames of 249 payload bytes.
    expect(s.a.counters.data_frames_sent).toBeLessThanOrEqual(27);
    expect(s.a.counters.retransmits).toBe(0);
  });

  it('never has more than the window in flight and acks after a delay when there is no reply', () => {
    const s = setup({ window: 2, ackDelayMs: 5 }, { window: 2, ackDelayMs: 5 }, 10);
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    s.tapA.types = [];
    s.tapB.types = [];
    for (let i = 0; i < 40; i++) s.a.send(msg(i, 200));
    s.clock.advance(1); // the first burst goes out
    expect(s.tapA.types.filter((t) => t === FRAME.DATA).length).toBe(2);
    s.clock.run(() => s.gotB.length === 40, 10000);
    expect(s.a.counters.retransmits).toBe(0);
    // One message, no reply: B acks alone, after its delay.
    s.tapB.types = [];
    const t0 = s.clock.now();
    s.a.send(msg(41));
    s.clock.run(() => s.tapB.types.length > 0, t0 + 100);
    expect(s.tapB.types).toEqual([FRAME.ACK]);
    expect(s.clock.now() - t0).toBeGreaterThanOrEqual(5);
  });

  it('piggybacks the ack on a reply', () => {
    const s = setup({ ackDelayMs: 20 }, { ackDelayMs: 20 });
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    s.b.onMessage((m) => s.b.send(m));
    const acksBefore = s.b.counters.acks_sent;
    for (let i = 0; i < 5; i++) {
      s.a.send(msg(i));
      s.clock.run(() => s.gotA.length === i + 1, s.clock.now() + 10);
    }
    expect(s.gotA.map(idx)).toEqual([0, 1, 2, 3, 4]);
    expect(s.b.counters.acks_sent).toBe(acksBefore);
  });

  it('applies backpressure without dropping', () => {
    const s = setup({ highWater: 1000 }, {});
    let drains = 0;
    s.a.onDrain(() => drains++);
    let refused = 0;
    for (let i = 0; i < 300; i++) if (!s.a.send(msg(i, 20))) refused++;
    expect(refused).toBeGreaterThan(200);
    expect(s.a.queued).toBe(6000);
    s.clock.run(() => s.gotB.length === 300 && s.a.queued === 0, 10000);
    expect(drains).toBe(1);
    expect(s.a.queued).toBe(0);
    expect(s.gotB.map(idx)).toEqual([...Array(300).keys()]);
  });

  it('retransmits after a timeout when a frame is lost, and answers a NACK at once', () => {
    const s = setup({ rtoMs: 100 }, {});
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    s.tapA.on = false;
    s.a.send(msg(1));
    s.clock.advance(2);
    s.tapA.on = true;
    s.clock.run(() => s.gotB.length === 1, 1000);
    expect(s.a.counters.timeouts).toBe(1);
    // Lose the first frame of a burst: the next one reveals the gap, B NACKs, A resends at once.
    const before = s.a.counters.timeouts;
    s.tapA.dropData = 1;
    s.a.send(msg(2, 900));
    s.clock.run(() => s.gotB.length === 2, s.clock.now() + 1000);
    expect(s.gotB.map(idx)).toEqual([1, 2]);
    expect(s.b.counters.out_of_order).toBeGreaterThanOrEqual(1);
    expect(s.b.counters.nacks_sent).toBe(1);
    expect(s.a.counters.nacks_received).toBe(1);
    expect(s.a.counters.timeouts).toBe(before);
  });

  it('declares the peer down after silence and up again when it is heard', () => {
    const s = setup({ keepaliveMs: 100, deadMs: 350 }, { keepaliveMs: 100, deadMs: 350 });
    const events: string[] = [];
    s.a.onUp(() => events.push('up'));
    s.a.onDown(() => events.push('down'));
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    // Idle, both keep the link alive with keep-alive ACKs.
    s.clock.advance(2000);
    expect(events).toEqual(['up']);
    expect(s.b.counters.acks_sent).toBeGreaterThanOrEqual(15);
    s.tapB.on = false;
    s.clock.advance(400);
    expect(events).toEqual(['up', 'down']);
    expect(s.a.isUp).toBe(false);
    s.a.send(msg(7));
    s.tapB.on = true;
    s.clock.run(() => s.gotB.length === 1 && s.a.isUp, s.clock.now() + 5000);
    expect(events).toEqual(['up', 'down', 'up']);
    expect(s.a.counters.resets + s.b.counters.resets).toBe(0);
  });

  it('comes up when one side starts long after the other', () => {
    const clock = new VirtualClock();
    const [ta, tb] = memoryPair({ clock, latencyMs: 1 });
    const a = new Link(ta, { crc32, clock, random32: () => 5, maxRtoMs: 500 });
    a.send(msg(1));
    clock.advance(10000);
    expect(a.isUp).toBe(false);
    const b = new Link(tb, { crc32, clock, random32: () => 6 });
    const got: Uint8Array[] = [];
    b.onMessage((m) => got.push(m));
    expect(clock.run(() => got.length === 1, clock.now() + 1000)).toBe(true);
    expect(a.counters.resets + b.counters.resets).toBe(0);
  });

  it('keeps working when the message handler throws', () => {
    const s = setup();
    let n = 0;
    s.b.onMessage(() => {
      n++;
      throw new Error('application bug');
    });
    for (let i = 0; i < 10; i++) s.a.send(msg(i));
    s.clock.run(() => n === 10 && s.a.queued === 0, 5000);
    expect(s.b.counters.handler_errors).toBe(10);
    expect(s.a.queued).toBe(0);
  });

  it('resets the session when the peer restarts and hands back what was not acknowledged', () => {
    const s = setup({ window: 4 }, {});
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    const resets: ResetInfo[] = [];
    s.a.onReset((info) => {
      resets.push(info);
      for (const m of info.pending) s.a.send(m);
    });
    const delivered: number[] = [];
    s.b.onMessage((m) => delivered.push(idx(m)));
    for (let i = 0; i < 2000; i++) s.a.send(msg(i, 30));
    s.clock.run(() => delivered.length >= 700, 100000);
    // B crashes: its link object is abandoned (timers and all) and a new one starts on the same line.
    const oldB = s.b;
    oldB.onMessage(() => {});
    const cut = delivered.length;
    (oldB as unknown as { state: number }).state = 2;
    const nb = new Link(s.tapB, { ...s.base });
    const after: number[] = [];
    nb.onMessage((m) => after.push(idx(m)));
    s.clock.run(() => after.length > 0 && after[after.length - 1] === 1999, s.clock.now() + 100000);
    expect(resets.length).toBe(1);
    expect(s.a.counters.resets).toBe(1);
    // The guarantee: the new session delivers, in order and once each, every message that was
    // not acknowledged in the old one; those the old session may have delivered come first.
    const firstNew = after[0];
    expect(firstNew).toBeLessThanOrEqual(cut);
    expect(cut - firstNew).toBeLessThanOrEqual(resets[0].maybeDelivered);
    expect(after).toEqual([...Array(2000 - firstNew).keys()].map((k) => k + firstNew));
    expect(delivered.slice(0, cut)).toEqual([...Array(cut).keys()]);
  });

  it('ignores a late RST from an earlier life of the peer', () => {
    const s = setup();
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    // Record B's first RST, restart B, then replay the old RST to A.
    const sent: Uint8Array[] = [];
    const clock = new VirtualClock();
    const [tx] = memoryPair({ clock });
    const rec = { write: (b: Uint8Array) => sent.push(b.slice()), onData: () => {}, close: () => {} };
    const ghost = new Link(rec as Transport, { crc32, clock, random32: () => 0x2000 });
    void tx;
    void ghost;
    clock.advance(1);
    expect(sent.length).toBe(1);
    (s.b as unknown as { state: number }).state = 2;
    const nb = new Link(s.tapB, { ...s.base, random32: () => 0x3000 });
    s.clock.run(() => nb.isUp, s.clock.now() + 1000);
    expect(s.a.counters.resets).toBe(1);
    // 0x2000 was B's first nonce in setup (random32 counts 0x1000, 0x2000): that RST is stale now.
    s.tb.write(sent[0]);
    s.clock.advance(50);
    expect(s.a.counters.resets).toBe(1);
    expect(s.a.counters.stale).toBeGreaterThanOrEqual(1);
    const got: number[] = [];
    nb.onMessage((m) => got.push(idx(m)));
    s.a.send(msg(5));
    s.clock.run(() => got.length === 1, s.clock.now() + 1000);
    expect(got).toEqual([5]);
  });
});

describe('link conformance', () => {
  it('produces the example session of SPEC.md §2.10 byte for byte', () => {
    const clock = new VirtualClock();
    const [ta, tb] = memoryPair({ clock, latencyMs: 1 });
    const wire: string[] = [];
    const log = (who: string, t: Transport): Transport => ({
      write: (b) => {
        wire.push(who + ' ' + Buffer.from(b).toString('hex'));
        t.write(b);
      },
      onData: (cb) => t.onData(cb),
      close: () => t.close(),
    });
    const b = new Link(log('B→A', tb), { crc32, clock, random32: () => 0x12345678, window: 8, maxMessage: 2048 });
    clock.advance(100); // B alone: its RST goes nowhere (A is not listening yet)
    const a = new Link(log('A→B', ta), { crc32, clock, random32: () => 0x0badcafe, window: 4, maxMessage: 4096 });
    b.onMessage(() => b.send(new TextEncoder().encode('ok')));
    clock.run(() => a.isUp && b.isUp, 10000);
    a.send(new TextEncoder().encode('hello'));
    clock.advance(20);
    expect(a.params).toEqual({ maxFrame: 256, window: 4, maxMessage: 2048 });
    const spec = readFileSync(new URL('./SPEC.md', import.meta.url), 'utf8');
    const section = spec.slice(spec.indexOf('### 2.10'), spec.indexOf('## 3.'));
    const fromSpec = [...section.matchAll(/^(A→B|B→A) {2}((?:[0-9a-f]{2} )+)/gm)].map((m) => m[1] + ' ' + m[2].replace(/ /g, ''));
    expect(wire.slice(1)).toEqual(fromSpec);
  });
});

describe('link input checks', () => {
  it('counts and drops frames that pass the CRC but break the layout, and keeps going', () => {
    const s = setup();
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    // setup() gives A nonce 0x1000 and B 0x2000. A is kept quiet while frames are forged in its name.
    const tag = sessionTag(0x1000, 0x2000);
    const inject = (type: number, seq: number, payload: number[], t = tag) => s.ta.write(encodeFrame(type, 0, seq, 0, new Uint8Array(payload), t, crc32));
    // Both started at once, so each got an RST_ACK after it was already up: let those land first.
    s.clock.advance(10);
    const stale0 = s.b.counters.stale;
    inject(FRAME.DATA, 0, [5, 1, 2]); // record runs past the payload
    inject(FRAME.DATA, 1, [0x85]); // two-byte length cut short
    inject(FRAME.RST, 0, [1, 2, 3], 0); // RST too short
    inject(FRAME.DATA, 2, [1, 9], 0); // DATA without the session tag
    inject(FRAME.RST, 0, [1, 2, 3]); // RST with the session tag
    inject(6, 0, []); // reserved type
    s.clock.advance(10);
    expect(s.b.counters.malformed).toBe(3);
    expect(s.b.counters.stale - stale0).toBe(2);
    expect(s.b.counters.unknown).toBe(1);
    expect(s.b.counters.messages_received).toBe(0);
    expect(s.b.counters.resets).toBe(0);
    // A well-formed frame with the next sequence number (2: the malformed ones were consumed,
    // since resending them would not repair them) is delivered.
    inject(FRAME.DATA, 2, [2, 7, 7]);
    s.clock.advance(10);
    expect(s.gotB.map((m) => Array.from(m))).toEqual([[7, 7]]);
  });

  it('fuzz: random frames in the session never break the receiver', () => {
    const s = setup({ maxMessage: 300 }, { maxMessage: 300 });
    s.clock.run(() => s.a.isUp && s.b.isUp, 1000);
    const tag = sessionTag(0x1000, 0x2000);
    const r = seededRandom(3);
    for (let i = 0; i < 5000; i++) {
      const payload = new Uint8Array(Math.floor(r() * 240));
      for (let k = 0; k < payload.length; k++) payload[k] = r() < 0.3 ? Math.floor(r() * 8) : Math.floor(r() * 256);
      const type = Math.floor(r() * 8);
      const frame = encodeFrame(type, r() < 0.5 ? 8 : 0, Math.floor(r() * 256), Math.floor(r() * 256), payload, r() < 0.9 ? tag : 0, crc32);
      s.ta.write(frame);
      if (i % 50 === 0) s.clock.advance(1);
    }
    s.clock.advance(100);
    expect(s.b.counters.internal_errors).toBe(0);
    // A random RST can start a new session, after which the old tag fails the CRC check;
    // A's own acks and hellos arrive too.
    expect(s.b.counters.frames_received + s.b.counters.crc_errors).toBeGreaterThanOrEqual(5000);
    for (const m of s.gotB) expect(m.length).toBeLessThanOrEqual(300);
  });
});
