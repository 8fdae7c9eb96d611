// Messages ↔ the positional CBOR arrays on the wire (SPEC.md §3), with the intern table (§4) for
// EVENT batches. Every field is validated on the way in and on the way out, by the same
// functions, so a message one end encodes is one the other accepts; a wrong field is a
// ProtocolError (code MALFORMED, BAD_ARGUMENT, UNKNOWN_INTERN, UNSUPPORTED_TYPE or CAPACITY)
// naming it, e.g. "events[3].fileRef".
//
// Portable (Espruino profile).

import { Codec, encodeCbor, encodeHead, isPlainObject, isProtocolError, isSafeInt, ProtocolError, protocolError } from './cbor.js';
import { concat, equalBytes } from './bytes.js';
import { INTERN_KIND, InternChooser, InternTable } from './intern.js';
import {
  CONTROL_OP,
  Digest,
  ERR,
  FileEvent,
  FileInfo,
  Limits,
  Message,
  MSG,
  MSG_IGNORABLE_FROM,
  NsStatus,
  ProcInfo,
  QUERY_OP,
  Verdict,
} from './messages.js';

export const WIRE_ERROR = {
  MALFORMED: 'MALFORMED',
  UNSUPPORTED_TYPE: 'UNSUPPORTED_TYPE',
  UNKNOWN_INTERN: 'UNKNOWN_INTERN',
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  CAPACITY: 'CAPACITY',
} as const;

const ERR_OF: { [code: string]: number } = {
  MALFORMED: ERR.MALFORMED,
  UNSUPPORTED_TYPE: ERR.UNSUPPORTED_TYPE,
  UNKNOWN_INTERN: ERR.UNKNOWN_INTERN,
  BAD_ARGUMENT: ERR.BAD_ARGUMENT,
  CAPACITY: ERR.CAPACITY,
};

function wireError(code: string, field: string, what: string): ProtocolError {
  return protocolError(code, ERR_OF[code], field + ': ' + what, -1, field);
}

function malformed(field: string, what: string): ProtocolError {
  return wireError(WIRE_ERROR.MALFORMED, field, what);
}

// ---- field checks (shared by both directions) ---------------------------------------------

/** A field's name, built only when an error names it (hot loops pass the parts). */
function fieldName(base: string, i?: number, name?: string): string {
  return (i === undefined || i < 0 ? base : base + '[' + i + ']') + (name || '');
}

function uint(v: unknown, base: string, i?: number, name?: string): number {
  if (!isSafeInt(v) || v < 0) throw malformed(fieldName(base, i, name), 'expected an unsigned integer');
  return v;
}

function text(v: unknown, base: string, i?: number, name?: string): string {
  if (typeof v !== 'string') throw malformed(fieldName(base, i, name), 'expected text');
  return v;
}

function bytes(v: unknown, base: string, i?: number, name?: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw malformed(fieldName(base, i, name), 'expected a byte string');
  return v;
}

function bool(v: unknown, base: string, i?: number, name?: string): boolean {
  if (v !== true && v !== false) throw malformed(fieldName(base, i, name), 'expected true or false');
  return v;
}

/** An array of at least `min` elements; elements beyond those the reader knows are ignored. */
function arr(v: unknown, min: number, base: string, i?: number, name?: string): unknown[] {
  if (!Array.isArray(v)) throw malformed(fieldName(base, i, name), 'expected an array');
  if (v.length < min) throw malformed(fieldName(base, i, name), 'expected at least ' + min + ' elements, got ' + v.length);
  return v;
}

function map(v: unknown, field: string): { [k: string]: unknown } {
  if (!isPlainObject(v)) throw malformed(field, 'expected a map');
  return v;
}

// ---- FileInfo and ProcInfo tuples ---------------------------------------------------------

/** [path, dev, ino, fsmagic, fsname, fsuuid, uid, gid, mode, size, [[algo, digest]…], xattr|null] */
export function fileInfoToWire(f: FileInfo): unknown[] {
  const ds: unknown[] = [];
  const digests = f.digests;
  if (Array.isArray(digests)) for (let i = 0; i < digests.length; i++) ds.push(digests[i] ? [digests[i].algo, digests[i].digest] : digests[i]);
  return [f.path, f.dev, f.ino, f.fsmagic, f.fsname, f.fsuuid, f.uid, f.gid, f.mode, f.size, Array.isArray(digests) ? ds : digests, f.xattr];
}

