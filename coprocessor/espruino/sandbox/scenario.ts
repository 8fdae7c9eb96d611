// One engine session as a trace of host messages, run twice: by the Node engine on the Node
// platform, and by the portable bundle on the board platform inside the board sandbox. Both
// ends go through the real wire layer (WireEncoder/WireDecoder over the portable CBOR codec), so
// the replies compare as bytes: verdicts, measurement lists (binary and ascii exports),
// aggregates, errors. Signatures stay out: the board has no public-key crypto.
import { createHash } from 'node:crypto';
import { CONTROL_OP, FileEvent, FileInfo, FUNC, MAY, Message, MSG, ProcInfo, QUERY_OP } from '../../../protocol/messages.js';
import { createPortableCodec } from '../../../protocol/cbor.js';
import { WireDecoder, WireEncoder } from '../../../protocol/wire.js';
import { Link } from '../../../protocol/link.js';
import { PlatformLimits } from '../../core/platform.js';
import { BoardSandbox } from './board-sandbox.js';

export const FIXED_NOW = 1_700_000_000_000;
export const SCENARIO_LIMITS: PlatformLimits = { maxNamespaces: 4, maxRules: 16, maxEntriesInRam: 0, internSlots: 64, maxMessage: 4096 };
const MNTNS_A = 4026532501;
const MNTNS_B = 4026532502;

type Obj = { [k: string]: unknown };
type Fn = (...a: unknown[]) => unknown;

function file(path: string, content: string, uid: number, xattr: 'good' | 'bad' | 'none'): FileInfo {
  const sha256 = new Uint8Array(createHash('sha256').update(content).digest());
  const sha1 = new Uint8Array(createHash('sha1').update(content).digest());
  let x: Uint8Array | null = null;
  if (xattr !== 'none') {
    x = new Uint8Array(2 + 32);
    x[0] = 0x04;
    x[1] = 4;
    x.set(xattr === 'good' ? sha256 : new Uint8Array(createHash('sha256').update(content + '!').digest()), 2);
  }
  let ino = 0;
  for (let i = 0; i < path.length; i++) ino = (ino * 31 + path.charCodeAt(i)) >>> 0;
  return { path, dev: 0x801, ino, fsmagic: 0x01021994, fsname: 'tmpfs', fsuuid: '', uid, gid: uid, mode: 0o100644, size: content.length, digests: [{ algo: 4, digest: sha256 }, { algo: 2, digest: sha1 }], xattr: x };
}

function proc(mntns: number, pid: number, comm: string): ProcInfo {
  return { pid, mntns, userns: 0, uid: 1000, euid: 1000, suid: 1000, gid: 1000, egid: 1000, sgid: 1000, auid: 1000, ses: 3, comm };
}

/** `events` file events spread over two container namespaces and the host, most files repeating. */
export function eventTrace(events: number, firstId = 1): FileEvent[] {
  const files = [
    file('/srv/app/main.py', 'print("hello")\n', 1000, 'good'),
    file('/srv/app/lib.py', 'def f():\n  return 1\n', 1000, 'good'),
    file('/srv/app/tampered.py', 'import os\n', 1000, 'bad'),
    file('/srv/app/unsigned.py', 'x = 1\n', 1000, 'none'),
    file('/etc/hosts', '127.0.0.1 localhost\n', 0, 'none'),
    file('/usr/bin/tool', '\x7fELF....', 0, 'none'),
  ];
  const procs = [proc(MNTNS_A, 100, 'python3'), proc(MNTNS_B, 200, 'sh'), proc(4026531840, 1, 'init')];
  const out: FileEvent[] = [];
  for (let i = 0; i < events; i++) {
    const f = files[(i * 7 + (i >> 3)) % files.length];
    const exec = f.path === '/usr/bin/tool';
    out.push({ id: firstId + i, func: exec ? FUNC.BPRM_CHECK : FUNC.FILE_CHECK, mask: exec ? MAY.EXEC : MAY.READ, flags: 0, proc: procs[i % procs.length], file: f });
  }
  return out;
}

