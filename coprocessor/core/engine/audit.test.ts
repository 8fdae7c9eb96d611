import { describe, expect, it } from 'vitest';
import { devName, integrityMessage, integrityRule, stamp, untrusted } from './audit.js';
import { FileInfo, ProcInfo } from '../../../protocol/messages.js';

const proc: ProcInfo = { pid: 4242, mntns: 4026532001, userns: 0, uid: 1000, euid: 1000, suid: 1000, gid: 100, egid: 100, sgid: 100, auid: 4294967295, ses: 4294967295, comm: 'cat' };
const file: FileInfo = { path: '/srv/app/file', dev: (8 << 8) | 3, ino: 21348467, fsmagic: 0xef53, fsname: 'ext4', fsuuid: '', uid: 0, gid: 0, mode: 0o100644, size: 6, digests: [], xattr: null };

describe('audit records', () => {
  it('untrusted strings: quoted when clean, uppercase hex of the UTF-8 bytes otherwise (audit_log_untrustedstring)', () => {
    expect(untrusted('/usr/bin/cat')).toBe('"/usr/bin/cat"');
    expect(untrusted('a b')).toBe('612062');
    expect(untrusted('say "hi"')).toBe('7361792022686922');
    expect(untrusted('tab\there')).toBe('74616209686572' + '65');
    expect(untrusted('é')).toBe('C3A9');
    expect(untrusted('~!')).toBe('"~!"');
    expect(untrusted('\x7f')).toBe('7F');
  });

  it('stamp and dev follow the kernel forms', () => {
    expect(stamp(1721934216094, 1227)).toBe('msg=audit(1721934216.094:1227):');
    expect(stamp(1721934216004, 1)).toBe('msg=audit(1721934216.004:1):');
    expect(devName((8 << 8) | 3)).toBe('8:3');
    // new_encode_dev of 259:65536+5 puts the minor's high bits above bit 20
    expect(devName((259 << 8) | 5 | ((65536 >> 8) << 20))).toBe('259:65541');
  });

  it('INTEGRITY_DATA body: field order of integrity_audit_message, bare op/cause, mnt_ns after name', () => {
    const r = integrityMessage(1800, stamp(1700000000123, 7), proc, file, 'appraise_data', 'invalid-hash', false);
    expect(r).toBe(
      'type=1800 msg=audit(1700000000.123:7): pid=4242 uid=1000 auid=4294967295 ses=4294967295 op=appraise_data cause=invalid-hash comm="cat" name="/srv/app/file" mnt_ns=4026532001 dev="8:3" ino=21348467 res=0 errno=0',
    );
    const v = integrityMessage(1804, stamp(0, 1), proc, { ...file, path: '/my file' }, 'invalid_pcr', 'ToMToU', true);
    expect(v).toContain(' op=invalid_pcr cause=ToMToU comm="cat" name=2F6D792066696C65 ');
    expect(v.endsWith(' res=1 errno=0')).toBe(true);
  });

  it('INTEGRITY_RULE body: file= and hash="algo:hex" then the task fields', () => {
    const r = integrityRule(stamp(1000, 2), proc, file, 'sha256', 'ab'.repeat(32));
    expect(r).toBe(
      'type=1805 msg=audit(1.000:2): file="/srv/app/file" hash="sha256:' + 'ab'.repeat(32) + '" pid=4242 auid=4294967295 uid=1000 gid=100 euid=1000 suid=1000 egid=100 sgid=100 ses=4294967295 comm="cat" mnt_ns=4026532001',
    );
  });
});
