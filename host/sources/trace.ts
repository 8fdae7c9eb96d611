// Recorded traces: one FileEvent per line as JSON (JSON lines), byte strings as lowercase hex:
//
//   {"id":1,"func":1,"mask":4,"flags":0,
//    "proc":{"pid":42,"mntns":4026532301,"userns":4026531837,"uid":0,"euid":0,"suid":0,"gid":0,"egid":0,"sgid":0,"auid":4294967295,"ses":4294967295,"comm":"cat"},
//    "file":{"path":"/srv/a","dev":45,"ino":7,"fsmagic":16914836,"fsname":"tmpfs","fsuuid":"","uid":0,"gid":0,"mode":33188,"size":6,
//            "digests":[{"algo":4,"digest":"5891b5b5…"}],"xattr":"0404…"}}      (xattr null when the file has none)
//
// Blank lines and lines starting with '#' are skipped. `imans record` writes these from live
// fanotify events; the simulator and the replay source read them.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { FileEvent, FileInfo, ProcInfo } from '../../protocol/messages.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { Source, SourceSink } from '../bridge.js';

export class TraceError extends Error {
  constructor(message: string, readonly code: string, readonly file: string, readonly line: number, readonly field: string) {
    super(`${file}:${line}: ${field ? field + ': ' : ''}${message}`);
  }
}

export function traceLine(ev: FileEvent): string {
  return JSON.stringify({
    id: ev.id,
    func: ev.func,
    mask: ev.mask,
    flags: ev.flags,
    proc: ev.proc,
    file: { ...ev.file, digests: ev.file.digests.map((d) => ({ algo: d.algo, digest: toHex(d.digest) })), xattr: ev.file.xattr ? toHex(ev.file.xattr) : null },
  });
}

const PROC_INTS = ['pid', 'mntns', 'userns', 'uid', 'euid', 'suid', 'gid', 'egid', 'sgid', 'auid', 'ses'] as const;
const FILE_INTS = ['dev', 'ino', 'fsmagic', 'uid', 'gid', 'mode', 'size'] as const;

/** Parse one trace line; throws TraceError naming the line and the field at fault. */
export function parseTraceLine(text: string, file = '<trace>', line = 1): FileEvent {
  const fail = (field: string, why: string): never => {
    throw new TraceError(why, 'TRACE_INVALID', file, line, field);
  };
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    return fail('', `not JSON (${(e as Error).message})`);
  }
  const obj = (v: unknown, field: string) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as { [k: string]: unknown }) : fail(field, 'expected an object'));
  const int = (v: unknown, field: string) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(field, `expected a non-negative integer, got ${JSON.stringify(v)}`));
  const str = (v: unknown, field: string) => (typeof v === 'string' ? v : fail(field, 'expected a string'));
  const hex = (v: unknown, field: string) => {
    const b = typeof v === 'string' ? fromHex(v) : null;
    return b ?? fail(field, 'expected a hex string');
  };
  const e = obj(o, '');
  const p = obj(e.proc, 'proc');
  const f = obj(e.file, 'file');
  const proc = { comm: str(p.comm, 'proc.comm') } as ProcInfo;
  for (const k of PROC_INTS) proc[k] = int(p[k], `proc.${k}`);
  if (!Array.isArray(f.digests)) fail('file.digests', 'expected an array');
  const digests = (f.digests as unknown[]).map((d, i) => {
    const dd = obj(d, `file.digests[${i}]`);
    return { algo: int(dd.algo, `file.digests[${i}].algo`), digest: hex(dd.digest, `file.digests[${i}].digest`) };
  });
  const info = {
    path: str(f.path, 'file.path'),
    fsname: f.fsname === undefined ? '' : str(f.fsname, 'file.fsname'),
    fsuuid: f.fsuuid === undefined ? '' : str(f.fsuuid, 'file.fsuuid'),
    digests,
    xattr: f.xattr === null || f.xattr === undefined ? null : hex(f.xattr, 'file.xattr'),
  } as FileInfo;
  for (const k of FILE_INTS) info[k] = int(f[k], `file.${k}`);
  return { id: int(e.id, 'id'), func: int(e.func, 'func'), mask: int(e.mask, 'mask'), flags: int(e.flags, 'flags'), proc, file: info };
}

/** Every event of a trace file, in order. */
export async function* readTrace(path: string): AsyncGenerator<FileEvent> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim() === '' || text.startsWith('#')) continue;
    yield parseTraceLine(text, path, n);
  }
}

/** Replays a trace into the bridge (nothing to enforce: the opens happened long ago). */
export class TraceSource implements Source {
  readonly name = 'trace';
  replayed = 0;
  done: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  async start(sink: SourceSink): Promise<void> {
    this.done = (async () => {
      for await (const ev of readTrace(this.path)) {
        this.replayed++;
        sink.event({ func: ev.func, mask: ev.mask, flags: ev.flags, proc: ev.proc, file: ev.file });
      }
    })().catch((e: Error) => sink.notice('trace', e.message));
  }

  async stop(): Promise<void> {
    await this.done;
  }

  async stats(): Promise<{ [name: string]: number }> {
    return { replayed: this.replayed };
  }
}
