// Fuzzing the engine's edges: random and mutated messages never make handle() throw, every reply
// is a well-formed message, an event that cannot be evaluated is denied; a mutated journal never
// stops the engine from starting.
import { describe, expect, it } from 'vitest';
import { CONTROL_OP, FUNC, MAY, Message, MSG, QUERY_OP, VERDICT } from '../../../protocol/messages.js';
import { createNodePlatform } from '../../node/platform.js';
import { createMemoryStorage } from './memory-storage.js';
import { createEngine } from './engine.js';
import { Journal } from './journal.js';

let seed = 0x1234567;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}

function randomValue(depth: number): unknown {
  switch (rnd(depth > 2 ? 7 : 10)) {
    case 0:
      return rnd(5) === 0 ? -rnd(1000) : rnd(1 << 30);
    case 1:
      return ['', 'x', 'closed', 'open', 'sha1', 'sha256', 'ascii', 'binary', 'measure func=FILE_CHECK'][rnd(9)];
    case 2: {
      const b = new Uint8Array(rnd(40));
      for (let i = 0; i < b.length; i++) b[i] = rnd(256);
      return b;
    }
    case 3:
      return rnd(2) === 0;
    case 4:
      return null;
    case 5:
      return undefined;
    case 6:
      return rnd(3) === 0 ? 1.5 : rnd(100);
    case 7: {
      const a: unknown[] = [];
      for (let i = rnd(4); i > 0; i--) a.push(randomValue(depth + 1));
      return a;
    }
    default: {
      const keys = ['ns', 'mntns', 'userns', 'parent', 'fail', 'deadlineMs', 'text', 'cert', 'digests', 'bank', 'format', 'from', 'max', 'file', 'func', 'nocache', 'path', 'dev', 'ino', 'xattr', 'algo', 'digest'];
      const o: { [k: string]: unknown } = {};
      for (let i = rnd(6); i > 0; i--) o[keys[rnd(keys.length)]] = randomValue(depth + 1);
      return o;
    }
  }
}

function randomMessage(): unknown {
  const t = rnd(12);
  if (t === MSG.CONTROL) return { type: t, req: rnd(100), op: rnd(11), args: randomValue(1) };
  if (t === MSG.QUERY) return { type: t, req: rnd(100), op: rnd(5), args: randomValue(1) };
  if (t === MSG.ATTEST) return { type: t, req: rnd(100), ns: randomValue(2), nonce: randomValue(2) };
  if (t === MSG.EVENT) {
    const events: unknown[] = [];
    for (let i = rnd(4); i > 0; i--) {
      const file = { path: '/f' + rnd(5), dev: rnd(3), ino: rnd(10), fsmagic: 0, fsname: '', fsuuid: '', uid: 0, gid: 0, mode: 0, size: 0, digests: rnd(4) ? [{ algo: 4, digest: new Uint8Array(32).fill(rnd(3)) }] : randomValue(2), xattr: rnd(2) ? null : randomValue(2) };
      const proc = rnd(5) ? { pid: 1, mntns: rnd(3), userns: 0, uid: 0, euid: 0, suid: 0, gid: 0, egid: 0, sgid: 0, auid: 0, ses: 0, comm: 'x' } : randomValue(2);
      events.push({ id: i, func: rnd(16), mask: rnd(16), flags: rnd(8), proc, file: rnd(8) ? file : randomValue(2) });
    }
    return { type: t, events: rnd(10) ? events : randomValue(1) };
  }
  if (t === MSG.HELLO) return { type: t, version: rnd(3), profile: 'host', limits: rnd(3) ? { maxFrame: 256, maxMessage: 1 + rnd(5000), window: 4, internSlots: rnd(64) } : randomValue(1), algorithms: [] };
  if (t === MSG.PING) return { type: t, token: rnd(1000) };
  return rnd(3) ? { type: t } : randomValue(0);
}