export function fileInfoFromWire(v: unknown, field: string): FileInfo {
  const a = arr(v, 12, field);
  const ds = arr(a[10], 0, field, -1, '.digests');
  const digests: Digest[] = [];
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i] as unknown[];
    if (!Array.isArray(d) || d.length < 2 || !isSafeInt(d[0]) || d[0] < 0 || !(d[1] instanceof Uint8Array)) {
      const f = field + '.digests';
      arr(d, 2, f, i);
      uint(d[0], f, i, '.algo');
      bytes(d[1], f, i, '.digest');
    }
    digests.push({ algo: d[0] as number, digest: d[1] as Uint8Array });
  }
  return {
    path: text(a[0], field, -1, '.path'),
    dev: uint(a[1], field, -1, '.dev'),
    ino: uint(a[2], field, -1, '.ino'),
    fsmagic: uint(a[3], field, -1, '.fsmagic'),
    fsname: text(a[4], field, -1, '.fsname'),
    fsuuid: text(a[5], field, -1, '.fsuuid'),
    uid: uint(a[6], field, -1, '.uid'),
    gid: uint(a[7], field, -1, '.gid'),
    mode: uint(a[8], field, -1, '.mode'),
    size: uint(a[9], field, -1, '.size'),
    digests: digests,
    xattr: a[11] === null ? null : bytes(a[11], field, -1, '.xattr'),
  };
}

/** [pid, mntns, userns, uid, euid, suid, gid, egid, sgid, auid, ses, comm] */
export function procInfoToWire(p: ProcInfo): unknown[] {
  return [p.pid, p.mntns, p.userns, p.uid, p.euid, p.suid, p.gid, p.egid, p.sgid, p.auid, p.ses, p.comm];
}

export function procInfoFromWire(v: unknown, field: string): ProcInfo {
  const a = arr(v, 12, field);
  return {
    pid: uint(a[0], field, -1, '.pid'),
    mntns: uint(a[1], field, -1, '.mntns'),
    userns: uint(a[2], field, -1, '.userns'),
    uid: uint(a[3], field, -1, '.uid'),
    euid: uint(a[4], field, -1, '.euid'),
    suid: uint(a[5], field, -1, '.suid'),
    gid: uint(a[6], field, -1, '.gid'),
    egid: uint(a[7], field, -1, '.egid'),
    sgid: uint(a[8], field, -1, '.sgid'),
    auid: uint(a[9], field, -1, '.auid'),
    ses: uint(a[10], field, -1, '.ses'),
    comm: text(a[11], field, -1, '.comm'),
  };
}

// ---- CONTROL and QUERY arguments ----------------------------------------------------------

/** Argument types: in memory and on the wire alike, except `file` (FileInfo ↔ its tuple). */
const ARG = { UINT: 0, TEXT: 1, BYTES: 2, BOOL: 3, FILE: 4, DIGESTS: 5 } as const;

interface ArgSpec {
  name: string;
  type: number;
  required: boolean;
  /** Allowed text values, when the argument is an enumeration. */
  values?: string[];
}

function req(name: string, type: number, values?: string[]): ArgSpec {
  return { name: name, type: type, required: true, values: values };
}

function opt(name: string, type: number, values?: string[]): ArgSpec {
  return { name: name, type: type, required: false, values: values };
}

/** Indexed by op number (messages.ts CONTROL_OP / QUERY_OP comments are the contract). */
const CONTROL_ARGS: ArgSpec[][] = [];
CONTROL_ARGS[CONTROL_OP.NS_CREATE] = [req('mntns', ARG.UINT), opt('userns', ARG.UINT), opt('parent', ARG.UINT), opt('fail', ARG.TEXT, ['closed', 'open']), opt('deadlineMs', ARG.UINT)];
CONTROL_ARGS[CONTROL_OP.NS_DELETE] = [req('ns', ARG.UINT)];
CONTROL_ARGS[CONTROL_OP.NS_LIST] = [];
CONTROL_ARGS[CONTROL_OP.POLICY_LOAD] = [req('ns', ARG.UINT), req('text', ARG.TEXT)];
CONTROL_ARGS[CONTROL_OP.POLICY_SHOW] = [req('ns', ARG.UINT)];
CONTROL_ARGS[CONTROL_OP.KEYS_ADD] = [req('ns', ARG.UINT), req('cert', ARG.BYTES)];
CONTROL_ARGS[CONTROL_OP.REFS_ADD] = [req('ns', ARG.UINT), req('digests', ARG.DIGESTS)];
CONTROL_ARGS[CONTROL_OP.MEASUREMENTS] = [req('ns', ARG.UINT), req('bank', ARG.TEXT), req('format', ARG.TEXT, ['binary', 'ascii']), req('from', ARG.UINT), req('max', ARG.UINT)];
CONTROL_ARGS[CONTROL_OP.AGGREGATE] = [req('ns', ARG.UINT)];

