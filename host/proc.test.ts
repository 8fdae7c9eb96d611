import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { parseStatus, readProcInfo, nsInode, ProcError } from './proc.js';
import { NamespaceTable, policyAppraises } from './nsdiscovery.js';

describe('/proc readers', () => {
  it('parse the four uids and gids and the name of a status text', () => {
    const text = 'Name:\tcat\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\n';
    expect(parseStatus(text)).toEqual({ uid: 1000, euid: 1001, suid: 1002, fsuid: 1003, gid: 100, egid: 101, sgid: 102, fsgid: 103, comm: 'cat' });
    expect(() => parseStatus('Name:\tx\nUid:\t1 2\n', 5)).toThrow(ProcError);
  });

  it('read a live process, with the namespace inodes readlink shows', async () => {
    const child = spawn('sleep', ['10'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const info = readProcInfo(child.pid!)!;
      expect(info.comm).toBe('sleep');
      expect(info.uid).toBe(process.getuid!());
      expect(`mnt:[${info.mntns}]`).toBe(readlinkSync(`/proc/${child.pid}/ns/mnt`));
      expect(info.userns).toBe(nsInode('self', 'user'));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('return null for a process that has exited', async () => {
    const child = spawn('true');
    await new Promise((r) => child.on('close', r));
    expect(readProcInfo(child.pid!)).toBeNull();
    expect(nsInode(child.pid!, 'mnt')).toBeNull();
  });
});

describe('namespace table', () => {
  it('resolves by mount namespace, then user namespace, then the host', () => {
    const t = new NamespaceTable();
    t.set({ ns: 1, parent: 0, mntns: 111, userns: 0, fail: 'closed', deadlineMs: 500, appraises: false });
    t.set({ ns: 2, parent: 0, mntns: 0, userns: 222, fail: 'auto', deadlineMs: 500, appraises: true });
    expect(t.resolve(111, 222).ns).toBe(1);
    expect(t.resolve(999, 222).ns).toBe(2);
    expect(t.resolve(999, 333).ns).toBe(0);
    expect(() => t.set({ ns: 3, parent: 0, mntns: 111, userns: 0, fail: 'auto', deadlineMs: 1, appraises: false })).toThrow(/already belongs to namespace 1/);
    t.remove(1);
    expect(t.resolve(111).ns).toBe(0);
  });

  it('fails closed by default only where the policy appraises', () => {
    const e = { ns: 1, parent: 0, mntns: 1, userns: 0, fail: 'auto' as const, deadlineMs: 500, appraises: false };
    expect(NamespaceTable.failAllows(e)).toBe(true);
    expect(NamespaceTable.failAllows({ ...e, appraises: true })).toBe(false);
    expect(NamespaceTable.failAllows({ ...e, fail: 'open', appraises: true })).toBe(true);
    expect(policyAppraises('measure func=FILE_CHECK\n  appraise fsmagic=0x01021994 fowner=0\n')).toBe(true);
    expect(policyAppraises('dont_appraise fsmagic=0x9fa0\nmeasure func=BPRM_CHECK\n')).toBe(false);
  });
});
