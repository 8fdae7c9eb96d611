import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { parseTsemRecord, TsemError, TsemSource } from './sources/tsem.js';
import { FUNC } from '../protocol/messages.js';

const digest = '575c' + 'ab'.repeat(30);
// The shape of Quixote's current test vector (TSEM V4 JSON), trimmed.
const fileOpen = JSON.stringify({
  export: { type: 'event' },
  event: { pid: '100', tnum: '6999993339', context: '12', number: '3', process: 'quixote', type: 'file_open', ttd: '483', p_ttd: '483', task_id: 'b459', p_task_id: 'b459', ts: '202360' },
  COE: { uid: '1000', euid: '1000', suid: '1000', gid: '100', egid: '100', sgid: '100', fsuid: '1000', fsgid: '100', capeff: '0x0' },
  file_open: {
    file: {
      flags: '32768',
      inode: { uid: '0', gid: '0', mode: '0100755', s_magic: '0xef53', s_id: 'xvda', s_uuid: '00000000000000000000000000000000' },
      path: { dev: { major: '202', minor: '0' }, type: 'root', pathname: '/bin/bash-"3.2.57' },
      digest,
    },
  },
});

describe('TSEM JSON records', () => {
  it('turn a file_open export into a FILE_CHECK event with COE credentials and the file digest', () => {
    const ev = parseTsemRecord(fileOpen, { '12': 4026532999 })!;
    expect(ev.func).toBe(FUNC.FILE_CHECK);
    expect(ev.proc).toMatchObject({ pid: 100, mntns: 4026532999, uid: 1000, egid: 100, comm: 'quixote' });
    expect(ev.file).toMatchObject({ path: '/bin/bash-"3.2.57', mode: 0o100755, fsmagic: 0xef53, fsuuid: '' });
    expect(Buffer.from(ev.file.digests[0].digest).toString('hex')).toBe(digest);
    expect(ev.file.digests[0].algo).toBe(4);
  });

  it('skip records without a file, and mmaps that are not executable', () => {
    expect(parseTsemRecord('{"export":{"type":"aggregate"},"aggregate":{"value":"00"}}')).toBeNull();
    expect(parseTsemRecord('{"export":{"type":"event"},"event":{"type":"socket_create"},"COE":{}}')).toBeNull();
    const mm = JSON.parse(fileOpen);
    mm.event.type = 'mmap_file';
    mm.mmap_file = { ...mm.file_open, prot: '1', flags: '2' };
    expect(parseTsemRecord(JSON.stringify(mm))).toBeNull();
    mm.mmap_file.prot = '0x5';
    expect(parseTsemRecord(JSON.stringify(mm))!.func).toBe(FUNC.MMAP_CHECK);
  });

  it('reject malformed values with the field named, and never throw anything else on mutated input', () => {
    expect(() => parseTsemRecord(fileOpen.replace('"uid":"1000"', '"uid":1000'), {}, 'x.json', 4)).toThrow(/x.json:4: COE.uid: expected a decimal/);
    expect(() => parseTsemRecord(fileOpen.replace(digest, 'abc'))).toThrow(/file_open.file.digest/);
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    for (let i = 0; i < 3000; i++) {
      const c = fileOpen.split('');
      for (let k = 0; k < 1 + rnd(3); k++) c.splice(rnd(c.length), rnd(2), '{}[]":,0x9a'[rnd(11)]);
      try {
        parseTsemRecord(c.join(''));
      } catch (e) {
        expect(e).toBeInstanceOf(TsemError);
      }
    }
  });

  it('are read from an export dump, counting what is skipped', async () => {
    const path = mkdtempSync('/tmp/imans-tsem-') + '/export.jsonl';
    writeFileSync(path, `{"export":{"type":"aggregate"},"aggregate":{"value":"00"}}\n${fileOpen}\nnot json\n${fileOpen}\n`);
    const src = new TsemSource(path);
    const got: string[] = [];
    const notices: string[] = [];
    await src.start({ event: (e) => got.push(e.file.path), notice: (_k, d) => notices.push(d) });
    await src.stop();
    expect(got).toHaveLength(2);
    expect(await src.stats()).toEqual({ forwarded: 2, skipped: 2 });
    expect(notices[0]).toMatch(/export.jsonl:3: not JSON/);
  });
});
