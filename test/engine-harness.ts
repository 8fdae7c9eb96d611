// Drives an in-process engine the way the bridge does: CONTROL requests, EVENT batches built from
// real files (content hashed with node:crypto, security.ima read from the file), QUERY and ATTEST.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { CONTROL_OP, FileEvent, FileInfo, FUNC, MAY, Message, MSG, ProcInfo, Verdict } from '../protocol/messages.js';
import { createEngine } from '../coprocessor/core/engine/engine.js';
import { createNodePlatform, NodePlatform, NodePlatformOptions } from '../coprocessor/node/platform.js';
import { readImaXattr } from '../coprocessor/node/xattr.js';
import { parseImaXattr } from '../coprocessor/core/ima/xattr.js';

const NODE_HASH: { [algo: number]: string } = { 2: 'sha1', 4: 'sha256', 5: 'sha384', 6: 'sha512' };

export class EngineError extends Error {
  constructor(
    readonly code: number,
    text: string,
  ) {
    super(text);
  }
}

/** FileInfo for a real file: sha256 and sha1 digests, plus the xattr's algorithm when another. */
export function fileInfo(path: string, over: Partial<FileInfo> = {}): FileInfo {
  const content = readFileSync(path);
  const st = statSync(path);
  const xattr = readImaXattr(path);
  const algos = [4, 2];
  if (xattr && xattr.length) {
    const a = parseImaXattr(xattr).algo;
    if (NODE_HASH[a] && algos.indexOf(a) < 0) algos.push(a);
  }
  const digests = algos.map((algo) => ({ algo, digest: new Uint8Array(createHash(NODE_HASH[algo]).update(content).digest()) }));
  return { path, dev: st.dev, ino: st.ino, fsmagic: 0xef53, fsname: 'ext4', fsuuid: '', uid: st.uid, gid: st.gid, mode: st.mode, size: st.size, digests, xattr, ...over };
}

export function proc(mntns: number, over: Partial<ProcInfo> = {}): ProcInfo {
  return { pid: 4242, mntns, userns: 0, uid: 0, euid: 0, suid: 0, gid: 0, egid: 0, sgid: 0, auid: 4294967295, ses: 4294967295, comm: 'cat', ...over };
}

export class Harness {
  readonly platform: NodePlatform;
  engine: ReturnType<typeof createEngine>;
  private req = 1;
  private eventId = 1;

  constructor(readonly opts: NodePlatformOptions = {}) {
    this.platform = createNodePlatform(opts);
    this.engine = createEngine(this.platform);
  }

  /** A new engine over the same state directory (a restart). */
  restart(): Harness {
    this.platform.close();
    return new Harness(this.opts);
  }

  send(msg: Message): Message[] {
    return this.engine.handle(msg);
  }

  private result(replies: Message[]): unknown {
    const r = replies[0];
    if (r.type === MSG.ERROR) throw new EngineError(r.code, r.text);
    if (r.type !== MSG.RESULT) throw new Error('unexpected reply ' + JSON.stringify(r));
    return r.value;
  }

  control(op: number, args: { [k: string]: unknown }): any {
    return this.result(this.send({ type: MSG.CONTROL, req: this.req++, op, args }));
  }

  query(op: number, args: { [k: string]: unknown }): any {
    return this.result(this.send({ type: MSG.QUERY, req: this.req++, op, args }));
  }

  attest(ns: number, nonce: Uint8Array): any {
    return this.result(this.send({ type: MSG.ATTEST, req: this.req++, ns, nonce }));
  }

  nsCreate(mntns: number, parent = 0, more: { [k: string]: unknown } = {}): number {
    return this.control(CONTROL_OP.NS_CREATE, { mntns, parent, ...more }).ns;
  }

  policy(ns: number, text: string): number {
    return this.control(CONTROL_OP.POLICY_LOAD, { ns, text }).rules;
  }

  addCert(ns: number, certPath: string): number {
    return this.control(CONTROL_OP.KEYS_ADD, { ns, cert: new Uint8Array(readFileSync(certPath)) }).keyid;
  }

  aggregate(ns: number): { count: number; violations: number; sha1: Uint8Array; sha256: Uint8Array } {
    return this.control(CONTROL_OP.AGGREGATE, { ns });
  }

  list(ns: number, format: 'ascii' | 'binary' = 'ascii', bank = 'sha1'): Uint8Array {
    return this.control(CONTROL_OP.MEASUREMENTS, { ns, bank, format }).data;
  }

  events(evs: Omit<FileEvent, 'id'>[]): Verdict[] {
    const replies = this.send({ type: MSG.EVENT, events: evs.map((e) => ({ id: this.eventId++, ...e })) });
    const v = replies[0];
    if (v.type !== MSG.VERDICT) throw new Error('expected VERDICT, got ' + JSON.stringify(v));
    return v.verdicts;
  }

  /** One FILE_CHECK read of `path` by a process in `mntns`. */
  open(path: string, mntns: number, over: Partial<FileEvent> = {}, file?: FileInfo): Verdict {
    return this.events([{ func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: proc(mntns), file: file ?? fileInfo(path), ...over }])[0];
  }
}
