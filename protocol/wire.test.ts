// The wire layer: every message type through both codecs in both directions, the intern table
// kept in step (inserts, refs, eviction, reset, all-or-nothing batches), field validation, the
// must-understand rules, and a fuzz of the decoder.
import { describe, expect, it } from 'vitest';
import { toHex } from './bytes.js';
import { Codec, createPortableCodec, isProtocolError, ProtocolError } from './cbor.js';
import { CONTROL_OP, ERR, FileEvent, Message, MSG, QUERY_OP } from './messages.js';
import { createCborxCodec } from './node/cborx.js';
import { randomFileInfo, randomMessage, randomProcInfo, randomTrace, randomVerdicts, rng } from './node/random.js';
import { fileInfoFromWire, fileInfoToWire, WIRE_ERROR, WireDecoder, WireEncoder } from './wire.js';

const portable = createPortableCodec();
const cborx = createCborxCodec();

function errorOf(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (e) {
    if (isProtocolError(e)) return e;
    throw e;
  }
  throw new Error('expected a ProtocolError');
}

/** A host (cbor-x) and an engine (portable) end, with tables of `slots`. */
function pair(slots: number, hostCodec: Codec = cborx, engineCodec: Codec = portable) {
  return {
    hostEnc: new WireEncoder(hostCodec, slots),
    hostDec: new WireDecoder(hostCodec, slots),
    engEnc: new WireEncoder(engineCodec, slots),
    engDec: new WireDecoder(engineCodec, slots),
  };
}

function ev(id: number, procSeed: number, fileSeed: number): FileEvent {
  return { id, func: 1, mask: 4, flags: 0, proc: randomProcInfo(rng(procSeed)), file: randomFileInfo(rng(fileSeed)) };
}

describe('messages round-trip between the codecs', () => {
  it('every type but EVENT, host→engine and engine→host, with identical bytes', () => {
    const r = rng(1);
    const p = pair(0);
    const seen = new Set<number>();
    for (let i = 0; i < 1500; i++) {
      const m = randomMessage(r);
      seen.add(m.type);
      const a = p.hostEnc.encode(m);
      const b = p.engEnc.encode(m);
      expect(toHex(a)).toBe(toHex(b));
      expect(p.engDec.decode(a)).toEqual(m);
      expect(p.hostDec.decode(b)).toEqual(m);
    }
    expect(seen.size).toBe(11 - 1); // every type but EVENT
    expect(cborx.stats.fallbacks).toBe(0);
  });

  it('EVENT batches of a repeating trace: equal events on the engine, identical bytes from both codecs', () => {
    const r = rng(2);
    const trace = randomTrace(r, 1000, 1);
    const a = pair(64);
    const b = pair(64, portable, cborx);
    let i = 0;
    while (i < trace.length) {
      const n = 1 + r.int(60);
      const batch = trace.slice(i, i + n);
      const x = a.hostEnc.encodeEvents(batch, 4096);
      const y = b.hostEnc.encodeEvents(batch, 4096);
      expect(toHex(x.bytes)).toBe(toHex(y.bytes));
      expect(x.count).toBe(y.count);
      expect(x.count).toBeGreaterThan(0);
      expect(x.bytes.length).toBeLessThanOrEqual(4096);
      expect(a.engDec.decode(x.bytes)).toEqual({ type: MSG.EVENT, events: batch.slice(0, x.count) });
      expect(b.engDec.decode(y.bytes)).toEqual({ type: MSG.EVENT, events: batch.slice(0, y.count) });
      i += x.count;
    }
    expect(cborx.stats.fallbacks).toBe(0);
  });

  it('verdict batches: compact codes, and detail only when notable', () => {
    const p = pair(0);
    const compact = p.engEnc.encode({ type: MSG.VERDICT, verdicts: [{ id: 7, code: 0x0e, statuses: [], audit: [] }, { id: 8, code: 0x0a, statuses: [], audit: [] }] });
    expect(toHex(compact)).toBe('8303078' + '20e0a');
    const r = rng(3);
    const vs = randomVerdicts(r, 40, 1000);
    expect(p.hostDec.decode(p.engEnc.encode({ type: MSG.VERDICT, verdicts: vs }))).toEqual({ type: MSG.VERDICT, verdicts: vs });
    expect(errorOf(() => p.engEnc.encode({ type: MSG.VERDICT, verdicts: [vs[0], vs[2]] })).field).toBe('verdicts[1].id');
  });
});