const QUERY_ARGS: ArgSpec[][] = [];
QUERY_ARGS[QUERY_OP.APPRAISE] = [req('ns', ARG.UINT), req('file', ARG.FILE), opt('func', ARG.UINT), opt('nocache', ARG.BOOL)];
QUERY_ARGS[QUERY_OP.IS_SIGNED] = [req('ns', ARG.UINT), req('file', ARG.FILE), opt('nocache', ARG.BOOL)];
QUERY_ARGS[QUERY_OP.STATS] = [];

function badArg(field: string, what: string): ProtocolError {
  return wireError(WIRE_ERROR.BAD_ARGUMENT, field, what);
}

/** Check one argument; `toWire` turns in-memory forms into wire forms, else the reverse. */
function convertArg(spec: ArgSpec, v: unknown, field: string, toWire: boolean): unknown {
  try {
    if (spec.type === ARG.UINT) return uint(v, field);
    if (spec.type === ARG.BOOL) return bool(v, field);
    if (spec.type === ARG.BYTES) return bytes(v, field);
    if (spec.type === ARG.TEXT) {
      const s = text(v, field);
      if (spec.values && spec.values.indexOf(s) < 0) throw badArg(field, 'expected one of ' + spec.values.join(', '));
      return s;
    }
    if (spec.type === ARG.FILE) {
      if (!toWire) return fileInfoFromWire(v, field);
      const t = fileInfoToWire(v as FileInfo);
      fileInfoFromWire(t, field);
      return t;
    }
    const ds = arr(v, 0, field);
    for (let i = 0; i < ds.length; i++) {
      const d = arr(ds[i], 2, field + '[' + i + ']');
      uint(d[0], field + '[' + i + '][0]');
      bytes(d[1], field + '[' + i + '][1]');
    }
    return ds;
  } catch (e) {
    // A wrongly typed argument is the request's fault, not the framing's: BAD_ARGUMENT.
    if (isProtocolError(e) && e.code === WIRE_ERROR.MALFORMED) throw badArg(e.field || field, e.message);
    throw e;
  }
}

/** Known ops: exactly their arguments (unknown keys dropped). Unknown ops: the map as is, for the receiver to refuse. */
function convertArgs(specs: ArgSpec[] | undefined, v: unknown, field: string, toWire: boolean): { [k: string]: unknown } {
  const m = map(v, field);
  if (specs === undefined) return m;
  const out: { [k: string]: unknown } = {};
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i];
    const x = m[s.name];
    if (x === undefined) {
      if (s.required) throw badArg(field + '.' + s.name, 'missing');
      continue;
    }
    out[s.name] = convertArg(s, x, field + '.' + s.name, toWire);
  }
  return out;
}

// ---- HELLO limits -------------------------------------------------------------------------

const LIMIT_KEYS = ['maxFrame', 'maxMessage', 'window', 'internSlots', 'maxNamespaces', 'maxRules', 'maxEntriesInRam'];

function limitsFrom(v: unknown, field: string): Limits {
  const m = map(v, field);
  const out: { [k: string]: number } = {};
  for (let i = 0; i < LIMIT_KEYS.length; i++) out[LIMIT_KEYS[i]] = uint(m[LIMIT_KEYS[i]], field + '.' + LIMIT_KEYS[i]);
  return out as unknown as Limits;
}

const PROFILES = ['node', 'espruino', 'host'];

// ---- verdicts -----------------------------------------------------------------------------

function statusFromWire(v: unknown, field: string): NsStatus {
  const a = arr(v, 4, field);
  return { ns: uint(a[0], field, -1, '.ns'), measured: bool(a[1], field, -1, '.measured'), appraisal: uint(a[2], field, -1, '.appraisal'), cause: text(a[3], field, -1, '.cause') };
}

/** A verdict's wire item: its code alone, or [code, statuses, audit] when it carries detail. */
function verdictToWire(v: Verdict, i: number): unknown {
  const ss = arr(v.statuses || [], 0, 'verdicts', i, '.statuses');
  const audit = arr(v.audit || [], 0, 'verdicts', i, '.audit');
  if (ss.length === 0 && audit.length === 0) return v.code;
  const st: unknown[] = [];
  for (let i = 0; i < ss.length; i++) {
    const s = ss[i] as NsStatus;
    st.push(s ? [s.ns, s.measured, s.appraisal, s.cause] : s);
  }
  return [v.code, st, audit];
}

