// Seeded random values for property and fuzz tests of the codecs and the wire layer (Node only).
// A seed makes every failure reproducible: tests print it with the failing case.

import type { FileEvent, FileInfo, Message, NsStatus, ProcInfo, Verdict } from '../messages.js';
import { CONTROL_OP, MSG, QUERY_OP } from '../messages.js';

export interface Rng {
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  bytes(n: number): Uint8Array;
  pick<T>(xs: readonly T[]): T;
}

/** mulberry32: small, fast, good enough to drive tests. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  const r: Rng = {
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    bytes(n) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = r.int(256);
      return b;
    },
    pick: (xs) => xs[r.int(xs.length)],
  };
  return r;
}

const EDGE_INTS = [0, 1, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991];
const TEXTS = ['', 'a', 'tmpfs', '/usr/bin/ls', 'é', '水', '𐅑', 'ü/ß', 'x'.repeat(24), 'y'.repeat(300)];

/** A random integer, biased to the boundaries of CBOR's head sizes, within ±(2^53−1). */
export function randomInt(r: Rng): number {
  const v = r.chance(0.5) ? r.pick(EDGE_INTS) : r.chance(0.5) ? r.int(1000) : Math.floor(r.int(4294967296) * 2097152 + r.int(2097152)) % 9007199254740991;
  return r.chance(0.3) && v !== 0 ? -v : v;
}

export function randomText(r: Rng): string {
  if (r.chance(0.5)) return r.pick(TEXTS);
  let s = '';
  const n = r.int(12);
  for (let i = 0; i < n; i++) s += String.fromCodePoint(r.chance(0.8) ? 32 + r.int(95) : r.chance(0.5) ? 0xa0 + r.int(0x700) : 0x10000 + r.int(0x1000));
  return s;
}

/** A random value inside the codec profile (what both codecs must encode identically). */
export function randomValue(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 5 : 7);
  switch (k) {
    case 0:
      return randomInt(r);
    case 1:
      return randomText(r);
    case 2:
      return r.bytes(r.chance(0.9) ? r.int(40) : r.int(600));
    case 3:
      return r.pick([true, false, null]);
    case 4:
      return r.int(1000);
    case 5: {
      const n = r.chance(0.95) ? r.int(6) : 24 + r.int(300);
      const a: unknown[] = [];
      for (let i = 0; i < n; i++) a.push(randomValue(r, depth + 1));
      return a;
    }
    default: {
      const o: Record<string, unknown> = {};
      const n = r.int(6);
      for (let i = 0; i < n; i++) o[r.chance(0.3) ? String(randomInt(r)) : randomText(r)] = randomValue(r, depth + 1);
      return o;
    }
  }
}

// ---- random messages ----------------------------------------------------------------------


function uint32(r: Rng): number {
  return r.chance(0.3) ? r.pick([0, 1, 65534, 4294967295]) : r.int(4294967296);
}

export function randomFileInfo(r: Rng): FileInfo {
  const digests = [];
  const nd = r.int(3);
  for (let i = 0; i < nd; i++) digests.push({ algo: r.pick([2, 4, 5, 6]), digest: r.bytes(r.pick([20, 32, 48, 64])) });
  return {
    path: '/' + randomText(r) + '/' + randomText(r),
    dev: uint32(r),
    ino: r.chance(0.2) ? Math.abs(randomInt(r)) : r.int(1e7),
    fsmagic: r.pick([0x01021994, 0xef53, 0x58465342, 0]),
    fsname: r.pick(['tmpfs', 'ext4', 'xfs', '']),
    fsuuid: r.chance(0.5) ? '' : '0b5bd2f2-6a7e-4c1d-9c7e-3c4b0a1f2e3d',
    uid: uint32(r),
    gid: uint32(r),
    mode: r.pick([0o100644, 0o100755, 0o104755]),
    size: Math.abs(randomInt(r)),
    digests,
    xattr: r.chance(0.5) ? null : r.bytes(r.chance(0.8) ? r.int(300) : 1000 + r.int(2000)),
  };
}

export function randomProcInfo(r: Rng): ProcInfo {
  return {
    pid: 1 + r.int(4194304),
    mntns: 4026531840 + r.int(10000),
    userns: r.chance(0.5) ? 0 : 4026531837,
    uid: uint32(r),
    euid: uint32(r),
    suid: uint32(r),
    gid: uint32(r),
    egid: uint32(r),
    sgid: uint32(r),
    auid: r.chance(0.5) ? 4294967295 : r.int(2000),
    ses: r.chance(0.5) ? 4294967295 : r.int(100),
    comm: randomText(r).slice(0, 15),
  };
}