/** The session: HELLO, namespaces and policies (one bad), events in batches, exports, errors. */
export function scenarioTrace(events = 40): Message[] {
  let req = 1;
  const control = (op: number, args: Obj): Message => ({ type: MSG.CONTROL, req: req++, op, args });
  const trace: Message[] = [
    { type: MSG.HELLO, version: 1, profile: 'host', limits: { maxFrame: 256, maxMessage: 4096, window: 4, internSlots: 64, maxNamespaces: 0, maxRules: 0, maxEntriesInRam: 0 }, algorithms: ['sha256', 'sha1'] },
    { type: MSG.PING, token: 7 },
    control(CONTROL_OP.POLICY_LOAD, { ns: 0, text: 'measure func=BPRM_CHECK\nmeasure func=FILE_CHECK mask=MAY_READ uid=0\n' }),
    control(CONTROL_OP.NS_CREATE, { mntns: MNTNS_A }),
    control(CONTROL_OP.NS_CREATE, { mntns: MNTNS_B, parent: 1 }),
    control(CONTROL_OP.POLICY_LOAD, { ns: 1, text: 'measure func=FILE_CHECK mask=MAY_READ\nappraise func=FILE_CHECK fowner=1000\naudit func=FILE_CHECK fowner=1000\n' }),
    control(CONTROL_OP.POLICY_LOAD, { ns: 2, text: 'measure func=FILE_CHECK template=ima-sig\ndont_appraise fsmagic=0x01021994\n' }),
    control(CONTROL_OP.POLICY_LOAD, { ns: 2, text: 'measure func=FILE_CHECK bogus=1\n' }),
    control(CONTROL_OP.POLICY_SHOW, { ns: 1 }),
    control(CONTROL_OP.NS_CREATE, { mntns: 4026532503 }),
    control(CONTROL_OP.NS_CREATE, { mntns: 4026532504 }),
    control(CONTROL_OP.MEASUREMENTS, { ns: 9, bank: 'sha256', format: 'binary', from: 0, max: 10 }),
  ];
  const evs = eventTrace(events);
  for (let i = 0; i < evs.length; i += 8) trace.push({ type: MSG.EVENT, events: evs.slice(i, i + 8) });
  for (const ns of [0, 1, 2]) {
    trace.push(control(CONTROL_OP.MEASUREMENTS, { ns, bank: 'sha256', format: 'binary', from: 0, max: 1000 }));
    trace.push(control(CONTROL_OP.MEASUREMENTS, { ns, bank: 'sha1', format: 'ascii', from: 0, max: 1000 }));
    trace.push(control(CONTROL_OP.AGGREGATE, { ns }));
  }
  trace.push(control(CONTROL_OP.NS_LIST, {}));
  trace.push({ type: MSG.QUERY, req: req++, op: QUERY_OP.APPRAISE, args: { ns: 1, file: file('/srv/app/main.py', 'print("hello")\n', 1000, 'good') } } as Message);
  trace.push({ type: MSG.QUERY, req: req++, op: QUERY_OP.STATS, args: {} });
  trace.push(control(CONTROL_OP.NS_DELETE, { ns: 2 }));
  trace.push(control(CONTROL_OP.AGGREGATE, { ns: 2 }));
  return trace;
}

/** Replies as hex, one string per reply, HELLO_ACK's platform-specific fields set aside. */
export type Transcript = string[][];

function helloSlots(reply: Obj): number {
  return ((reply.limits as Obj).internSlots as number) || 0;
}

/** A link stand-in for serveEngine: what it sends is collected, `receive` is Served.receive. */
interface FakeLink {
  sent: Uint8Array[];
  /** The session limits serveEngine sizes its replies to, as a Link has them. */
  params: { maxFrame: number; window: number; maxMessage: number };
  send(b: Uint8Array): boolean;
  onMessage(cb: (b: Uint8Array) => void): void;
  onReset(cb: () => void): void;
}

function fakeLink(): FakeLink {
  const l: FakeLink = {
    sent: [],
    params: { maxFrame: 256, window: 4, maxMessage: 65536 },
    send(b: Uint8Array): boolean {
      l.sent.push(b);
      return true;
    },
    onMessage() {},
    onReset() {},
  };
  return l;
}

/**
 * Feed the trace to a served engine (`receive`, replies appearing in `link.sent`), the host end
 * encoding as the bridge does; HELLO_ACK's platform-specific fields are set aside (re-encoded
 * without them) so the two platforms' transcripts compare.
 */
function drive(trace: Message[], receive: (bytes: Uint8Array) => void, link: FakeLink, toEngine: (b: Uint8Array) => Uint8Array): Transcript {
  const enc = new WireEncoder(createPortableCodec(), 0);
  const dec = new WireDecoder(createPortableCodec(), 0);
  const norm = new WireEncoder(createPortableCodec(), 0);
  const out: Transcript = [];
  for (const m of trace) {
    link.sent.length = 0;
    receive(toEngine(enc.encode(m)));
    const hex: string[] = [];
    for (const raw of link.sent) {
      const b = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) b[i] = raw[i];
      const r = dec.decode(b);
      if (r && r.type === MSG.HELLO_ACK) {
        const slots = helloSlots(r as unknown as Obj);
        for (const x of [enc, dec, norm]) x.reset(slots);
        hex.push(Buffer.from(norm.encode({ ...r, profile: 'node', algorithms: [] })).toString('hex'));
      } else hex.push(Buffer.from(b).toString('hex'));
    }
    out.push(hex);
  }
  return out;
}