function verdictFromWire(v: unknown, id: number, i: number): Verdict {
  if (!Array.isArray(v)) return { id: id, code: uint(v, 'verdicts', i), statuses: [], audit: [] };
  const field = fieldName('verdicts', i);
  const a = arr(v, 3, field);
  const st = arr(a[1], 0, field, -1, '.statuses');
  const statuses: NsStatus[] = [];
  for (let k = 0; k < st.length; k++) statuses.push(statusFromWire(st[k], fieldName(field + '.statuses', k)));
  const au = arr(a[2], 0, field, -1, '.audit');
  const audit: string[] = [];
  for (let k = 0; k < au.length; k++) audit.push(text(au[k], field + '.audit', k));
  return { id: id, code: uint(a[0], field, -1, '.code'), statuses: statuses, audit: audit };
}

// ---- everything but EVENT (stateless) -----------------------------------------------------

/** The wire array of a message other than EVENT, validated as the receiver will. */
function toWire(m: Message): unknown[] {
  let a: unknown[];
  if (m.type === MSG.HELLO || m.type === MSG.HELLO_ACK) {
    const lim: { [k: string]: unknown } = {};
    const l = (m.limits || {}) as unknown as { [k: string]: unknown };
    for (let i = 0; i < LIMIT_KEYS.length; i++) lim[LIMIT_KEYS[i]] = l[LIMIT_KEYS[i]];
    a = [m.type, m.version, m.profile, lim, m.algorithms];
  } else if (m.type === MSG.VERDICT) {
    const vs = arr(m.verdicts, 0, 'verdicts') as Verdict[];
    const items: unknown[] = [];
    const first = vs.length > 0 && vs[0] ? vs[0].id : 0;
    for (let i = 0; i < vs.length; i++) {
      if (!vs[i] || vs[i].id !== first + i) throw malformed(fieldName('verdicts', i, '.id'), 'ids in a batch must be consecutive from ' + first);
      items.push(verdictToWire(vs[i], i));
    }
    a = [m.type, first, items];
  } else if (m.type === MSG.CONTROL) {
    a = [m.type, m.req, m.op, convertArgs(CONTROL_ARGS[m.op], m.args, 'args', true)];
  } else if (m.type === MSG.QUERY) {
    a = [m.type, m.req, m.op, convertArgs(QUERY_ARGS[m.op], m.args, 'args', true)];
  } else if (m.type === MSG.ATTEST) a = [m.type, m.req, m.ns, m.nonce];
  else if (m.type === MSG.RESULT) a = [m.type, m.req, m.value];
  else if (m.type === MSG.ERROR) a = [m.type, m.req, m.code, m.text];
  else if (m.type === MSG.PING || m.type === MSG.PONG) a = [m.type, m.token];
  else throw wireError(WIRE_ERROR.UNSUPPORTED_TYPE, 'type', 'cannot encode message type ' + (m as { type: unknown }).type);
  fromWire(a, m.type);
  return a;
}