describe('intern table', () => {
  it('sends a file and a process once, then refers to their slots', () => {
    const p = pair(16);
    const e1 = ev(1, 10, 20);
    const first = p.hostEnc.encodeEvents([e1], 4096);
    expect(first.bytes.length).toBeGreaterThan(40);
    const again = { ...ev(2, 10, 20), id: 2 };
    const second = p.hostEnc.encodeEvents([again], 4096);
    // [2, 2, [], [[0, 1, 1, 4]]]: procRef 0, fileRef 1, FILE_CHECK, MAY_READ.
    expect(toHex(second.bytes)).toBe('84020280' + '81' + '84' + '00010104');
    expect(p.engDec.decode(first.bytes)).toEqual({ type: MSG.EVENT, events: [e1] });
    expect(p.engDec.decode(second.bytes)).toEqual({ type: MSG.EVENT, events: [again] });
  });

  it('compares every field: a new version under the same path and inode, or an object changed in place, is inserted again', () => {
    const p = pair(16);
    const e1 = ev(1, 1, 2);
    p.engDec.decode(p.hostEnc.encodeEvents([e1], 4096).bytes);
    const changed = { ...ev(2, 1, 2), file: { ...e1.file, xattr: Uint8Array.of(3, 2, 1) } };
    const b = p.hostEnc.encodeEvents([changed], 4096).bytes;
    expect((portable.decode(b) as unknown[][])[2].length).toBe(1);
    expect(p.engDec.decode(b)).toEqual({ type: MSG.EVENT, events: [changed] });
    // The caller reuses its object and changes a digest byte in place: not the value the engine holds.
    const reused = { ...ev(3, 1, 2), file: changed.file };
    (changed.file.digests[0] ?? { digest: new Uint8Array(1) }).digest[0] ^= 1;
    changed.file.ino += changed.file.digests.length === 0 ? 1 : 0;
    const c = p.hostEnc.encodeEvents([reused], 4096).bytes;
    expect((portable.decode(c) as unknown[][])[2].length).toBe(1);
    expect(p.engDec.decode(c)).toEqual({ type: MSG.EVENT, events: [reused] });
    // Unchanged since: references only.
    const d = p.hostEnc.encodeEvents([{ ...reused, id: 4 }], 4096).bytes;
    expect((portable.decode(d) as unknown[][])[2].length).toBe(0);
  });

  it('costs at most 7 bytes per repeated event, and about 1 per compact verdict', () => {
    const p = pair(256);
    const trace = randomTrace(rng(8), 4000, 1, 100, 20);
    let at = 0;
    while (at < 2000) at += p.hostEnc.encodeEvents(trace.slice(at, at + 200), 4096).count;
    // Every value of the pools has been seen by now: batches are references only.
    const batch = trace.slice(at, at + 40);
    const out = p.hostEnc.encodeEvents(batch, 4096);
    expect(out.count).toBe(40);
    expect(out.bytes.length / 40).toBeLessThanOrEqual(7);
    const v = p.engEnc.encode({ type: MSG.VERDICT, verdicts: batch.map((e) => ({ id: e.id, code: 0x0e, statuses: [], audit: [] })) });
    expect(v.length / 40).toBeLessThanOrEqual(1.2);
  });

  it('shares one object per slot on the engine', () => {
    const p = pair(16);
    const m = p.engDec.decode(p.hostEnc.encodeEvents([ev(1, 1, 2), ev(2, 1, 2)], 4096).bytes) as { events: FileEvent[] };
    expect(m.events[0].file).toBe(m.events[1].file);
    expect(m.events[0].proc).toBe(m.events[1].proc);
  });

  it('evicts the least recently used slot, never one the batch refers to, and stays in step', () => {
    const p = pair(4);
    const r = rng(4);
    // 3 processes and 6 files over 4 slots: constant eviction.
    const procs = [1, 2, 3].map((s) => randomProcInfo(rng(s)));
    const files = [4, 5, 6, 7, 8, 9].map((s) => randomFileInfo(rng(s)));
    let id = 1;
    for (let k = 0; k < 200; k++) {
      const batch: FileEvent[] = [];
      for (let j = 1 + r.int(3); j > 0; j--) batch.push({ id: id++, func: 1, mask: 4, flags: 0, proc: r.pick(procs), file: r.pick(files) });
      const out = p.hostEnc.encodeEvents(batch, 4096);
      expect(p.engDec.decode(out.bytes)).toEqual({ type: MSG.EVENT, events: batch.slice(0, out.count) });
      id = batch[0].id + out.count;
    }
  });

  it('splits a batch that needs more distinct values than slots', () => {
    const p = pair(4);
    const batch = [ev(1, 1, 11), ev(2, 2, 12), ev(3, 3, 13)];
    const a = p.hostEnc.encodeEvents(batch, 4096);
    expect(a.count).toBe(2);
    const b = p.hostEnc.encodeEvents(batch.slice(2), 4096);
    expect(b.count).toBe(1);
    expect(p.engDec.decode(a.bytes)).toEqual({ type: MSG.EVENT, events: batch.slice(0, 2) });
    expect(p.engDec.decode(b.bytes)).toEqual({ type: MSG.EVENT, events: batch.slice(2) });
    expect(errorOf(() => p.hostEnc.encode({ type: MSG.EVENT, events: batch.map((e, i) => ({ ...e, id: 10 + i })) })).code).toBe(WIRE_ERROR.CAPACITY);
  });

  it('ends a batch before a malformed event or a gap in ids, and reports it on the next call', () => {
    const p = pair(16);
    const bad = { ...ev(3, 3, 13), func: -1 };
    const batch = [ev(1, 1, 11), ev(2, 2, 12), bad, ev(4, 4, 14)];
    const a = p.hostEnc.encodeEvents(batch, 4096);
    expect(a.count).toBe(2);
    expect(p.engDec.decode(a.bytes)).toEqual({ type: MSG.EVENT, events: batch.slice(0, 2) });
    expect(errorOf(() => p.hostEnc.encodeEvents(batch.slice(2), 4096)).field).toBe('events[0].func');
    const gap = [ev(4, 4, 14), ev(6, 1, 11)];
    const b = p.hostEnc.encodeEvents(gap, 4096);
    expect(b.count).toBe(1);
    const c = p.hostEnc.encodeEvents(gap.slice(1), 4096);
    expect(p.engDec.decode(b.bytes)).toEqual({ type: MSG.EVENT, events: gap.slice(0, 1) });
    expect(p.engDec.decode(c.bytes)).toEqual({ type: MSG.EVENT, events: gap.slice(1) });
    expect(errorOf(() => p.hostEnc.encode({ type: MSG.EVENT, events: [ev(7, 1, 11), ev(9, 1, 11)] })).field).toBe('events[1].id');
  });

  it('a batch encode() refuses leaves the table as the decoder has it', () => {
    const p = pair(4);
    const batch = [ev(1, 1, 11), ev(2, 2, 12), ev(3, 3, 13)];
    expect(errorOf(() => p.hostEnc.encode({ type: MSG.EVENT, events: batch })).code).toBe(WIRE_ERROR.CAPACITY);
    // The refused bytes never reached the engine: the encoder must insert again, not refer.
    const again = p.hostEnc.encodeEvents([ev(1, 1, 11)], 4096);
    expect(p.engDec.decode(again.bytes)).toEqual({ type: MSG.EVENT, events: [ev(1, 1, 11)] });
  });

  it('splits by size and refuses an event that fits in no message', () => {
    const p = pair(64);
    const batch = [ev(1, 1, 11), ev(2, 2, 12), ev(3, 3, 13)];
    const one = p.hostEnc.encodeEvents(batch, 4096);
    const p2 = pair(64);
    const a = p2.hostEnc.encodeEvents(batch, one.bytes.length - 1);
    expect(a.count).toBeLessThan(3);
    expect(a.bytes.length).toBeLessThan(one.bytes.length);
    const rest = p2.hostEnc.encodeEvents(batch.slice(a.count), 4096);
    expect(p2.engDec.decode(a.bytes)).toEqual({ type: MSG.EVENT, events: batch.slice(0, a.count) });
    expect(p2.engDec.decode(rest.bytes)).toEqual({ type: MSG.EVENT, events: batch.slice(a.count) });
    const e = errorOf(() => pair(64).hostEnc.encodeEvents(batch, 20));
    expect([e.code, e.err]).toEqual([WIRE_ERROR.CAPACITY, ERR.CAPACITY]);
  });

  it('after a reset, a reference to an old slot is UNKNOWN_INTERN, and re-encoding works', () => {
    const p = pair(8);
    p.engDec.decode(p.hostEnc.encodeEvents([ev(1, 1, 2)], 4096).bytes);
    const refsOnly = p.hostEnc.encodeEvents([ev(2, 1, 2)], 4096).bytes;
    p.engDec.reset(8);
    const e = errorOf(() => p.engDec.decode(refsOnly));
    expect([e.code, e.err, e.field]).toEqual([WIRE_ERROR.UNKNOWN_INTERN, ERR.UNKNOWN_INTERN, 'events[0].procRef']);
    p.hostEnc.reset(8);
    expect(p.engDec.decode(p.hostEnc.encodeEvents([ev(2, 1, 2)], 4096).bytes)).toEqual({ type: MSG.EVENT, events: [ev(2, 1, 2)] });
  });

  it('applies a batch all or nothing', () => {
    const p = pair(8);
    const good = p.hostEnc.encodeEvents([ev(1, 1, 2)], 4096).bytes;
    const m = portable.decode(good) as unknown[];
    // The same inserts, plus an event naming an empty slot: the inserts must not stay.
    const bad = portable.encode([2, 1, m[2], [[0, 1, 1, 4], [5, 1, 1, 4]]]);
    const e = errorOf(() => p.engDec.decode(bad));
    expect([e.code, e.field]).toEqual([WIRE_ERROR.UNKNOWN_INTERN, 'events[1].procRef']);
    expect(errorOf(() => p.engDec.decode(portable.encode([2, 1, [], [[0, 1, 1, 4]]]))).code).toBe(WIRE_ERROR.UNKNOWN_INTERN);
    expect(p.engDec.decode(good)).toEqual({ type: MSG.EVENT, events: [ev(1, 1, 2)] });
  });

  it('refuses bad inserts and references of the wrong kind', () => {
    const p = pair(4);
    const f = fileInfoToWire(randomFileInfo(rng(1)));
    const cases: [unknown, string, string][] = [
      [[2, 0, [[4, 0, f]], []], WIRE_ERROR.MALFORMED, 'inserts[0].slot'],
      [[2, 0, [[0, 0, f], [0, 0, f]], []], WIRE_ERROR.MALFORMED, 'inserts[1].slot'],
      [[2, 0, [[0, 7, f]], []], WIRE_ERROR.MALFORMED, 'inserts[0].kind'],
      [[2, 0, [[0, 1, f]], []], WIRE_ERROR.MALFORMED, 'inserts[0].proc.pid'],
      [[2, 0, [[0, 0, f]], [[0, 0, 1, 4]]], WIRE_ERROR.UNKNOWN_INTERN, 'events[0].procRef'],
      [[2, 0, [[0, 0, f]], [['0', 0, 1, 4]]], WIRE_ERROR.MALFORMED, 'events[0].procRef'],
      [[2, 0, [], [[0, 0, 1]]], WIRE_ERROR.MALFORMED, 'events[0]'],
    ];
    for (const [v, code, field] of cases) {
      const e = errorOf(() => p.engDec.decode(portable.encode(v)));
      expect([e.code, e.field]).toEqual([code, field]);
    }
  });
});

