import { describe, expect, it } from 'vitest';
import { FileVersions, funcOf, eventFlags } from './measure.js';
import { FAN, HelperEvent, HELPER_FLAG } from './fanotify.js';
import { FUNC, MAY, EVENT_FLAG } from '../protocol/messages.js';

function ev(ino: number, over: Partial<HelperEvent> = {}): HelperEvent {
  return {
    cookie: 1, mask: FAN.OPEN_PERM, flags: 0, pid: 10, mntns: 1, userns: 2,
    uid: 0, euid: 0, suid: 0, fsuid: 0, gid: 0, egid: 0, sgid: 0, fsgid: 0, auid: 0, ses: 1,
    dev: 7, ino, size: 5, mtimeSec: 100, mtimeNsec: 1, ctimeSec: 100, ctimeNsec: 2,
    fsmagic: 0x01021994, fuid: 0, fgid: 0, mode: 0o100644, path: `/t/f${ino}`, comm: 'cat', xattr: null,
    digests: [{ algo: 4, digest: new Uint8Array(32).fill(ino & 255) }],
    ...over,
  };
}

describe('FileVersions', () => {
  it('gives every event of one file version the same FileInfo, and a new one once the file changed', () => {
    const v = new FileVersions();
    const a = v.fileInfo(ev(1));
    expect(v.fileInfo(ev(1, { pid: 99 }))).toBe(a);
    expect(a).toMatchObject({ path: '/t/f1', fsname: 'tmpfs', size: 5 });
    expect(v.fileInfo(ev(1, { mtimeNsec: 9 }))).not.toBe(a);
    v.retire(7, 1);
    expect(v.size).toBe(0);
    expect(v.fileInfo(ev(1))).not.toBe(a);
    expect(v.hits).toBe(1);
  });

  it('never pins a version seen without its digests', () => {
    const v = new FileVersions();
    const bare = v.fileInfo(ev(2, { digests: [] }));
    const full = v.fileInfo(ev(2));
    expect(full).not.toBe(bare);
    expect(full.digests).toHaveLength(1);
  });

  it('holds at most its limit, evicting the oldest, through any churn of retired files', () => {
    const v = new FileVersions(100);
    for (let i = 0; i < 10_000; i++) {
      v.fileInfo(ev(i));
      if (i % 3 === 0) v.retire(7, i);
      expect(v.size).toBeLessThanOrEqual(100);
    }
    // The newest survive (9,998 was not retired), the oldest are gone.
    let hits = v.hits;
    v.fileInfo(ev(9_998));
    expect(v.hits).toBe(hits + 1);
    hits = v.hits;
    v.fileInfo(ev(9_001));
    expect(v.hits).toBe(hits);
  });
});

describe('event mapping', () => {
  it('maps an exec permission event to BPRM_CHECK and an open to FILE_CHECK', () => {
    expect(funcOf(FAN.OPEN_EXEC_PERM)).toEqual({ func: FUNC.BPRM_CHECK, mask: MAY.EXEC });
    expect(funcOf(FAN.OPEN_PERM)).toEqual({ func: FUNC.FILE_CHECK, mask: MAY.READ });
  });

  it('keeps only the helper flags that belong on the wire', () => {
    expect(eventFlags(HELPER_FLAG.TOMTOU | HELPER_FLAG.PROC_GONE | HELPER_FLAG.ANSWERED)).toBe(EVENT_FLAG.TOMTOU);
  });
});
