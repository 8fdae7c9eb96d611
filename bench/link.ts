// Link benchmark (`npm run bench:link [throughput] [rtt] [paced]`): prints figures, asserts nothing.
//  1. events/s through the real serialport stack over a socat pty pair (goal >= 50,000);
//  2. round trip over the pty at low load, p50 and p99 (goal p99 <= 2 ms);
//  3. on a line paced to 115200 baud, the share of line time carrying message bytes (goal >= 90%).
import { crc32 as zcrc } from 'node:zlib';
import { Link, type LinkOptions } from '../protocol/link.js';
import type { Transport } from '../protocol/transport.js';
import { createPtyPair } from '../protocol/node/transports/pty.js';
import { openSerial } from '../protocol/node/transports/serial.js';
import { memoryPair } from '../protocol/node/transports/memory.js';
import { PacedTransport } from '../protocol/node/transports/paced.js';

const crc32 = (b: Uint8Array) => zcrc(b);
const EVENT = 16;

function links(ta: Transport, tb: Transport, opts: Partial<LinkOptions>): Promise<[Link, Link]> {
  const a = new Link(ta, { crc32, ...opts });
  const b = new Link(tb, { crc32, ...opts });
  return new Promise((res) => {
    const check = () => (a.isUp && b.isUp ? res([a, b]) : setTimeout(check, 1));
    check();
  });
}

async function overPty<T>(f: (ta: Transport, tb: Transport) => Promise<T>): Promise<T> {
  const pty = await createPtyPair();
  const ta = await openSerial(pty.a, 115200);
  const tb = await openSerial(pty.b, 115200);
  try {
    return await f(ta, tb);
  } finally {
    ta.close();
    tb.close();
    await pty.close();
  }
}

/** Push events A -> B for `ms`, keeping A's queue full; returns events/s delivered. */
async function throughput(ta: Transport, tb: Transport, opts: Partial<LinkOptions>, ms: number) {
  const [a, b] = await links(ta, tb, opts);
  let delivered = 0;
  b.onMessage(() => delivered++);
  const ev = new Uint8Array(EVENT).fill(7);
  const feed = () => {
    while (a.send(ev));
  };
  a.onDrain(feed);
  feed();
  await new Promise((r) => setTimeout(r, 300));
  const d0 = delivered;
  const t0 = performance.now();
  const c0 = { ...a.counters };
  await new Promise((r) => setTimeout(r, ms));
  const secs = (performance.now() - t0) / 1000;
  const rate = (delivered - d0) / secs;
  const frames = a.counters.data_frames_sent - c0.data_frames_sent;
  const retx = a.counters.retransmits - c0.retransmits;
  const why = `timeouts ${a.counters.timeouts}, nacks ${a.counters.nacks_received}, receiver crc/cobs errors ${b.counters.crc_errors + b.counters.cobs_errors}`;
  a.onDrain(() => {});
  a.close();
  b.close();
  return { rate, frames: frames / secs, retx, why };
}

/** One event at a time, B answers each at once; returns sorted round trips in ms. */
async function roundTrips(ta: Transport, tb: Transport, n: number) {
  const [a, b] = await links(ta, tb, {});
  b.onMessage((m) => b.send(m.subarray(0, 8)));
  const rtts: number[] = [];
  const ev = new Uint8Array(EVENT).fill(3);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((res) => {
      a.onMessage(() => res());
      a.send(ev);
    });
    rtts.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 1));
  }
  a.close();
  b.close();
  return rtts.sort((x, y) => x - y);
}

/** Line share at 115200 baud: message bytes delivered per second over the line's 11,520 bytes/s. */
async function paced(size: number, ms: number, opts: Partial<LinkOptions>) {
  const [ma, mb] = memoryPair();
  const pa = new PacedTransport(ma, { baud: 115200 });
  const pb = new PacedTransport(mb, { baud: 115200 });
  const [a, b] = await links(pa, pb, opts);
  let bytes = 0;
  let events = 0;
  b.onMessage((m) => {
    bytes += m.length;
    events++;
  });
  const ev = new Uint8Array(size).fill(9);
  // Keep a little queued: the line, not the queue, is what is measured.
  const feed = () => {
    while (a.queued < 4096) a.send(ev);
  };
  const timer = setInterval(feed, 5);
  feed();
  await new Promise((r) => setTimeout(r, 500));
  const b0 = bytes;
  const e0 = events;
  const line0 = pa.counters.bytes;
  const data0 = a.counters.data_frames_sent;
  const retx0 = a.counters.retransmits;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const secs = (performance.now() - t0) / 1000;
  clearInterval(timer);
  const capacity = 11520 * secs;
  const res = {
    payloadShare: (bytes - b0) / capacity,
    lineBusy: (pa.counters.bytes - line0) / capacity,
    eventsPerS: (events - e0) / secs,
    frames: a.counters.data_frames_sent - data0,
    retx: a.counters.retransmits - retx0,
  };
  a.close();
  b.close();
  return res;
}

const pct = (x: number) => (100 * x).toFixed(1) + '%';

const parts = process.argv.slice(2);
const want = (p: string) => parts.length === 0 || parts.includes(p);

async function main() {
  console.log(`link benchmark: ${EVENT}-byte events, Node ${process.version}`);
  if (want('throughput')) for (const opts of [
    { maxFrame: 256, window: 8 },
    { maxFrame: 1024, window: 32 },
  ]) {
    const r = await overPty((ta, tb) => throughput(ta, tb, { ...opts, highWater: 256 * 1024 }, 3000));
    console.log(`pty+serialport throughput (maxFrame ${opts.maxFrame}, window ${opts.window}): ${Math.round(r.rate)} events/s, ${Math.round(r.frames)} DATA frames/s, ${r.retx} retransmits (${r.why})   (goal >= 50,000)`);
  }
  if (want('rtt')) {
    const rtts = await overPty((ta, tb) => roundTrips(ta, tb, 2000));
    const q = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(3);
    console.log(`pty+serialport round trip at low load (2000 samples): p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${rtts[rtts.length - 1].toFixed(3)} ms   (goal p99 <= 2 ms)`);
  }
  if (want('paced')) for (const size of [16, 64, 240]) {
    const r = await paced(size, 4000, { maxFrame: 256, window: 4 });
    console.log(
      `115200 baud paced, ${size}-byte messages, maxFrame 256, window 4: message bytes ${pct(r.payloadShare)} of line time (line busy ${pct(r.lineBusy)}), ${Math.round(r.eventsPerS)} messages/s, ${r.retx} retransmits   (goal >= 90%)`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
