import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { FileEvent } from '../protocol/messages.js';
import { parseTraceLine, readTrace, traceLine, TraceError, TraceSource } from './sources/trace.js';

const ev: FileEvent = {
  id: 7,
  func: 1,
  mask: 4,
  flags: 1,
  proc: { pid: 42, mntns: 4026532301, userns: 4026531837, uid: 1000, euid: 1000, suid: 1000, gid: 100, egid: 100, sgid: 100, auid: 4294967295, ses: 4294967295, comm: 'cat' },
  file: {
    path: '/srv/app/é.py',
    dev: 45,
    ino: 7,
    fsmagic: 0x01021994,
    fsname: 'tmpfs',
    fsuuid: '',
    uid: 1000,
    gid: 100,
    mode: 0o100644,
    size: 6,
    digests: [{ algo: 4, digest: new Uint8Array(32).fill(0xab) }],
    xattr: new Uint8Array([4, 4, 1, 2]),
  },
};

describe('trace lines', () => {
  it('round-trip a FileEvent, bytes as hex', () => {
    const line = traceLine(ev);
    expect(line).toContain('"xattr":"04040102"');
    expect(parseTraceLine(line)).toEqual(ev);
    expect(parseTraceLine(traceLine({ ...ev, file: { ...ev.file, xattr: null, digests: [] } })).file.xattr).toBeNull();
  });

  it('name the line and field at fault', () => {
    const bad = traceLine(ev).replace('"ino":7', '"ino":-1');
    expect(() => parseTraceLine(bad, 't.jsonl', 3)).toThrow('t.jsonl:3: file.ino: expected a non-negative integer, got -1');
    expect(() => parseTraceLine(traceLine(ev).replace('"04040102"', '"0g"'), 't', 1)).toThrow(/file.xattr: expected a hex string/);
    expect(() => parseTraceLine('{', 't', 9)).toThrow(/t:9: not JSON/);
  });

  it('survive random and mutated input with TraceError only', () => {
    const base = traceLine(ev);
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const chars = base.split('');
      for (let k = 0, m = 1 + rnd(4); k < m; k++) {
        const at = rnd(chars.length);
        const op = rnd(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars[at] = String.fromCharCode(rnd(128));
        else chars.splice(at, 0, '{}[]",:0-9ae'[rnd(13)]);
      }
      try {
        parseTraceLine(chars.join(''));
      } catch (e) {
        expect(e).toBeInstanceOf(TraceError);
      }
    }
    for (const junk of ['null', '[]', '1', '"x"', '{"proc":[],"file":{}}', '{"id":1,"func":1,"mask":1,"flags":0,"proc":{},"file":null}']) {
      expect(() => parseTraceLine(junk)).toThrow(TraceError);
    }
  });

  it('are read from a file skipping blanks and comments, and replayed in order', async () => {
    const path = mkdtempSync('/tmp/imans-trace-') + '/t.jsonl';
    writeFileSync(path, `# recorded\n${traceLine(ev)}\n\n${traceLine({ ...ev, id: 8 })}\n`);
    const ids: number[] = [];
    for await (const e of readTrace(path)) ids.push(e.id);
    expect(ids).toEqual([7, 8]);
    const src = new TraceSource(path);
    const seen: string[] = [];
    await src.start({ event: (e) => seen.push(e.proc.comm), notice: () => {} });
    await src.stop();
    expect(seen).toEqual(['cat', 'cat']);
  });
});