describe('validation and forward compatibility', () => {
  const p = pair(0);
  const dec = (v: unknown) => p.engDec.decode(portable.encode(v));

  it('drops ignorable types, refuses unknown must-understand types', () => {
    expect(dec([32, 'anything'])).toBeNull();
    expect(dec([1000])).toBeNull();
    const e = errorOf(() => dec([11, 1]));
    expect([e.code, e.err]).toEqual([WIRE_ERROR.UNSUPPORTED_TYPE, ERR.UNSUPPORTED_TYPE]);
    expect(errorOf(() => dec([31])).code).toBe(WIRE_ERROR.UNSUPPORTED_TYPE);
  });

  it('ignores trailing elements', () => {
    expect(dec([8, 5, 'future', [1]])).toEqual({ type: MSG.PING, token: 5 });
    expect(dec([3, 4, [[2, [[1, true, 1, '', 'x']], [], 9]]])).toEqual({ type: MSG.VERDICT, verdicts: [{ id: 4, code: 2, statuses: [{ ns: 1, measured: true, appraisal: 1, cause: '' }], audit: [] }] });
  });

  it('names the field of a wrong type', () => {
    const cases: [unknown, string][] = [
      [{ a: 1 }, 'message'],
      [[], 'message'],
      [[-1], 'type'],
      [[8], 'message'],
      [[8, -5], 'token'],
      [[7, -2, 1, 'x'], 'req'],
      [[7, 1, 1, new Uint8Array(1)], 'text'],
      [[0, 1, 'board', {}, []], 'profile'],
      [[0, 1, 'node', { maxFrame: 256 }, []], 'limits.maxMessage'],
      [[3, 0, [[1, [[1, 1, 1, '']], []]]], 'verdicts[0].statuses[0].measured'],
      [[3, 0, ['x']], 'verdicts[0]'],
      [[6, 1, 0, 'nonce'], 'nonce'],
      [[4, 1, 1, []], 'args'],
    ];
    for (const [v, field] of cases) {
      const e = errorOf(() => dec(v));
      expect([e.code, e.field, e.err]).toEqual([WIRE_ERROR.MALFORMED, field, ERR.MALFORMED]);
    }
  });

  it('checks CONTROL and QUERY arguments, drops unknown keys, passes unknown ops through', () => {
    expect(dec([4, 9, CONTROL_OP.NS_CREATE, { mntns: 4026531840, future: 'x' }])).toEqual({ type: MSG.CONTROL, req: 9, op: CONTROL_OP.NS_CREATE, args: { mntns: 4026531840 } });
    const e = errorOf(() => dec([4, 9, CONTROL_OP.NS_CREATE, { mntns: 'x' }]));
    expect([e.code, e.err, e.field, e.req]).toEqual([WIRE_ERROR.BAD_ARGUMENT, ERR.BAD_ARGUMENT, 'args.mntns', 9]);
    expect(errorOf(() => dec([4, 9, CONTROL_OP.NS_CREATE, { mntns: 1, fail: 'maybe' }])).field).toBe('args.fail');
    expect(errorOf(() => dec([4, 3, CONTROL_OP.POLICY_LOAD, { ns: 0 }])).field).toBe('args.text');
    expect(errorOf(() => dec([4, 3, CONTROL_OP.REFS_ADD, { ns: 0, digests: [[4]] }])).field).toBe('args.digests[0]');
    expect(dec([4, 2, 99, { any: [1] }])).toEqual({ type: MSG.CONTROL, req: 2, op: 99, args: { any: [1] } });
    const file = randomFileInfo(rng(5));
    const q: Message = { type: MSG.QUERY, req: 4, op: QUERY_OP.APPRAISE, args: { ns: 1, file } };
    const bytes = p.hostEnc.encode(q);
    expect((portable.decode(bytes) as unknown[])[3]).toEqual({ ns: 1, file: fileInfoToWire(file) });
    expect(p.engDec.decode(bytes)).toEqual(q);
    const bad = errorOf(() => dec([5, 4, QUERY_OP.APPRAISE, { ns: 1, file: [1] }]));
    expect([bad.code, bad.field, bad.req]).toEqual([WIRE_ERROR.BAD_ARGUMENT, 'args.file', 4]);
    expect(fileInfoFromWire(fileInfoToWire(file), 'f')).toEqual(file);
  });

  it('validates on the way out too', () => {
    const e = errorOf(() => p.hostEnc.encode({ type: MSG.CONTROL, req: 1, op: CONTROL_OP.NS_DELETE, args: { ns: -1 } }));
    expect([e.code, e.field]).toEqual([WIRE_ERROR.BAD_ARGUMENT, 'args.ns']);
    const bad = { ...ev(1, 1, 1) };
    (bad.file as unknown as Record<string, unknown>).ino = 1.5;
    expect(errorOf(() => pair(4).hostEnc.encodeEvents([bad], 4096)).field).toBe('events[0].file.ino');
    expect(errorOf(() => p.hostEnc.encode({ type: 12 } as unknown as Message)).code).toBe(WIRE_ERROR.UNSUPPORTED_TYPE);
  });
});