/** Validate a decoded wire array of a known type other than EVENT. */
function fromWire(a: unknown[], type: number): Message {
  if (type === MSG.HELLO || type === MSG.HELLO_ACK) {
    arr(a, 5, 'message');
    const profile = text(a[2], 'profile');
    if (PROFILES.indexOf(profile) < 0) throw malformed('profile', 'expected one of ' + PROFILES.join(', '));
    const al = arr(a[4], 0, 'algorithms');
    const algorithms: string[] = [];
    for (let i = 0; i < al.length; i++) algorithms.push(text(al[i], 'algorithms', i));
    return { type: type as typeof MSG.HELLO, version: uint(a[1], 'version'), profile: profile as 'node', limits: limitsFrom(a[3], 'limits'), algorithms: algorithms };
  }
  if (type === MSG.VERDICT) {
    arr(a, 3, 'message');
    const first = uint(a[1], 'firstId');
    const items = arr(a[2], 0, 'verdicts');
    const verdicts: Verdict[] = [];
    for (let i = 0; i < items.length; i++) verdicts.push(verdictFromWire(items[i], first + i, i));
    return { type: MSG.VERDICT, verdicts: verdicts };
  }
  if (type === MSG.ERROR) {
    arr(a, 4, 'message');
    if (!isSafeInt(a[1]) || (a[1] as number) < -1) throw malformed('req', 'expected a request id or −1');
    return { type: MSG.ERROR, req: a[1] as number, code: uint(a[2], 'code'), text: text(a[3], 'text') };
  }
  if (type === MSG.PING || type === MSG.PONG) {
    arr(a, 2, 'message');
    return { type: type as typeof MSG.PING, token: uint(a[1], 'token') };
  }
  // Requests and their results carry an id: a later failure names it so the ERROR can answer it.
  arr(a, 2, 'message');
  const id = uint(a[1], 'req');
  try {
    if (type === MSG.CONTROL) {
      arr(a, 4, 'message');
      const op = uint(a[2], 'op');
      return { type: MSG.CONTROL, req: id, op: op, args: convertArgs(CONTROL_ARGS[op], a[3], 'args', false) };
    }
    if (type === MSG.QUERY) {
      arr(a, 4, 'message');
      const op = uint(a[2], 'op');
      return { type: MSG.QUERY, req: id, op: op, args: convertArgs(QUERY_ARGS[op], a[3], 'args', false) };
    }
    if (type === MSG.ATTEST) {
      arr(a, 4, 'message');
      return { type: MSG.ATTEST, req: id, ns: uint(a[2], 'ns'), nonce: bytes(a[3], 'nonce') };
    }
    arr(a, 3, 'message');
    return { type: MSG.RESULT, req: id, value: a[2] };
  } catch (e) {
    if (isProtocolError(e)) e.req = id;
    throw e;
  }
}

/** Whether the receiver of this protocol version understands `type` (else: ERROR or drop, SPEC §3.2). */
function knownType(t: number): boolean {
  return t >= MSG.HELLO && t <= MSG.RESULT;
}

// ---- the two ends -------------------------------------------------------------------------

const HEAD_EVENT = encodeHead(4, 4);
const TYPE_EVENT = encodeHead(0, MSG.EVENT);

function headLen(n: number): number {
  return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : n < 4294967296 ? 5 : 9;
}

/** The encoding half of one link end: a codec and, for EVENT, the encoder's view of the intern table. */
export class WireEncoder {
  private codec: Codec;
  private table: InternChooser;

  /** `slots`: the agreed intern table size (the minimum of both HELLO internSlots); 0 until HELLO. */
  constructor(codec: Codec, slots: number) {
    this.codec = codec;
    this.table = new InternChooser(slots);
  }

  /** Link reset (or a new HELLO): every slot forgotten on both ends, table resized. */
  reset(slots: number): void {
    this.table.reset(slots);
  }

  encode(m: Message): Uint8Array {
    if (m.type !== MSG.EVENT) return this.codec.encode(toWire(m));
    const events = arr(m.events, 0, 'events') as FileEvent[];
    const out = this.batch(events, Infinity);
    if (out.count === events.length) return out.bytes;
    // Not sent: the table must not remember its inserts (forgetting is always safe: the encoder
    // only refers to slots it believes hold a value, and re-inserts what it forgot).
    for (let i = 0; i < out.assigned.length; i++) this.table.forget(out.assigned[i]);
    const first = events[0].id;
    this.prepare(events[out.count], first + out.count, out.count);
    throw wireError(WIRE_ERROR.CAPACITY, 'events', 'the batch references more distinct values than the ' + this.table.slots + ' intern slots');
  }

  /**
   * Encode the longest prefix of `events` that fits in `maxBytes` and in the intern table, as one
   * EVENT message, and record its inserts in the table: the caller MUST send `bytes` (in the
   * current link session; after a reset, encode again from the events). `count` may be less than
   * events.length: the batch also ends before an event that is malformed or whose id does not
   * follow; call again with the rest. Throws (and records nothing) when the first event cannot be
   * sent: MALFORMED naming its bad field, or CAPACITY when it does not fit in `maxBytes` or the table.
   * FileInfo and ProcInfo values are compared by content, so they may be fresh objects every time.
   */
  encodeEvents(events: FileEvent[], maxBytes: number): { bytes: Uint8Array; count: number } {
    const out = this.batch(events, maxBytes);
    return { bytes: out.bytes, count: out.count };
  }