/** The Node engine on the Node platform, served as `imans engine` serves it. */
export async function runOnNode(trace: Message[], limits: PlatformLimits): Promise<Transcript> {
  const { createNodePlatform } = await import('../../node/platform.js');
  const { createEngine } = await import('../../core/engine/engine.js');
  const { serveEngine } = await import('../../core/serve.js');
  const platform = createNodePlatform({ limits, now: () => FIXED_NOW });
  const link = fakeLink();
  const served = serveEngine(link as unknown as Link, createPortableCodec(), createEngine(platform));
  try {
    return drive(trace, served.receive, link, (b) => b);
  } finally {
    platform.close();
  }
}

/**
 * The portable bundle (already loaded in `sb`, as PORTABLE) on the board platform, served as the
 * firmware serves it. Date.now is pinned, as the Node side's clock is.
 */
export function runOnBoard(sb: BoardSandbox, trace: Message[], limits: PlatformLimits): Transcript {
  sb.run(`Date.now = function () { return ${FIXED_NOW}; };`);
  const P = sb.run('PORTABLE') as { [m: string]: Obj };
  const board = sb.run('({ E: E, crypto: require("crypto"), storage: require("Storage") })');
  const platform = (P['coprocessor/espruino/platform'].createEspruinoPlatform as Fn)(board, sb.run('(' + JSON.stringify(limits) + ')'));
  const engine = (P['coprocessor/core/engine/engine'].createEngine as Fn)(platform);
  const codec = (P['protocol/cbor'].createPortableCodec as Fn)();
  const link = fakeLink();
  const served = (P['coprocessor/core/serve'].serveEngine as Fn)(link, codec, engine) as { receive(b: Uint8Array): void };
  const toRealm = sb.run('(function (s) { return E.toUint8Array(s); })') as (s: string) => Uint8Array;
  return drive(trace, (b) => served.receive(b), link, (b) => toRealm(Buffer.from(b).toString('latin1')));
}

/** Decode a transcript's replies back to messages (for readable diffs). */
export function decodeTranscript(t: Transcript): unknown[][] {
  const dec = new WireDecoder(createPortableCodec(), 64);
  return t.map((hs) =>
    hs.map((h) => {
      try {
        return dec.decode(new Uint8Array(Buffer.from(h, 'hex')));
      } catch (e) {
        return 'undecodable: ' + (e as Error).message;
      }
    }),
  );
}

/**
 * The trace sent over a real link to an engine elsewhere (the interpreter on a pty). Each message
 * is followed by a PING whose PONG marks the end of its replies (the engine answers in order).
 * HELLO_ACK is normalised as runOnNode does, so the transcripts compare.
 */
export async function runOverLink(link: Link, trace: Message[], timeoutMs = 60_000): Promise<Transcript> {
  const enc = new WireEncoder(createPortableCodec(), 0);
  const dec = new WireDecoder(createPortableCodec(), 0);
  const normEnc = new WireEncoder(createPortableCodec(), 0);
  const out: Transcript = [];
  let current: string[] = [];
  let waiting: (() => void) | null = null;
  let sentinel = -1;
  link.onMessage((bytes) => {
    const m = dec.decode(bytes);
    if (m && m.type === MSG.PONG && m.token === sentinel) {
      out.push(current);
      current = [];
      const w = waiting;
      waiting = null;
      if (w) w();
      return;
    }
    if (m && m.type === MSG.HELLO_ACK) {
      const slots = helloSlots(m as unknown as Obj);
      dec.reset(slots);
      enc.reset(slots);
      normEnc.reset(slots);
      current.push(Buffer.from(normEnc.encode({ ...m, profile: 'node', algorithms: [] })).toString('hex'));
      return;
    }
    current.push(Buffer.from(bytes).toString('hex'));
  });
  for (let i = 0; i < trace.length; i++) {
    sentinel = 1_000_000 + i;
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to message ${i} (type ${trace[i].type}) within ${timeoutMs} ms`)), timeoutMs);
      waiting = () => {
        clearTimeout(t);
        resolve();
      };
    });
    link.send(enc.encode(trace[i]));
    link.send(enc.encode({ type: MSG.PING, token: sentinel }));
    await done;
  }
  return out;
}
