// `npm run bench:codec`: the codecs and the wire layer on a repeating trace.
// - µs to encode and decode one EVENT batch and one VERDICT batch, with cbor-x (host) and the
//   portable codec (engine), and the raw codec cost for the same CBOR value;
// - wire bytes per event: EVENT and VERDICT messages sized to fill 256-byte frames, plus the frame
//   overhead (header, CRC, COBS, delimiter, a 1-2 byte record length), acks not counted.
import { existsSync, readFileSync } from 'node:fs';
import { parseTraceLine } from '../host/sources/trace.js';
import { Codec, createPortableCodec } from '../protocol/cbor.js';
import { CRC_LEN, HEADER_LEN, wireSize } from '../protocol/frame.js';
import { FileEvent, MSG, Verdict } from '../protocol/messages.js';
import { createCborxCodec } from '../protocol/node/cborx.js';
import { randomTrace, randomVerdicts, rng } from '../protocol/node/random.js';
import { WireDecoder, WireEncoder } from '../protocol/wire.js';

const MAX_FRAME = 256;
const RECORD_LEN = 2;
const MAX_PAYLOAD = MAX_FRAME - HEADER_LEN - CRC_LEN - RECORD_LEN;
const SLOTS = 256;

function perCall(fn: () => void, minMs = 300): number {
  // Warm up long enough for the JIT to settle (the first thousands of calls run several times slower).
  const w0 = performance.now();
  while (performance.now() - w0 < 200) for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n;
}

/** Wire bytes of one message: a record in DATA frames, split across frames when it is longer than one. */
function frameBytes(msgLen: number): number {
  const per = MAX_FRAME - HEADER_LEN - CRC_LEN;
  const total = msgLen + RECORD_LEN;
  const full = Math.floor(total / per);
  const rem = total - full * per;
  return full * wireSize(MAX_FRAME) + (rem > 0 ? wireSize(rem + HEADER_LEN + CRC_LEN) : 0);
}

const portable = createPortableCodec();
const cborx = createCborxCodec();

/** Wire bytes per event for a trace, host → engine and back. */
function bytesPerEvent(label: string, trace: FileEvent[]): void {
  const enc = new WireEncoder(cborx, SLOTS);
  const dec = new WireDecoder(portable, SLOTS);
  const vEnc = new WireEncoder(portable, SLOTS);
  let i = 0;
  let eventBytes = 0;
  let verdictBytes = 0;
  let wire = 0;
  let messages = 0;
  while (i < trace.length) {
    let out: { bytes: Uint8Array; count: number };
    try {
      out = enc.encodeEvents(trace.slice(i, i + 200), MAX_PAYLOAD);
    } catch {
      // One event with a large new file (a signature xattr): alone in a message spanning frames.
      out = enc.encodeEvents(trace.slice(i, i + 1), 4096);
    }
    const m = dec.decode(out.bytes);
    if (!m || m.type !== MSG.EVENT) throw new Error('decode');
    const verdicts: Verdict[] = m.events.map((e) => ({ id: e.id, code: 0x0e, statuses: [], audit: [] }));
    const v = vEnc.encode({ type: MSG.VERDICT, verdicts });
    eventBytes += out.bytes.length;
    verdictBytes += v.length;
    wire += frameBytes(out.bytes.length) + frameBytes(v.length);
    messages++;
    i += out.count;
  }
  const n = trace.length;
  console.log(`${label}: ${n} events, ${SLOTS} intern slots, ${MAX_FRAME}-byte frames`);
  console.log(`  EVENT   ${(eventBytes / n).toFixed(2)} bytes/event (CBOR), ${(n / messages).toFixed(1)} events/message`);
  console.log(`  VERDICT ${(verdictBytes / n).toFixed(2)} bytes/event (CBOR)`);
  console.log(`  on the wire, both directions, framed: ${(wire / n).toFixed(2)} bytes/event (goal ≤ 16; acks not counted)`);
}