describe('fuzz', () => {
  it('the wire decoder throws only typed errors on mutated messages, and both codecs agree', () => {
    const r = rng(6);
    const host = pair(16);
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) seeds.push(host.hostEnc.encode(randomMessage(r)));
    const trace = randomTrace(r, 200, 1, 10, 3);
    for (let i = 0; i < trace.length; i += 10) seeds.push(host.hostEnc.encodeEvents(trace.slice(i, i + 10), 4096).bytes);
    const decs = [new WireDecoder(portable, 16), new WireDecoder(cborx, 16)];
    const outcome = { ok: 0, errors: 0 };
    for (let i = 0; i < 6000; i++) {
      const input = new Uint8Array(r.pick(seeds));
      for (let k = 1 + r.int(3); k > 0; k--) {
        const at = r.int(input.length);
        if (r.chance(0.5)) input[at] ^= 1 << r.int(8);
        else input[at] = r.int(256);
      }
      const res = decs.map((d) => {
        try {
          return { v: d.decode(input) };
        } catch (e) {
          if (!isProtocolError(e)) throw new Error(`case ${i} ${toHex(input)}: untyped ${String(e)}`);
          return { code: e.code, field: e.field, offset: e.offset };
        }
      });
      expect(res[1]).toEqual(res[0]);
      if ('v' in res[0]) outcome.ok++;
      else outcome.errors++;
    }
    expect(outcome.ok).toBeGreaterThan(100);
    expect(outcome.errors).toBeGreaterThan(100);
  });
});