  /** An event's fields and tuples, checked; throws MALFORMED naming the field. */
  private prepare(e: FileEvent, id: number, n: number): { ev: number[]; p: Tuple; f: Tuple } {
    if (!e || typeof e !== 'object') throw malformed(fieldName('events', n), 'expected an event');
    if (e.id !== id) throw malformed(fieldName('events', n, '.id'), 'expected id ' + id + ': ids in a batch are consecutive');
    const func = uint(e.func, 'events', n, '.func');
    const mask = uint(e.mask, 'events', n, '.mask');
    const flags = uint(e.flags, 'events', n, '.flags');
    return {
      ev: flags === 0 ? [0, 0, func, mask] : [0, 0, func, mask, flags],
      p: this.tuple(INTERN_KIND.PROC, e.proc, n, '.proc'),
      f: this.tuple(INTERN_KIND.FILE, e.file, n, '.file'),
    };
  }

  private batch(events: FileEvent[], maxBytes: number): { bytes: Uint8Array; count: number; assigned: number[] } {
    const t = this.table;
    const parts: Uint8Array[] = [];
    const evParts: Uint8Array[] = [];
    const assigned: number[] = [];
    let insBytes = 0;
    let evBytes = 0;
    const first = events.length > 0 && events[0] ? uint(events[0].id, 'events[0].id') : 0;
    const firstBytes = encodeHead(0, first);
    t.beginBatch();
    let n = 0;
    for (; n < events.length; n++) {
      let x: { ev: number[]; p: Tuple; f: Tuple };
      try {
        x = this.prepare(events[n], first + n, n);
      } catch (err) {
        // Nothing of this event is in the table yet: end the batch before it; the next call reports it.
        if (n === 0) throw err;
        break;
      }
      const ev = x.ev;
      const pRef = this.place(x.p, -1);
      const fRef = pRef.slot < 0 ? pRef : this.place(x.f, pRef.hit ? -1 : pRef.slot);
      if (fRef.slot >= 0) {
        ev[0] = pRef.slot;
        ev[1] = fRef.slot;
        const evB = encodeCbor(ev);
        const add = evB.length + pRef.bytes + fRef.bytes;
        const size = 2 + firstBytes.length + headLen(parts.length + (pRef.hit ? 0 : 1) + (fRef.hit ? 0 : 1)) + insBytes + headLen(n + 1) + evBytes + add;
        if (size <= maxBytes) {
          this.commit(pRef, parts, assigned);
          this.commit(fRef, parts, assigned);
          insBytes += pRef.bytes + fRef.bytes;
          evParts.push(evB);
          evBytes += evB.length;
          continue;
        }
      }
      if (fRef.slot >= 0) t.unpin(fRef.slot, fRef.oldPin);
      if (pRef.slot >= 0) t.unpin(pRef.slot, pRef.oldPin);
      if (n === 0) throw wireError(WIRE_ERROR.CAPACITY, 'events[0]', fRef.slot < 0 ? 'the intern table has no slot free for this batch' : 'one event needs more than ' + maxBytes + ' bytes');
      break;
    }
    const out = concat([HEAD_EVENT, TYPE_EVENT, n === 0 ? encodeHead(0, 0) : firstBytes, encodeHead(4, parts.length)].concat(parts, [encodeHead(4, n)], evParts));
    return { bytes: out, count: n, assigned: assigned };
  }

  /**
   * Find a process or file version in the table by content, else validate and encode it for an
   * insert. A hit costs a key and a comparison, no encoding (the hot path: most events repeat).
   */
  private tuple(kind: number, v: unknown, n: number, name: string): Tuple {
    if (!v || typeof v !== 'object') throw malformed(fieldName('events', n, name), 'expected an object');
    const isFile = kind === INTERN_KIND.FILE;
    const key = isFile ? fileKey(v as FileInfo) : procKey(v as ProcInfo);
    const slot = this.table.lookup(key);
    if (slot >= 0 && (isFile ? sameFile(this.table.value(slot) as FileInfo, v as FileInfo) : sameProc(this.table.value(slot) as ProcInfo, v as ProcInfo))) {
      return { kind: kind, slot: slot, key: key, wire: null, snapshot: null };
    }
    // Reading the wire form back validates every field; the wire form, valid once that passes, is
    // what the insert encodes, and the table keeps a copy with its own byte strings.
    const field = fieldName('events', n, name);
    const wire = isFile ? fileInfoToWire(v as FileInfo) : procInfoToWire(v as ProcInfo);
    const checked = isFile ? fileInfoFromWire(wire, field) : procInfoFromWire(wire, field);
    return { kind: kind, slot: -1, key: key, wire: wire, snapshot: isFile ? copyFile(checked as FileInfo) : checked };
  }

