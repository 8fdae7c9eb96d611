// A process as IMA's policy conditions see it, read from /proc: its credentials (Uid:/Gid: lines of
// /proc/PID/status: real, effective, saved, filesystem), comm, audit login uid and session, and its
// namespace inodes. The fanotify helper reads the same files in C while the opener is still blocked
// in open(); this module serves every other place that needs it (namespace discovery by pid, the
// trace recorder's checks, tests).
import { readFileSync, readlinkSync } from 'node:fs';
import { ProcInfo } from '../protocol/messages.js';

export const UNSET_ID = 4294967295;

export interface Credentials {
  uid: number;
  euid: number;
  suid: number;
  fsuid: number;
  gid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  comm: string;
}

export class ProcError extends Error {
  constructor(message: string, readonly code: string, readonly pid: number) {
    super(message);
  }
}

function ids(line: string | undefined, what: string, pid: number): number[] {
  const v = (line ?? '').trim().split(/\s+/).map(Number);
  if (v.length !== 4 || v.some((n) => !Number.isInteger(n) || n < 0 || n > UNSET_ID)) {
    throw new ProcError(`/proc/${pid}/status: expected four ids on the ${what} line, got "${line ?? ''}"`, 'PROC_FORMAT', pid);
  }
  return v;
}

/** Parse the text of /proc/PID/status. */
export function parseStatus(text: string, pid = 0): Credentials {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\t?(.*)$`, 'm').exec(text);
    return m ? m[1] : undefined;
  };
  const [uid, euid, suid, fsuid] = ids(field('Uid'), 'Uid:', pid);
  const [gid, egid, sgid, fsgid] = ids(field('Gid'), 'Gid:', pid);
  return { uid, euid, suid, fsuid, gid, egid, sgid, fsgid, comm: field('Name') ?? '' };
}

/** Inode of a namespace of a process (`readlink /proc/PID/ns/mnt` → `mnt:[4026531840]`), null when the process is gone. */
export function nsInode(pid: number | 'self', kind: 'mnt' | 'user'): number | null {
  let link: string;
  try {
    link = readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return null;
  }
  const m = /^[a-z]+:\[(\d+)\]$/.exec(link);
  if (!m) throw new ProcError(`/proc/${pid}/ns/${kind}: unexpected link "${link}"`, 'PROC_FORMAT', typeof pid === 'number' ? pid : 0);
  return Number(m[1]);
}

function readId(path: string): number {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n >= 0 ? n : UNSET_ID;
  } catch {
    return UNSET_ID;
  }
}

/** Everything an event's ProcInfo holds, or null when the process has exited. */
export function readProcInfo(pid: number): ProcInfo | null {
  const mntns = nsInode(pid, 'mnt');
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  if (mntns === null) return null;
  const c = parseStatus(status, pid);
  return {
    pid,
    mntns,
    userns: nsInode(pid, 'user') ?? 0,
    uid: c.uid,
    euid: c.euid,
    suid: c.suid,
    gid: c.gid,
    egid: c.egid,
    sgid: c.sgid,
    auid: readId(`/proc/${pid}/loginuid`),
    ses: readId(`/proc/${pid}/sessionid`),
    comm: c.comm,
  };
}
