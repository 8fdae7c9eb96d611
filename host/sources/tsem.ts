// TSEM-style JSON event exports as a source: the records a TSEM external modeling namespace writes
// (`{"export":{"type":"event"},"event":{…},"COE":{…},"file_open":{"file":{…}}}`, one per line; the
// TSEM V4 ABI's JSON encoding, every scalar a string: decimal, 0-octal, 0x-hex or bare hex digest).
// File events become FileEvents: file_open → FILE_CHECK, mmap_file with PROT_EXEC → MMAP_CHECK,
// bprm_check_security / bprm_creds_for_exec → BPRM_CHECK. Other event types (sockets, tasks…) carry
// no file to measure and are counted, not forwarded. TSEM names its own namespace (event.context),
// not a mount namespace: `contexts` maps a context id to the mntns the bridge should attribute it to
// (default: the host namespace).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { FUNC, MAY, HASH_ALGO } from '../../protocol/messages.js';
import { fromHex } from '../../protocol/bytes.js';
import { Source, SourceSink, SourceEvent } from '../bridge.js';

export class TsemError extends Error {
  constructor(message: string, readonly code: string, readonly file: string, readonly line: number, readonly field: string) {
    super(`${file}:${line}: ${field ? field + ': ' : ''}${message}`);
  }
}

const FILE_EVENTS: { [type: string]: { func: number; mask: number } } = {
  file_open: { func: FUNC.FILE_CHECK, mask: MAY.READ },
  mmap_file: { func: FUNC.MMAP_CHECK, mask: MAY.EXEC },
  bprm_check_security: { func: FUNC.BPRM_CHECK, mask: MAY.EXEC },
  bprm_creds_for_exec: { func: FUNC.BPRM_CHECK, mask: MAY.EXEC },
};
const PROT_EXEC = 0x4;
const DIGEST_ALGO: { [len: number]: number } = { 20: HASH_ALGO.SHA1, 28: HASH_ALGO.SHA224, 32: HASH_ALGO.SHA256, 48: HASH_ALGO.SHA384, 64: HASH_ALGO.SHA512 };

/** One export record → an event, or null for records that carry no file (other hooks, aggregate, log). */
export function parseTsemRecord(text: string, contexts: { [ctx: string]: number } = {}, file = '<tsem>', line = 1): SourceEvent | null {
  const fail = (field: string, why: string): never => {
    throw new TsemError(why, 'TSEM_INVALID', file, line, field);
  };
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch (e) {
    return fail('', `not JSON (${(e as Error).message})`);
  }
  const obj = (v: unknown, field: string) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as { [k: string]: unknown }) : fail(field, 'expected an object'));
  const r = obj(rec, '');
  const exp = r.export === undefined ? { type: 'event' } : obj(r.export, 'export');
  if (exp.type !== 'event' && exp.type !== 'async_event') return null;
  const ev = obj(r.event, 'event');
  const type = typeof ev.type === 'string' ? ev.type : fail('event.type', 'expected a string');
  const kind = FILE_EVENTS[type];
  if (!kind) return null;
  const num = (v: unknown, field: string): number => {
    if (typeof v !== 'string' || !/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(v)) return fail(field, `expected a decimal, octal or 0x number as a string, got ${JSON.stringify(v)}`);
    const n = v.startsWith('0x') ? parseInt(v.slice(2), 16) : v.length > 1 && v.startsWith('0') ? parseInt(v, 8) : Number(v);
    return Number.isSafeInteger(n) ? n : fail(field, 'number out of range');
  };
  const optNum = (v: unknown, field: string, dflt: number) => (v === undefined ? dflt : num(v, field));
  const body = obj(r[type], type);
  if (type === 'mmap_file' && (optNum(body.prot, 'mmap_file.prot', 0) & PROT_EXEC) === 0) return null;
  const f = obj(body.file, `${type}.file`);
  const inode = obj(f.inode ?? {}, `${type}.file.inode`);
  const path = obj(f.path ?? {}, `${type}.file.path`);
  const coe = obj(r.COE, 'COE');
  const ctx = ev.context === undefined ? '0' : String(ev.context);
  const digests = [];
  if (f.digest !== undefined) {
    const d = typeof f.digest === 'string' ? fromHex(f.digest) : null;
    if (!d || !DIGEST_ALGO[d.length]) fail(`${type}.file.digest`, 'expected a hex digest of 20, 28, 32, 48 or 64 bytes');
    digests.push({ algo: DIGEST_ALGO[d!.length], digest: d! });
  }
  return {
    func: kind.func,
    mask: kind.mask,
    flags: 0,
    proc: {
      pid: optNum(ev.pid, 'event.pid', 0),
      mntns: contexts[ctx] ?? 0,
      userns: 0,
      uid: num(coe.uid, 'COE.uid'),
      euid: num(coe.euid, 'COE.euid'),
      suid: num(coe.suid, 'COE.suid'),
      gid: num(coe.gid, 'COE.gid'),
      egid: num(coe.egid, 'COE.egid'),
      sgid: num(coe.sgid, 'COE.sgid'),
      auid: 4294967295,
      ses: 4294967295,
      comm: typeof ev.process === 'string' ? ev.process : '',
    },
    file: {
      path: typeof path.pathname === 'string' ? path.pathname : fail(`${type}.file.path.pathname`, 'expected a string'),
      dev: 0,
      ino: 0,
      fsmagic: optNum(inode.s_magic, `${type}.file.inode.s_magic`, 0),
      fsname: '',
      fsuuid: typeof inode.s_uuid === 'string' && /^0*$/.test(inode.s_uuid) === false ? inode.s_uuid : '',
      uid: optNum(inode.uid, `${type}.file.inode.uid`, 0),
      gid: optNum(inode.gid, `${type}.file.inode.gid`, 0),
      mode: optNum(inode.mode, `${type}.file.inode.mode`, 0),
      size: 0,
      digests,
      xattr: null,
    },
  };
}

export class TsemSource implements Source {
  readonly name = 'tsem';
  forwarded = 0;
  skipped = 0;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly path: string, private readonly contexts: { [ctx: string]: number } = {}) {}

  async start(sink: SourceSink): Promise<void> {
    this.done = (async () => {
      const rl = createInterface({ input: createReadStream(this.path), crlfDelay: Infinity });
      let n = 0;
      for await (const text of rl) {
        n++;
        if (!text.trim()) continue;
        try {
          const ev = parseTsemRecord(text, this.contexts, this.path, n);
          if (ev) {
            this.forwarded++;
            sink.event(ev);
          } else this.skipped++;
        } catch (e) {
          this.skipped++;
          sink.notice('tsem', (e as Error).message);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    await this.done;
  }

  async stats(): Promise<{ [name: string]: number }> {
    return { forwarded: this.forwarded, skipped: this.skipped };
  }
}
