// The engine's message handling and namespace tree through its public API (EngineApi.handle):
// HELLO, PING, CONTROL operations with their results and errors, event routing by mntns/userns,
// capacity limits, deleted namespaces keeping their aggregate.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APPRAISAL, CONTROL_OP, ERR, FUNC, Hello, MAY, Message, MSG, PROTOCOL_VERSION, VERDICT } from '../protocol/messages.js';
import { EngineError, fileInfo, Harness, proc } from './engine-harness.js';
import { tempDir } from './engine-keys.js';

const dir = tempDir('imans-ns-');
const file = join(dir, 'data');
writeFileSync(file, 'some data\n');

function errorOf(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an ERROR reply');
}

const HELLO_LIMITS = { maxFrame: 256, maxMessage: 4096, window: 4, internSlots: 128, maxNamespaces: 0, maxRules: 0, maxEntriesInRam: 0 };

describe('engine messages', () => {
  it('HELLO gets HELLO_ACK with profile, limits and algorithms; a wrong version gets ERROR', () => {
    const h = new Harness({ limits: { maxNamespaces: 7, maxRules: 99 } });
    const r = h.send({ type: MSG.HELLO, version: PROTOCOL_VERSION, profile: 'host', limits: HELLO_LIMITS, algorithms: ['sha256'] });
    expect(r).toHaveLength(1);
    const ack = r[0] as Hello;
    expect(ack.type).toBe(MSG.HELLO_ACK);
    expect(ack.profile).toBe('node');
    expect(ack.limits).toMatchObject({ maxFrame: 256, maxMessage: 4096, window: 4, internSlots: 128, maxNamespaces: 7, maxRules: 99, maxEntriesInRam: 0 });
    expect(ack.algorithms).toEqual(expect.arrayContaining(['sha1', 'sha256', 'sha384', 'sha512', 'rsa', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p256-sha256']));
    const bad = h.send({ type: MSG.HELLO, version: 99, profile: 'host', limits: HELLO_LIMITS, algorithms: [] });
    expect(bad).toEqual([{ type: MSG.ERROR, req: -1, code: ERR.UNSUPPORTED_VERSION, text: expect.stringContaining('99') }]);
  });

  it('PING → PONG; ignorable extension types are dropped; types the engine never accepts get UNSUPPORTED_TYPE', () => {
    const h = new Harness();
    expect(h.send({ type: MSG.PING, token: 77 })).toEqual([{ type: MSG.PONG, token: 77 }]);
    expect(h.send({ type: 40 } as unknown as Message)).toEqual([]);
    const r = h.send({ type: MSG.VERDICT, verdicts: [] });
    expect(r[0]).toMatchObject({ type: MSG.ERROR, code: ERR.UNSUPPORTED_TYPE });
    const u = h.send({ type: 20, req: 5 } as unknown as Message);
    expect(u[0]).toMatchObject({ type: MSG.ERROR, req: 5, code: ERR.UNSUPPORTED_TYPE });
  });

  it('never throws: garbage messages and arguments become ERROR replies', () => {
    const h = new Harness();
    const garbage: unknown[] = [
      { type: MSG.CONTROL, req: 1, op: CONTROL_OP.NS_CREATE, args: { mntns: 'x' } },
      { type: MSG.CONTROL, req: 2, op: 99, args: {} },
      { type: MSG.CONTROL, req: 3, op: CONTROL_OP.POLICY_LOAD, args: { ns: 0, text: 5 } },
      { type: MSG.CONTROL, req: 4, op: CONTROL_OP.KEYS_ADD, args: { ns: 0, cert: new Uint8Array([0x30, 0x03, 1, 2]) } },
      { type: MSG.CONTROL, req: 5, op: CONTROL_OP.REFS_ADD, args: { ns: 0, digests: [[4, new Uint8Array(31)]] } },
      { type: MSG.CONTROL, req: 6, op: CONTROL_OP.MEASUREMENTS, args: { ns: 0, bank: 'md5' } },
      { type: MSG.QUERY, req: 7, op: 1, args: { ns: 0, file: { path: 1 } } },
      { type: MSG.QUERY, req: 8, op: 9, args: { ns: 0, file: {} } },
      { type: MSG.ATTEST, req: 9, ns: 0, nonce: 'nope' },
      { type: MSG.EVENT, events: [{ id: 1, func: 1, mask: 4, flags: 0, proc: null, file: null }] },
      { type: MSG.EVENT, events: null },
      null,
      { type: MSG.CONTROL, req: 10, op: CONTROL_OP.NS_DELETE, args: null },
    ];
    const codes: number[] = [];
    for (const g of garbage) {
      const r = h.send(g as Message);
      expect(Array.isArray(r)).toBe(true);
      for (const m of r) if (m.type === MSG.ERROR) codes.push(m.code);
    }
    expect(codes.slice(0, 9)).toEqual([ERR.BAD_ARGUMENT, ERR.BAD_ARGUMENT, ERR.BAD_ARGUMENT, ERR.KEY_INVALID, ERR.BAD_ARGUMENT, ERR.BAD_ARGUMENT, ERR.BAD_ARGUMENT, ERR.BAD_ARGUMENT, ERR.BAD_ARGUMENT]);
    // An event that cannot be evaluated is denied, never allowed.
    const ev = h.send(garbage[9] as Message);
    expect(ev[0]).toMatchObject({ type: MSG.VERDICT, verdicts: [{ id: 1, code: VERDICT.DENY }] });
    // and the engine still works afterwards
    expect(h.send({ type: MSG.PING, token: 1 })).toEqual([{ type: MSG.PONG, token: 1 }]);
  });
});

describe('namespace tree', () => {
  it('NS_CREATE assigns ids in order; NS_LIST shows the tree with fail mode and deadline', () => {
    const h = new Harness();
    const a = h.nsCreate(4026531001, 0, { fail: 'open', deadlineMs: 250 });
    const b = h.nsCreate(4026531002, a, { userns: 4026531900 });
    expect([a, b]).toEqual([1, 2]);
    expect(h.control(CONTROL_OP.NS_LIST, {})).toEqual([
      { ns: 0, parent: 0, mntns: 0, userns: 0, fail: 'closed', deadlineMs: 0, entries: 1, deleted: false },
      { ns: 1, parent: 0, mntns: 4026531001, userns: 0, fail: 'open', deadlineMs: 250, entries: 1, deleted: false },
      { ns: 2, parent: 1, mntns: 4026531002, userns: 4026531900, fail: 'closed', deadlineMs: 0, entries: 1, deleted: false },
    ]);
  });

  it('rejects duplicates, unknown parents, bad fail modes and deleting the host or a parent', () => {
    const h = new Harness();
    const a = h.nsCreate(11);
    expect(errorOf(() => h.nsCreate(11)).code).toBe(ERR.BAD_ARGUMENT);
    expect(errorOf(() => h.nsCreate(12, 42)).code).toBe(ERR.NO_SUCH_NAMESPACE);
    expect(errorOf(() => h.nsCreate(13, 0, { fail: 'maybe' })).code).toBe(ERR.BAD_ARGUMENT);
    expect(errorOf(() => h.control(CONTROL_OP.NS_CREATE, { parent: 0 })).code).toBe(ERR.BAD_ARGUMENT);
    expect(errorOf(() => h.control(CONTROL_OP.NS_DELETE, { ns: 0 })).code).toBe(ERR.BAD_ARGUMENT);
    h.nsCreate(14, a);
    expect(errorOf(() => h.control(CONTROL_OP.NS_DELETE, { ns: a })).message).toContain('still has namespace 2');
    expect(errorOf(() => h.policy(9, 'measure func=FILE_CHECK')).code).toBe(ERR.NO_SUCH_NAMESPACE);
  });

  it('events are handled by the namespace of their mntns, else of their userns, else by the host', () => {
    const h = new Harness();
    const byMnt = h.nsCreate(5001);
    const byUser = h.nsCreate(0, 0, { userns: 7001 });
    for (const ns of [0, byMnt, byUser]) h.policy(ns, 'measure func=FILE_CHECK\n');
    const route = (mntns: number, userns: number) =>
      h.events([{ func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: proc(mntns, { userns }), file: fileInfo(file, { ino: mntns * 10 + userns }) }])[0].statuses.map((s) => s.ns);
    expect(route(5001, 0)).toEqual([byMnt, 0]);
    expect(route(5001, 7001)).toEqual([byMnt, 0]);
    expect(route(5999, 7001)).toEqual([byUser, 0]);
    expect(route(5999, 0)).toEqual([0]);
    expect(route(5001, 0)).toEqual([byMnt, 0]);
  });

  it('with no policy loaded nothing is measured or appraised, and the verdict says so', () => {
    const h = new Harness();
    const ns = h.nsCreate(6001);
    const v = h.open(file, 6001);
    expect(v.code).toBe(VERDICT.CACHEABLE);
    expect(v.statuses).toEqual([
      { ns, measured: false, appraisal: APPRAISAL.NOT_APPRAISED, cause: '' },
      { ns: 0, measured: false, appraisal: APPRAISAL.NOT_APPRAISED, cause: '' },
    ]);
    expect(h.aggregate(ns).count).toBe(1);
    expect(h.control(CONTROL_OP.POLICY_SHOW, { ns })).toEqual({ text: '' });
  });

  it('NS_DELETE returns the final aggregate, which AGGREGATE and ATTEST still give afterwards', () => {
    const h = new Harness();
    const ns = h.nsCreate(8001);
    h.policy(ns, 'measure func=FILE_CHECK\n');
    h.open(file, 8001);
    const before = h.aggregate(ns);
    expect(before.count).toBe(2);
    const del = h.control(CONTROL_OP.NS_DELETE, { ns });
    expect(del).toEqual({ ns, count: 2, sha1: before.sha1, sha256: before.sha256 });
    expect(h.aggregate(ns)).toEqual(before);
    expect(errorOf(() => h.list(ns)).code).toBe(ERR.NO_SUCH_NAMESPACE);
    expect(errorOf(() => h.policy(ns, 'measure')).code).toBe(ERR.NO_SUCH_NAMESPACE);
    expect(h.control(CONTROL_OP.NS_LIST, {})[1]).toMatchObject({ ns, deleted: true, entries: 2 });
    // its mntns now routes to the host; a new namespace may take it, with a new id
    expect(h.open(file, 8001).statuses.map((s) => s.ns)).toEqual([0]);
    expect(h.nsCreate(8001)).toBe(ns + 1);
    expect(h.attest(ns, new Uint8Array(16)).claims).toBeInstanceOf(Uint8Array);
  });
});

describe('capacity limits', () => {
  it('maxNamespaces counts live namespaces, the host included', () => {
    const h = new Harness({ limits: { maxNamespaces: 3 } });
    h.nsCreate(1);
    const b = h.nsCreate(2);
    const e = errorOf(() => h.nsCreate(3));
    expect(e.code).toBe(ERR.CAPACITY);
    h.control(CONTROL_OP.NS_DELETE, { ns: b });
    expect(h.nsCreate(3)).toBe(3);
  });

  it('maxRules bounds a policy; the old policy stays in force', () => {
    const h = new Harness({ limits: { maxRules: 2 } });
    h.policy(0, 'measure func=FILE_CHECK\n');
    const e = errorOf(() => h.policy(0, 'measure func=FILE_CHECK\nmeasure func=BPRM_CHECK\nmeasure func=MMAP_CHECK\n'));
    expect(e.code).toBe(ERR.CAPACITY);
    expect(h.open(file, 1).code & VERDICT.MEASURED).toBe(VERDICT.MEASURED);
  });

  it('maxEntriesInRam: a full list drops measurements and says so with ERROR CAPACITY, verdicts still flow', () => {
    const h = new Harness({ limits: { maxEntriesInRam: 3 } });
    h.policy(0, 'measure func=FILE_CHECK\n');
    const replies: Message[][] = [];
    for (let i = 0; i < 4; i++) replies.push(h.send({ type: MSG.EVENT, events: [{ id: i + 1, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: proc(1), file: fileInfo(file, { ino: 100 + i, digests: [{ algo: 4, digest: new Uint8Array(32).fill(i + 1) }] }) }] }));
    expect(h.aggregate(0).count).toBe(3);
    expect(replies[0]).toHaveLength(1);
    expect(replies[2][0].type).toBe(MSG.VERDICT);
    expect(replies[2][1]).toMatchObject({ type: MSG.ERROR, code: ERR.CAPACITY });
    const dropped = replies[2][0] as { verdicts: { code: number }[] };
    expect(dropped.verdicts[0].code & (VERDICT.CACHEABLE | VERDICT.MEASURED)).toBe(0);
    expect((replies[1][0] as { verdicts: { code: number }[] }).verdicts[0].code & VERDICT.CACHEABLE).toBe(VERDICT.CACHEABLE);
    expect(h.query(3, {}).listFull).toBe(2);
  });

  it('MEASUREMENTS replies fit the message size agreed at HELLO: fewer entries, and the rest on request', () => {
    const h = new Harness();
    h.send({ type: MSG.HELLO, version: PROTOCOL_VERSION, profile: 'host', limits: { ...HELLO_LIMITS, maxMessage: 600 }, algorithms: [] });
    h.policy(0, 'measure func=FILE_CHECK\n');
    for (let i = 0; i < 30; i++) h.open(file, 1, {}, fileInfo(file, { ino: 1000 + i, digests: [{ algo: 4, digest: new Uint8Array(32).fill(i) }] }));
    const whole = h.control(CONTROL_OP.MEASUREMENTS, { ns: 0, bank: 'sha256', format: 'ascii', from: 0, max: 1000 });
    expect(whole.total).toBe(31);
    expect(whole.entries).toBeLessThan(31);
    expect(whole.data.length).toBeLessThanOrEqual(600 - 64);
    const parts: Uint8Array[] = [];
    let from = 0;
    while (from < 31) {
      const page = h.control(CONTROL_OP.MEASUREMENTS, { ns: 0, bank: 'sha256', format: 'ascii', from, max: 1000 });
      expect(page.entries).toBeGreaterThan(0);
      parts.push(page.data);
      from += page.entries;
    }
    const text = Buffer.concat(parts).toString();
    expect(text.trimEnd().split('\n')).toHaveLength(31);
    const h2 = new Harness();
    h2.policy(0, 'measure func=FILE_CHECK\n');
    for (let i = 0; i < 30; i++) h2.open(file, 1, {}, fileInfo(file, { ino: 1000 + i, digests: [{ algo: 4, digest: new Uint8Array(32).fill(i) }] }));
    expect(Buffer.from(h2.list(0, 'ascii', 'sha256')).toString()).toBe(text);
  });
});