  /**
   * Find or choose the slot for a tuple and pin it for this batch (not yet committed). `taken` is
   * a slot this event already chose to overwrite: a value still found there is about to go.
   */
  private place(x: Tuple, taken: number): Placement {
    const t = this.table;
    let hit = x.slot;
    if (hit >= 0 && hit === taken) {
      // The value sits in the slot this event's process is about to take: insert it elsewhere.
      hit = -1;
      x.snapshot = t.value(x.slot);
      x.wire = x.kind === INTERN_KIND.FILE ? fileInfoToWire(x.snapshot as FileInfo) : procInfoToWire(x.snapshot as ProcInfo);
    }
    const slot = hit >= 0 ? hit : t.choose();
    if (slot < 0) return { slot: -1, hit: false, oldPin: 0, bytes: 0, item: null, tuple: x };
    const oldPin = t.pin(slot);
    if (hit >= 0) return { slot: slot, hit: true, oldPin: oldPin, bytes: 0, item: null, tuple: x };
    const item = encodeCbor([slot, x.kind, x.wire]);
    return { slot: slot, hit: false, oldPin: oldPin, bytes: item.length, item: item, tuple: x };
  }

  private commit(p: Placement, parts: Uint8Array[], assigned: number[]): void {
    if (!p.hit) {
      this.table.assign(p.slot, p.tuple.key, p.tuple.snapshot);
      parts.push(p.item as Uint8Array);
      assigned.push(p.slot);
    }
    this.table.touch(p.slot);
  }
}

interface Tuple {
  kind: number;
  /** The slot holding it (−1: not in the table). */
  slot: number;
  key: number;
  /** For an insert: the tuple's validated wire form, and the copy the table keeps. */
  wire: unknown[] | null;
  snapshot: unknown;
}

// The encoder's table finds a value by a few fields, then compares all of them with the copy it
// keeps (so a caller may pass fresh objects each time, or change an object it passed before).

// Keys only find a candidate slot, whose value is then compared in full: a cheap mix of the
// identifying numbers does (a file's path is left out: a hard link's other name just misses).
// Fields are unchecked here; anything not a number mixes in as 0.
function fileKey(f: FileInfo): number {
  const ino = f.ino;
  return (ino ^ Math.floor(ino / 4294967296) ^ (f.dev * 65599) ^ (f.size * 31)) | 0;
}

function procKey(p: ProcInfo): number {
  const ns = p.mntns;
  return (p.pid ^ (ns * 65599) ^ Math.floor(ns / 4294967296) ^ (p.uid * 31)) | 0;
}

function sameBytes(a: Uint8Array, b: unknown): boolean {
  return b instanceof Uint8Array && (a === b || equalBytes(a, b));
}

/** Whether `b` (unchecked input) equals `a` (a validated snapshot) in every field the wire carries. */
function sameFile(a: FileInfo, b: FileInfo): boolean {
  if (
    a.path !== b.path || a.dev !== b.dev || a.ino !== b.ino || a.fsmagic !== b.fsmagic || a.fsname !== b.fsname || a.fsuuid !== b.fsuuid ||
    a.uid !== b.uid || a.gid !== b.gid || a.mode !== b.mode || a.size !== b.size
  ) {
    return false;
  }
  const ad = a.digests;
  const bd = b.digests;
  if (!Array.isArray(bd) || bd.length !== ad.length) return false;
  for (let i = 0; i < ad.length; i++) {
    const d = bd[i];
    if (!d || d.algo !== ad[i].algo || !sameBytes(ad[i].digest, d.digest)) return false;
  }
  return a.xattr === null ? b.xattr === null : sameBytes(a.xattr, b.xattr);
}

function sameProc(a: ProcInfo, b: ProcInfo): boolean {
  return (
    a.pid === b.pid && a.mntns === b.mntns && a.userns === b.userns && a.uid === b.uid && a.euid === b.euid && a.suid === b.suid &&
    a.gid === b.gid && a.egid === b.egid && a.sgid === b.sgid && a.auid === b.auid && a.ses === b.ses && a.comm === b.comm
  );
}

/** A FileInfo with its own byte strings (the caller may reuse or change its buffers). */
function copyFile(f: FileInfo): FileInfo {
  const digests: Digest[] = [];
  for (let i = 0; i < f.digests.length; i++) digests.push({ algo: f.digests[i].algo, digest: f.digests[i].digest.slice() });
  return {
    path: f.path, dev: f.dev, ino: f.ino, fsmagic: f.fsmagic, fsname: f.fsname, fsuuid: f.fsuuid,
    uid: f.uid, gid: f.gid, mode: f.mode, size: f.size, digests: digests, xattr: f.xattr === null ? null : f.xattr.slice(),
  };
}