/** A trace where files and processes repeat: drawn from pools of `nFiles` and `nProcs`. */
export function randomTrace(r: Rng, n: number, firstId: number, nFiles = 40, nProcs = 8): FileEvent[] {
  const files: FileInfo[] = [];
  const procs: ProcInfo[] = [];
  for (let i = 0; i < nFiles; i++) files.push(randomFileInfo(r));
  for (let i = 0; i < nProcs; i++) procs.push(randomProcInfo(r));
  const out: FileEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      id: firstId + i,
      func: r.pick([1, 1, 1, 2, 4]),
      mask: r.pick([4, 4, 1, 2, 6]),
      flags: r.chance(0.9) ? 0 : r.int(8),
      // Copies, as a host reading /proc and stat afresh would make: equal content, new objects.
      proc: structuredClone(procs[Math.min(r.int(nProcs), r.int(nProcs))]),
      file: structuredClone(files[Math.min(r.int(nFiles), r.int(nFiles))]),
    });
  }
  return out;
}

function randomStatus(r: Rng): NsStatus {
  return { ns: r.int(10), measured: r.chance(0.5), appraisal: r.int(3), cause: r.pick(['', 'invalid-hash', 'missing-hash', 'invalid-signature']) };
}

export function randomVerdicts(r: Rng, n: number, firstId: number): Verdict[] {
  const out: Verdict[] = [];
  for (let i = 0; i < n; i++) {
    const notable = r.chance(0.1);
    const statuses: NsStatus[] = [];
    const audit: string[] = [];
    if (notable) {
      for (let k = r.int(3); k > 0; k--) statuses.push(randomStatus(r));
      for (let k = r.int(2); k > 0; k--) audit.push('type=INTEGRITY_DATA msg=audit(1700000000.000:' + r.int(1000) + '): file="' + randomText(r) + '"');
    }
    out.push({ id: firstId + i, code: r.int(16), statuses, audit });
  }
  return out;
}

/** A random message of any type but EVENT (which needs a WireEncoder's table). */
export function randomMessage(r: Rng): Message {
  const t = r.pick([0, 1, 3, 4, 4, 5, 6, 7, 8, 9, 10]);
  const req = r.int(1 << 20);
  switch (t) {
    case MSG.HELLO:
    case MSG.HELLO_ACK:
      return {
        type: t,
        version: 1,
        profile: r.pick(['node', 'espruino', 'host'] as const),
        limits: { maxFrame: 256, maxMessage: 4096, window: 4, internSlots: r.int(1024), maxNamespaces: r.int(64), maxRules: r.int(1000), maxEntriesInRam: r.int(100000) },
        algorithms: r.chance(0.5) ? [] : ['sha1', 'sha256', 'ecdsa-p256'],
      };
    case MSG.VERDICT:
      return { type: MSG.VERDICT, verdicts: randomVerdicts(r, r.int(50), r.int(1e9)) };
    case MSG.CONTROL: {
      const op = r.pick(Object.values(CONTROL_OP));
      const args: Record<number, Record<string, unknown>> = {
        [CONTROL_OP.NS_CREATE]: r.chance(0.5) ? { mntns: uint32(r) } : { mntns: uint32(r), userns: uint32(r), parent: r.int(5), fail: r.pick(['closed', 'open']), deadlineMs: 500 },
        [CONTROL_OP.NS_DELETE]: { ns: r.int(9) },
        [CONTROL_OP.NS_LIST]: {},
        [CONTROL_OP.POLICY_LOAD]: { ns: r.int(9), text: 'measure func=BPRM_CHECK\nappraise func=FILE_CHECK fowner=0 appraise_type=imasig\n' },
        [CONTROL_OP.POLICY_SHOW]: { ns: r.int(9) },
        [CONTROL_OP.KEYS_ADD]: { ns: r.int(9), cert: r.bytes(r.int(900)) },
        [CONTROL_OP.REFS_ADD]: { ns: r.int(9), digests: [[4, r.bytes(32)], [2, r.bytes(20)]] },
        [CONTROL_OP.MEASUREMENTS]: { ns: r.int(9), bank: 'sha256', format: r.pick(['binary', 'ascii']), from: r.int(100), max: r.int(100) },
        [CONTROL_OP.AGGREGATE]: { ns: r.int(9) },
      };
      return { type: MSG.CONTROL, req, op, args: args[op] };
    }
    case MSG.QUERY: {
      const op = r.pick(Object.values(QUERY_OP));
      const args =
        op === QUERY_OP.STATS ? {} : op === QUERY_OP.APPRAISE ? { ns: r.int(9), file: randomFileInfo(r), func: 1, nocache: r.chance(0.5) } : { ns: r.int(9), file: randomFileInfo(r) };
      return { type: MSG.QUERY, req, op, args };
    }
    case MSG.ATTEST:
      return { type: MSG.ATTEST, req, ns: r.int(9), nonce: r.bytes(r.pick([0, 16, 32])) };
    case MSG.ERROR:
      return { type: MSG.ERROR, req: r.chance(0.2) ? -1 : req, code: 1 + r.int(10), text: randomText(r) };
    case MSG.PING:
    case MSG.PONG:
      return { type: t, token: Math.abs(randomInt(r)) };
    default:
      return { type: MSG.RESULT, req, value: randomValue(r) };
  }
}