// The sample trace that ships with the simulator (`imans sim`), if present.
const SAMPLE = new URL('../host/traces/sample.jsonl', import.meta.url);
if (existsSync(SAMPLE)) {
  const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const sample = lines.map((l, i) => parseTraceLine(l, 'sample.jsonl', i + 1));
  bytesPerEvent('sample trace (host/traces/sample.jsonl)', sample.map((e, i) => ({ ...e, id: 1 + i })));
}
// Most files repeat (the working set fits the table), then a working set larger than the table.
const trace = randomTrace(rng(2024), 20000, 1, 200, 30);
bytesPerEvent('random repeating trace (200 file versions, 30 processes)', trace);
bytesPerEvent('random thrashing trace (2000 file versions, 100 processes)', randomTrace(rng(2024), 20000, 1, 2000, 100));

// Time per batch: a steady-state EVENT batch of references (the common case) and one with inserts.
function batchOf(events: FileEvent[]): FileEvent[] {
  return events.map((e, k) => ({ ...e, id: 1 + k }));
}
const steady = batchOf(trace.slice(10000, 10040));
const cold = batchOf(trace.slice(0, 8));
const verdicts = randomVerdicts(rng(5), 40, 1).map((v, k) => (k % 10 === 0 ? v : { ...v, statuses: [], audit: [] }));

function wireTimes(name: string, host: Codec, engine: Codec): void {
  const warm = new WireEncoder(host, SLOTS);
  const warmDec = new WireDecoder(engine, SLOTS);
  warmDec.decode(warm.encode({ type: MSG.EVENT, events: steady }));
  const refsBytes = warm.encode({ type: MSG.EVENT, events: steady });
  const enc = perCall(() => warm.encode({ type: MSG.EVENT, events: steady }));
  const decT = perCall(() => warmDec.decode(refsBytes));
  let coldBytes: Uint8Array = new Uint8Array(0);
  const coldEnc = perCall(() => {
    const e = new WireEncoder(host, SLOTS);
    coldBytes = e.encode({ type: MSG.EVENT, events: cold });
  });
  const coldDec = perCall(() => new WireDecoder(engine, SLOTS).decode(coldBytes));
  const vb = new WireEncoder(engine, 0).encode({ type: MSG.VERDICT, verdicts });
  const vEnc = perCall(() => new WireEncoder(engine, 0).encode({ type: MSG.VERDICT, verdicts }));
  const vDec = perCall(() => new WireDecoder(host, 0).decode(vb));
  console.log(`${name}`);
  console.log(`  EVENT 40 refs (${refsBytes.length} B): encode ${enc.toFixed(1)} µs (${(enc / 40).toFixed(2)}/event), decode ${decT.toFixed(1)} µs (${(decT / 40).toFixed(2)}/event)`);
  console.log(`  EVENT 8 with inserts (${coldBytes.length} B): encode ${coldEnc.toFixed(1)} µs, decode ${coldDec.toFixed(1)} µs`);
  console.log(`  VERDICT 40, 4 detailed (${vb.length} B): encode ${vEnc.toFixed(1)} µs, decode ${vDec.toFixed(1)} µs`);
}

wireTimes('wire, host cbor-x → engine portable (the deployment)', cborx, portable);
wireTimes('wire, portable both ends', portable, portable);
wireTimes('wire, cbor-x both ends', cborx, cborx);

// The codecs alone on one CBOR value: the EVENT batch with inserts, as arrays.
const value = portable.decode(new WireEncoder(portable, SLOTS).encode({ type: MSG.EVENT, events: cold }));
const bytes = portable.encode(value);
for (const [name, c] of [
  ['portable', portable],
  ['cbor-x', cborx],
] as [string, Codec][]) {
  console.log(`codec ${name} on a ${bytes.length}-byte value: encode ${perCall(() => c.encode(value)).toFixed(1)} µs, decode ${perCall(() => c.decode(bytes)).toFixed(1)} µs`);
}