interface Placement {
  slot: number;
  hit: boolean;
  oldPin: number;
  /** Encoded insert size (0 on a hit). */
  bytes: number;
  item: Uint8Array | null;
  tuple: Tuple;
}

/** The decoding half of one link end: a codec and the decoder's intern table. */
export class WireDecoder {
  private codec: Codec;
  private table: InternTable;
  private stamp: Uint32Array;
  private batch: number;

  constructor(codec: Codec, slots: number) {
    this.codec = codec;
    this.table = new InternTable(slots);
    this.stamp = new Uint32Array(slots);
    this.batch = 0;
  }

  reset(slots: number): void {
    this.table.reset(slots);
    this.stamp = new Uint32Array(slots);
    this.batch = 0;
  }

  /**
   * Decode one message. Returns null for an ignorable extension (type ≥ 32): drop it. Throws a
   * ProtocolError otherwise (CBOR errors keep their code; `err` is the ERROR code to answer with).
   */
  decode(b: Uint8Array): Message | null {
    return this.decodeValue(this.codec.decode(b));
  }

  /** The second half of `decode`, for a value a codec already decoded. */
  decodeValue(v: unknown): Message | null {
    const a = arr(v, 1, 'message');
    const type = uint(a[0], 'type');
    if (type >= MSG_IGNORABLE_FROM) return null;
    if (!knownType(type)) throw wireError(WIRE_ERROR.UNSUPPORTED_TYPE, 'type', 'unknown message type ' + type);
    if (type === MSG.EVENT) return this.events(a);
    return fromWire(a, type);
  }

  private events(a: unknown[]): Message {
    arr(a, 4, 'message');
    const first = uint(a[1], 'firstId');
    const ins = arr(a[2], 0, 'inserts');
    const evs = arr(a[3], 0, 'events');
    const t = this.table;
    // Inserts apply before the events and all together or not at all: undo them on any error.
    const undo: { slot: number; old: { kind: number; value: unknown } }[] = [];
    this.batch = (this.batch + 1) >>> 0 || 1;
    try {
      for (let i = 0; i < ins.length; i++) {
        const x = arr(ins[i], 3, 'inserts', i);
        const slot = uint(x[0], 'inserts', i, '.slot');
        if (slot >= t.slots) throw malformed(fieldName('inserts', i, '.slot'), 'slot ' + slot + ' is beyond the ' + t.slots + ' agreed');
        if (this.stamp[slot] === this.batch) throw malformed(fieldName('inserts', i, '.slot'), 'slot ' + slot + ' is inserted twice in one batch');
        this.stamp[slot] = this.batch;
        const kind = uint(x[1], 'inserts', i, '.kind');
        let value: unknown;
        if (kind === INTERN_KIND.FILE) value = fileInfoFromWire(x[2], fieldName('inserts', i, '.file'));
        else if (kind === INTERN_KIND.PROC) value = procInfoFromWire(x[2], fieldName('inserts', i, '.proc'));
        else throw malformed(fieldName('inserts', i, '.kind'), 'unknown kind ' + kind);
        undo.push({ slot: slot, old: t.put(slot, kind, value) });
      }
      const events: FileEvent[] = [];
      for (let i = 0; i < evs.length; i++) {
        const e = arr(evs[i], 4, 'events', i);
        const ps = uint(e[0], 'events', i, '.procRef');
        const fs = uint(e[1], 'events', i, '.fileRef');
        const proc = t.get(ps, INTERN_KIND.PROC) as ProcInfo | undefined;
        if (proc === undefined) throw wireError(WIRE_ERROR.UNKNOWN_INTERN, fieldName('events', i, '.procRef'), 'slot ' + ps + ' holds no process');
        const file = t.get(fs, INTERN_KIND.FILE) as FileInfo | undefined;
        if (file === undefined) throw wireError(WIRE_ERROR.UNKNOWN_INTERN, fieldName('events', i, '.fileRef'), 'slot ' + fs + ' holds no file');
        events.push({
          id: first + i,
          func: uint(e[2], 'events', i, '.func'),
          mask: uint(e[3], 'events', i, '.mask'),
          flags: e.length > 4 ? uint(e[4], 'events', i, '.flags') : 0,
          proc: proc,
          file: file,
        });
      }
      return { type: MSG.EVENT, events: events };
    } catch (e) {
      for (let i = undo.length - 1; i >= 0; i--) t.restore(undo[i].slot, undo[i].old);
      throw e;
    }
  }
}