describe('engine fuzz', () => {
  it('random messages: handle() never throws and answers with well-formed messages', () => {
    const platform = createNodePlatform({ limits: { maxNamespaces: 8, maxEntriesInRam: 50 } });
    const engine = createEngine(platform);
    // some real state for the random operations to hit
    engine.handle({ type: MSG.CONTROL, req: 1, op: CONTROL_OP.NS_CREATE, args: { mntns: 1 } });
    engine.handle({ type: MSG.CONTROL, req: 2, op: CONTROL_OP.NS_CREATE, args: { mntns: 2, parent: 1 } });
    for (let i = 0; i < 5000; i++) {
      const m = randomMessage();
      let replies: Message[] = [];
      expect(() => (replies = engine.handle(m as Message))).not.toThrow();
      expect(Array.isArray(replies)).toBe(true);
      for (const r of replies) {
        expect(typeof r.type).toBe('number');
        if (r.type === MSG.ERROR) {
          expect(typeof r.code).toBe('number');
          expect(typeof r.text).toBe('string');
        }
        if (r.type === MSG.VERDICT) for (const v of r.verdicts) expect(Number.isInteger(v.code)).toBe(true);
      }
    }
    expect(engine.handle({ type: MSG.PING, token: 5 })).toEqual([{ type: MSG.PONG, token: 5 }]);
    const stats = engine.handle({ type: MSG.QUERY, req: 9, op: QUERY_OP.STATS, args: {} })[0];
    expect(stats.type).toBe(MSG.RESULT);
  });

  it('an event whose file or process is unusable is denied, never allowed', () => {
    const engine = createEngine(createNodePlatform());
    const r = engine.handle({ type: MSG.EVENT, events: [{ id: 7, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: null, file: null } as never] });
    expect(r[0]).toMatchObject({ type: MSG.VERDICT, verdicts: [{ id: 7, code: VERDICT.DENY }] });
    expect(r[1]).toMatchObject({ type: MSG.ERROR });
  });

  it('mutated journals: the engine always starts, keeping the intact prefix', () => {
    const crc = createNodePlatform().crc32;
    const good = createMemoryStorage();
    const j = new Journal(good, crc);
    j.add(['n', 1, 11, 0, 0, 'closed', 0]);
    j.add(['n', 2, 12, 0, 1, 'open', 5]);
    j.add(['k', 1, new Uint8Array([0x30, 0])]);
    j.add(['r', 2, [[4, new Uint8Array(32)]]]);
    j.add(['d', 2]);
    j.add(['m', 1, 10, 'ima-ng', '/x', 4, new Uint8Array(32), null, null]);
    j.add(['v', 0, '/y']);
    j.add(['zz']);
    j.flush();
    const bytes = good.read('journal')!;
    for (let i = 0; i < 400; i++) {
      const m = bytes.slice();
      for (let k = 0; k < 1 + rnd(3); k++) m[rnd(m.length)] = rnd(256);
      const cut = rnd(4) === 0 ? m.subarray(0, rnd(m.length)) : m;
      const platform = createNodePlatform();
      platform.storage.replace('journal', cut);
      let engine: ReturnType<typeof createEngine> | null = null;
      expect(() => (engine = createEngine(platform))).not.toThrow();
      expect(engine!.handle({ type: MSG.PING, token: 1 })).toEqual([{ type: MSG.PONG, token: 1 }]);
    }
    const platform = createNodePlatform();
    platform.storage.replace('journal', bytes);
    const engine = createEngine(platform);
    // the bad certificate and the unknown record kind are skipped and counted; the rest applies
    expect(engine.stats.replayFailed).toBe(2);
    const list = engine.handle({ type: MSG.CONTROL, req: 3, op: CONTROL_OP.NS_LIST, args: {} })[0] as { value: { ns: number; deleted: boolean; fail: string }[] };
    expect(list.value.map((n) => [n.ns, n.deleted, n.fail])).toEqual([
      [0, false, 'closed'],
      [1, false, 'closed'],
      [2, true, 'open'],
    ]);
  });
});
