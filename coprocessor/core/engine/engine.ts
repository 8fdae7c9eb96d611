// The modeling engine: namespaces with their own IMA policy, keyring, reference digests and
// measurement list; one message in, its replies out (EngineApi). For an event in namespace N,
// N's policy and then each ancestor's decide in turn: every namespace whose policy measures the
// file appends it to its own list, every namespace whose policy appraises it must pass it with its
// own keys and references (its ancestors' count too, its descendants' never), and any failure
// denies. Nothing reads a clock or a random source except through the platform, so a trace gives
// the same lists on every platform. State changes go to the journal before the replies leave.
// Portable (Espruino profile).
import {
  APPRAISAL, Attest, Control, CONTROL_OP, ERR, EVENT_FLAG, EventBatch, FileEvent, FileInfo, FUNC, Hello, Message, MSG,
  MSG_IGNORABLE_FROM, NsStatus, PROTOCOL_VERSION, Query, QUERY_OP, Verdict, VERDICT,
} from '../../../protocol/messages.js';
import { toHex } from '../../../protocol/bytes.js';
import { EngineApi } from '../engine.js';
import { Platform, PublicKey } from '../platform.js';
import { ALGO, bankByName, digestSize, hashAlgoName } from '../ima/hash-algo.js';
import { XATTR } from '../ima/xattr.js';
import { appraiseFile, fileDigest, kernelCause, NO_REQUIREMENT, Outcome, Requirement, xattrHashAlgo } from './appraise.js';
import { Args, boolArg, bytesArg, codedError, fileArg, intArg, textArg, describe } from './args.js';
import { AUDIT_INTEGRITY_DATA, AUDIT_INTEGRITY_PCR, integrityMessage, integrityRule, stamp } from './audit.js';
import { Journal } from './journal.js';
import { FileState, Namespace, NamespaceTree } from './namespaces.js';
import { FileCache } from './file-cache.js';
import { Decision, FileMeasurement, LoadedPolicy, NsList } from './ports.js';
import { createList } from './list-port.js';
import { eventContext, loadPolicy } from './policy-port.js';
import { MatchContext } from '../policy/index.js';
import { makeQuote } from './quote.js';

export type Ns = Namespace<LoadedPolicy, NsList>;

/** The xattr when a template's sig field would keep it (types 0x03, 0x06), else null: only that is journaled. */
function signatureXattr(x: Uint8Array | null): Uint8Array | null {
  return x !== null && x.length > 0 && (x[0] === XATTR.DIGSIG || x[0] === XATTR.VERITY_DIGSIG) ? x : null;
}

/** Counters reported by QUERY STATS. */
export interface EngineStats {
  events: number;
  denied: number;
  measurements: number;
  violations: number;
  appraisals: number;
  appraisalCacheHits: number;
  audits: number;
  listFull: number;
  replayed: number;
  replayFailed: number;
}

const ERROR_CODES: { [code: string]: number } = {
  MALFORMED: ERR.MALFORMED,
  BAD_ARGUMENT: ERR.BAD_ARGUMENT,
  NO_SUCH_NAMESPACE: ERR.NO_SUCH_NAMESPACE,
  POLICY_INVALID: ERR.POLICY_INVALID,
  KEY_INVALID: ERR.KEY_INVALID,
  CAPACITY: ERR.CAPACITY,
};

const DEFAULT_TEMPLATE = 'ima-ng';

/** Bytes a RESULT's envelope and the export's other fields take beyond its data. */
const REPLY_OVERHEAD = 64;

/** Journal record kinds. */
const J = { NS_CREATE: 'n', NS_DELETE: 'd', POLICY: 'p', KEY: 'k', REFS: 'r', MEASURE: 'm', VIOLATION: 'v' };

function errorMsg(req: number, code: number, text: string): Message {
  return { type: MSG.ERROR, req: req, code: code, text: text };
}

function caughtError(req: number, e: unknown): Message {
  const code = e && typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
  const text = e instanceof Error ? e.message : String(e);
  if (typeof code === 'string' && ERROR_CODES[code] !== undefined) return errorMsg(req, ERROR_CODES[code], text);
  return errorMsg(req, ERR.INTERNAL, 'internal error: ' + text);
}

/** The algorithms this platform hashes with, by kernel name. */
function hashNames(platform: Platform): string[] {
  const out: string[] = [];
  const probe = new Uint8Array(0);
  const algos = [ALGO.SHA1, ALGO.SHA256, ALGO.SHA384, ALGO.SHA512];
  for (let i = 0; i < algos.length; i++) if (platform.hash(algos[i], probe) !== null) out.push(hashAlgoName(algos[i]));
  return out;
}

export function createEngine(platform: Platform): EngineApi & { stats: EngineStats } {
  const limits = platform.limits;
  const tree = new NamespaceTree<LoadedPolicy, NsList>(limits.maxNamespaces);
  // Per file version (grown on demand up to this many), what each namespace that met it knows
  // of it: one table lookup per event, whatever the depth of its namespace.
  const files = new FileCache<FileState[]>(platform.profile === 'espruino' ? 64 : 8192);
  const journal = new Journal(platform.storage, platform.crc32);
  const stats: EngineStats = { events: 0, denied: 0, measurements: 0, violations: 0, appraisals: 0, appraisalCacheHits: 0, audits: 0, listFull: 0, replayed: 0, replayFailed: 0 };
  let auditSerial = 0;
  /** Largest message the peer and this engine agreed on (HELLO), the platform's until then. */
  let messageBudget = limits.maxMessage;
  let replaying = false;
  let listFullNs = -1;

  function record(rec: unknown[]): void {
    if (!replaying) journal.add(rec);
  }

  function nextStamp(): string {
    auditSerial++;
    return stamp(platform.now(), auditSerial);
  }

  function newList(): NsList {
    return createList(platform);
  }

  function clearAppraisals(): void {
    files.each(function (states: FileState[]): void {
      for (let i = 0; i < states.length; i++) {
        states[i].outcomes[0] = null;
        states[i].outcomes[1] = null;
      }
    });
  }

  const host = tree.createHost();
  host.list = newList();

  // ---- measurement -------------------------------------------------------------------------

  function listRoom(ns: Ns): boolean {
    if (limits.maxEntriesInRam > 0 && ns.list !== null && ns.list.count() >= limits.maxEntriesInRam) {
      stats.listFull++;
      listFullNs = ns.id;
      return false;
    }
    return true;
  }

  function measurementOf(file: FileInfo, d: Decision): FileMeasurement {
    // The kernel measures with the xattr's hash algorithm when there is one (ima_get_hash_algo).
    let algo = xattrHashAlgo(file.xattr);
    let digest = fileDigest(file, algo);
    if (digest === null) {
      algo = ALGO.SHA256;
      digest = fileDigest(file, algo);
    }
    if (digest === null && file.digests.length) {
      algo = file.digests[0].algo;
      digest = file.digests[0].digest;
    }
    return {
      pcr: d.pcr,
      template: d.template === '' ? DEFAULT_TEMPLATE : d.template,
      path: file.path,
      algo: algo,
      digest: digest === null ? new Uint8Array(digestSize(algo)) : digest,
      sha1: fileDigest(file, ALGO.SHA1),
      xattr: signatureXattr(file.xattr),
    };
  }

  /** Adds `m` to `ns`'s list; false when the list had no room (it is retried next time). */
  function addMeasurement(ns: Ns, m: FileMeasurement): boolean {
    if (ns.list === null || !listRoom(ns)) return false;
    if (ns.list.addFile(m)) {
      stats.measurements++;
      record([J.MEASURE, ns.id, m.pcr, m.template, m.path, m.algo, m.digest, m.sha1, m.xattr]);
    }
    return true;
  }

  function addViolation(ns: Ns, path: string): void {
    if (ns.list === null || !listRoom(ns)) return;
    ns.list.addViolation(path);
    stats.violations++;
    record([J.VIOLATION, ns.id, path]);
  }

  // ---- appraisal ---------------------------------------------------------------------------

  /** The states namespaces keep for this file version (one per namespace that met it). */
  function statesOf(file: FileInfo): FileState[] {
    let states = files.get(file);
    if (states === null) {
      states = [];
      files.set(file, states);
    }
    return states;
  }

  /** The state `ns` keeps in `states`, created when absent. `hint` is where it usually is: events
   * from one namespace meet a file along the same chain, so states line up with the chain. */
  function stateIn(states: FileState[], ns: Ns, hint: number): FileState {
    if (hint < states.length && states[hint].ns === ns.id) return states[hint];
    for (let i = 0; i < states.length; i++) if (states[i].ns === ns.id) return states[i];
    const s: FileState = { ns: ns.id, measured: false, audited: false, outcomes: [null, null] };
    states.push(s);
    return s;
  }

  /** Set by appraiseIn: whether its outcome was computed now (else it came from the cache). */
  let appraisedNow = false;

  /** Appraisal in `ns` with its trust chain. */
  function appraiseIn(ns: Ns, s: FileState, file: FileInfo, req: Requirement, nocache: boolean): Outcome {
    const slot = req.signature ? 1 : 0;
    // appraise_algos= rules are rare: their outcomes are not kept.
    const keep = req.algos === 0;
    const hit = s.outcomes[slot];
    if (keep && !nocache && hit !== null) {
      stats.appraisalCacheHits++;
      appraisedNow = false;
      return hit;
    }
    const out = appraiseFile(platform, ns.trustChain, file, req);
    stats.appraisals++;
    if (keep) s.outcomes[slot] = out;
    appraisedNow = true;
    return out;
  }

  // ---- events ------------------------------------------------------------------------------

  /** One event through its namespace and each ancestor. LATE events (the host let them through
   * on its deadline) are evaluated like the others: their measurements count, and their verdict
   * tells the host what to cache for the next access. */
  function evaluate(ev: FileEvent): Verdict {
    const file = ev.file;
    const start = tree.resolve(ev.proc.mntns, ev.proc.userns);
    const chain = start.chain;
    const statuses: NsStatus[] = [];
    const audit: string[] = [];
    let code = 0;
    let cacheable = true;
    let m: FileMeasurement | null = null;
    let ctx: MatchContext | null = null;
    let states: FileState[] | null = null;
    for (let i = 0; i < chain.length; i++) {
      const ns = chain[i];
      const st: NsStatus = { ns: ns.id, measured: false, appraisal: APPRAISAL.NOT_APPRAISED, cause: '' };
      statuses.push(st);
      if (ns.policy === null) continue;
      if (ctx === null) ctx = eventContext(ev);
      const d = ns.policy.decide(ctx);
      if (!d.measure && !d.appraise && !d.audit) continue;
      if (states === null) states = statesOf(file);
      const fst = stateIn(states, ns, i);
      if (d.measure) {
        if (ev.flags & (EVENT_FLAG.TOMTOU | EVENT_FLAG.OPEN_WRITERS)) {
          cacheable = false;
          if (ev.flags & EVENT_FLAG.TOMTOU) {
            addViolation(ns, file.path);
            audit.push(integrityMessage(AUDIT_INTEGRITY_PCR, nextStamp(), ev.proc, file, 'invalid_pcr', 'ToMToU', true));
          }
          if (ev.flags & EVENT_FLAG.OPEN_WRITERS) {
            addViolation(ns, file.path);
            audit.push(integrityMessage(AUDIT_INTEGRITY_PCR, nextStamp(), ev.proc, file, 'invalid_pcr', 'open_writers', true));
          }
        }
        if (!fst.measured) {
          if (m === null || m.pcr !== d.pcr || m.template !== (d.template === '' ? DEFAULT_TEMPLATE : d.template)) m = measurementOf(file, d);
          fst.measured = addMeasurement(ns, m);
          // A list without room: the host must ask again rather than cache an unmeasured allow.
          if (!fst.measured) cacheable = false;
        }
        st.measured = fst.measured;
        if (fst.measured) code |= VERDICT.MEASURED;
      }
      if (d.appraise) {
        const out = appraiseIn(ns, fst, file, d.req, false);
        st.appraisal = out.appraisal;
        st.cause = out.cause;
        code |= VERDICT.APPRAISED;
        if (out.appraisal !== APPRAISAL.PASS) {
          code |= VERDICT.DENY;
          if (appraisedNow) audit.push(integrityMessage(AUDIT_INTEGRITY_DATA, nextStamp(), ev.proc, file, 'appraise_data', kernelCause(out.cause), false));
        }
      }
      if (d.audit) {
        cacheable = false;
        if (!fst.audited) {
          if (m === null) m = measurementOf(file, d);
          audit.push(integrityRule(nextStamp(), ev.proc, file, hashAlgoName(m.algo), toHex(m.digest)));
          fst.audited = true;
          stats.audits++;
        }
      }
    }
    if (cacheable) code |= VERDICT.CACHEABLE;
    if (code & VERDICT.DENY) stats.denied++;
    stats.events++;
    return { id: ev.id, code: code, statuses: statuses, audit: audit };
  }

  function handleEvents(batch: EventBatch): Message[] {
    const verdicts: Verdict[] = [];
    const out: Message[] = [];
    listFullNs = -1;
    const events = batch.events;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i];
      try {
        verdicts.push(evaluate(ev));
      } catch (e) {
        // Never allow what could not be evaluated.
        verdicts.push({ id: ev && typeof ev.id === 'number' ? ev.id : -1, code: VERDICT.DENY, statuses: [], audit: [] });
        out.push(caughtError(-1, e));
      }
    }
    journal.flush();
    out.unshift({ type: MSG.VERDICT, verdicts: verdicts });
    if (listFullNs >= 0) out.push(errorMsg(-1, ERR.CAPACITY, 'namespace ' + listFullNs + ': measurement list full (' + limits.maxEntriesInRam + ' entries); measurements were dropped'));
    return out;
  }

  // ---- control -----------------------------------------------------------------------------

  function aggregateOf(ns: Ns): { count: number; violations: number; sha1: Uint8Array; sha256: Uint8Array } {
    if (ns.final !== null) return ns.final;
    const l = ns.list as NsList;
    return {
      count: l.count(),
      violations: l.violations(),
      sha1: l.aggregate(ALGO.SHA1) || new Uint8Array(20),
      sha256: l.aggregate(ALGO.SHA256) || new Uint8Array(32),
    };
  }

  function nsCreate(args: Args): unknown {
    const fail = textArg(args, 'fail', 'closed');
    if (fail !== 'closed' && fail !== 'open') throw codedError('BAD_ARGUMENT', 'argument "fail" must be "closed" or "open", got ' + describe(fail));
    const spec = {
      mntns: intArg(args, 'mntns', 0),
      userns: intArg(args, 'userns', 0),
      parent: intArg(args, 'parent', 0),
      fail: fail,
      deadlineMs: intArg(args, 'deadlineMs', 0),
    };
    const ns = tree.create(spec);
    ns.list = newList();
    record([J.NS_CREATE, ns.id, spec.mntns, spec.userns, spec.parent, spec.fail, spec.deadlineMs]);
    return { ns: ns.id };
  }

  function nsDelete(args: Args): unknown {
    const id = intArg(args, 'ns', null);
    const ns = tree.liveById(id);
    const agg = aggregateOf(ns);
    tree.remove(id);
    ns.final = agg;
    ns.list = null;
    ns.policy = null;
    record([J.NS_DELETE, id]);
    return { ns: id, count: agg.count, sha1: agg.sha1, sha256: agg.sha256 };
  }

  function nsList(): unknown {
    const out: unknown[] = [];
    for (let i = 0; i < tree.all.length; i++) {
      const ns = tree.all[i];
      out.push({
        ns: ns.id,
        parent: ns.parent < 0 ? 0 : ns.parent,
        mntns: ns.mntns,
        userns: ns.userns,
        fail: ns.fail,
        deadlineMs: ns.deadlineMs,
        entries: ns.final !== null ? ns.final.count : (ns.list as NsList).count(),
        deleted: ns.deleted,
      });
    }
    return out;
  }

  function policyLoad(args: Args): unknown {
    const ns = tree.liveById(intArg(args, 'ns', null));
    const text = textArg(args, 'text', null);
    const r = loadPolicy(text);
    if (!r.ok) throw codedError('POLICY_INVALID', r.error);
    if (limits.maxRules > 0 && r.policy.rules > limits.maxRules) throw codedError('CAPACITY', 'policy has ' + r.policy.rules + ' rules; this engine holds at most ' + limits.maxRules + ' per namespace');
    ns.policy = r.policy;
    files.each(function (states: FileState[]): void {
      for (let i = 0; i < states.length; i++) if (states[i].ns === ns.id) states.splice(i, 1);
    });
    record([J.POLICY, ns.id, text]);
    return { rules: r.policy.rules };
  }

  function keysAdd(args: Args): unknown {
    const ns = tree.liveById(intArg(args, 'ns', null));
    const cert = bytesArg(args, 'cert');
    if (!platform.parseCertificate) throw codedError('KEY_INVALID', 'this engine (' + platform.profile + ') has no public-key crypto: it cannot hold certificates');
    let key: PublicKey;
    try {
      key = platform.parseCertificate(cert);
    } catch (e) {
      throw codedError('KEY_INVALID', e instanceof Error ? e.message : String(e));
    }
    ns.trust.addKey(key);
    clearAppraisals();
    record([J.KEY, ns.id, cert]);
    return { keyid: key.keyid };
  }

  function refsAdd(args: Args): unknown {
    const ns = tree.liveById(intArg(args, 'ns', null));
    const list = args.digests;
    if (!Array.isArray(list)) throw codedError('BAD_ARGUMENT', 'argument "digests" must be an array of [algo, bytes], got ' + describe(list));
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number' || !(p[1] instanceof Uint8Array)) throw codedError('BAD_ARGUMENT', 'digests[' + i + '] must be [algo, bytes]');
      const size = digestSize(p[0]);
      if (size === 0 || p[1].length !== size) throw codedError('BAD_ARGUMENT', 'digests[' + i + ']: ' + p[1].length + ' bytes is not a ' + (hashAlgoName(p[0]) || 'hash_algo ' + p[0]) + ' digest' + (size ? ' (' + size + ' bytes)' : ''));
    }
    let added = 0;
    for (let i = 0; i < list.length; i++) if (ns.trust.addRef(list[i][0], list[i][1])) added++;
    if (added) clearAppraisals();
    record([J.REFS, ns.id, list]);
    return { count: added };
  }

  function measurements(args: Args): unknown {
    const ns = tree.liveById(intArg(args, 'ns', null));
    const bankName = textArg(args, 'bank', 'sha1');
    const bank = bankByName(bankName);
    if (bank < 0) throw codedError('BAD_ARGUMENT', 'argument "bank" must be sha1, sha256, sha384 or sha512, got ' + describe(bankName));
    const format = textArg(args, 'format', 'binary');
    if (format !== 'binary' && format !== 'ascii') throw codedError('BAD_ARGUMENT', 'argument "format" must be "binary" or "ascii", got ' + describe(format));
    const l = ns.list as NsList;
    const from = intArg(args, 'from', 0);
    const max = intArg(args, 'max', l.count());
    // The reply must fit in one message: fewer entries are sent (the caller continues from
    // from + entries), down to one entry, which is sent whatever its size.
    return l.export(bank, format, from, max, messageBudget - REPLY_OVERHEAD);
  }

  function aggregate(args: Args): unknown {
    const id = intArg(args, 'ns', null);
    const ns = tree.byId(id);
    if (ns === null) throw codedError('NO_SUCH_NAMESPACE', 'no namespace ' + id);
    return aggregateOf(ns);
  }

  function policyShow(args: Args): unknown {
    const ns = tree.liveById(intArg(args, 'ns', null));
    return { text: ns.policy !== null ? ns.policy.show() : '' };
  }

  function control(op: number, args: Args): unknown {
    if (op === CONTROL_OP.NS_CREATE) return nsCreate(args);
    if (op === CONTROL_OP.NS_DELETE) return nsDelete(args);
    if (op === CONTROL_OP.NS_LIST) return nsList();
    if (op === CONTROL_OP.POLICY_LOAD) return policyLoad(args);
    if (op === CONTROL_OP.POLICY_SHOW) return policyShow(args);
    if (op === CONTROL_OP.KEYS_ADD) return keysAdd(args);
    if (op === CONTROL_OP.REFS_ADD) return refsAdd(args);
    if (op === CONTROL_OP.MEASUREMENTS) return measurements(args);
    if (op === CONTROL_OP.AGGREGATE) return aggregate(args);
    throw codedError('BAD_ARGUMENT', 'unknown CONTROL operation ' + op);
  }

  // ---- queries -----------------------------------------------------------------------------

  /** The requirement `ns`'s policy would set for this file under `func`, or none. */
  function requirementFor(ns: Ns, file: FileInfo, func: number): Requirement {
    if (ns.policy === null) return NO_REQUIREMENT;
    const mask = func === FUNC.BPRM_CHECK || func === FUNC.MMAP_CHECK ? 1 : 4;
    const proc = { pid: 0, mntns: ns.mntns, userns: ns.userns, uid: 0, euid: 0, suid: 0, gid: 0, egid: 0, sgid: 0, auid: 4294967295, ses: 4294967295, comm: '' };
    const d = ns.policy.decide(eventContext({ id: 0, func: func, mask: mask, flags: 0, proc: proc, file: file }));
    return d.appraise ? d.req : NO_REQUIREMENT;
  }

  function query(op: number, args: Args): unknown {
    if (op === QUERY_OP.STATS) {
      const s: { [k: string]: number } = {};
      const keys = Object.keys(stats);
      for (let i = 0; i < keys.length; i++) s[keys[i]] = (stats as unknown as { [k: string]: number })[keys[i]];
      s.namespaces = tree.live();
      return s;
    }
    const ns = tree.liveById(intArg(args, 'ns', null));
    const file = fileArg(args, 'file');
    const nocache = boolArg(args, 'nocache');
    if (op === QUERY_OP.APPRAISE) {
      const func = intArg(args, 'func', FUNC.FILE_CHECK);
      const statuses: NsStatus[] = [];
      let code = VERDICT.APPRAISED;
      for (let i = 0; i < ns.chain.length; i++) {
        const n = ns.chain[i];
        const out = appraiseIn(n, stateIn(statesOf(file), n, i), file, requirementFor(n, file, func), nocache);
        statuses.push({ ns: n.id, measured: false, appraisal: out.appraisal, cause: out.cause });
        if (out.appraisal !== APPRAISAL.PASS) code |= VERDICT.DENY;
      }
      return { statuses: statuses, code: code };
    }
    if (op === QUERY_OP.IS_SIGNED) {
      const r = appraiseIn(ns, stateIn(statesOf(file), ns, 0), file, { signature: true, algos: 0 }, nocache);
      const out: { [k: string]: unknown } = { signed: r.appraisal === APPRAISAL.PASS, cause: r.cause };
      if (r.keyid !== 0) out.keyid = r.keyid;
      return out;
    }
    throw codedError('BAD_ARGUMENT', 'unknown QUERY operation ' + op);
  }

  // ---- attestation -------------------------------------------------------------------------

  function attest(msg: Attest): unknown {
    const ns = tree.byId(msg.ns);
    if (ns === null) throw codedError('NO_SUCH_NAMESPACE', 'no namespace ' + msg.ns);
    if (!(msg.nonce instanceof Uint8Array) || msg.nonce.length > 64) throw codedError('BAD_ARGUMENT', 'nonce must be at most 64 bytes, got ' + describe(msg.nonce));
    const a = aggregateOf(ns);
    return makeQuote(platform, { ns: ns.id, count: a.count, violations: a.violations, sha1: a.sha1, sha256: a.sha256, nonce: msg.nonce, time: Math.floor(platform.now()), deleted: ns.deleted });
  }

  // ---- journal replay ----------------------------------------------------------------------

  function apply(rec: unknown[]): void {
    const kind = rec[0];
    const id = rec[1] as number;
    if (kind === J.NS_CREATE) {
      const ns = tree.create({ mntns: rec[2] as number, userns: rec[3] as number, parent: rec[4] as number, fail: rec[5] as string, deadlineMs: rec[6] as number });
      if (ns.id !== id) throw codedError('INTERNAL', 'journal: namespace ' + id + ' replayed as ' + ns.id);
      ns.list = newList();
    } else if (kind === J.NS_DELETE) nsDelete({ ns: id });
    else if (kind === J.POLICY) policyLoad({ ns: id, text: rec[2] });
    else if (kind === J.KEY) keysAdd({ ns: id, cert: rec[2] });
    else if (kind === J.REFS) refsAdd({ ns: id, digests: rec[2] });
    else if (kind === J.MEASURE) {
      const ns = tree.liveById(id);
      (ns.list as NsList).addFile({ pcr: rec[2] as number, template: rec[3] as string, path: rec[4] as string, algo: rec[5] as number, digest: rec[6] as Uint8Array, sha1: rec[7] as Uint8Array | null, xattr: rec[8] as Uint8Array | null });
    } else if (kind === J.VIOLATION) (tree.liveById(id).list as NsList).addViolation(rec[2] as string);
    else throw codedError('INTERNAL', 'journal: unknown record kind ' + describe(kind));
  }

  replaying = true;
  const records = journal.replay();
  for (let i = 0; i < records.length; i++) {
    // A record this build cannot apply (say, a policy an older build accepted) is skipped and
    // counted, never fatal: the engine still starts and answers.
    try {
      apply(records[i] as unknown[]);
      stats.replayed++;
    } catch (e) {
      stats.replayFailed++;
    }
  }
  replaying = false;

  // ---- messages ----------------------------------------------------------------------------

  function helloAck(h: Hello): Message[] {
    if (h.version !== PROTOCOL_VERSION) return [errorMsg(-1, ERR.UNSUPPORTED_VERSION, 'protocol version ' + h.version + ' not supported (this engine speaks ' + PROTOCOL_VERSION + ')')];
    const theirs = h.limits;
    if (!theirs || typeof theirs !== 'object' || typeof theirs.maxMessage !== 'number' || typeof theirs.internSlots !== 'number') return [errorMsg(-1, ERR.MALFORMED, 'HELLO without limits {maxMessage, internSlots, …}')];
    messageBudget = Math.min(theirs.maxMessage, limits.maxMessage);
    const algorithms = hashNames(platform);
    if (platform.verifySignature) algorithms.push('rsa', 'ecdsa-p256', 'ecdsa-p384');
    algorithms.push(platform.sign ? 'ecdsa-p256-sha256' : 'hmac-sha256');
    return [
      {
        type: MSG.HELLO_ACK,
        version: PROTOCOL_VERSION,
        profile: platform.profile,
        limits: {
          maxFrame: theirs.maxFrame,
          maxMessage: messageBudget,
          window: theirs.window,
          internSlots: Math.min(theirs.internSlots, limits.internSlots),
          maxNamespaces: limits.maxNamespaces,
          maxRules: limits.maxRules,
          maxEntriesInRam: limits.maxEntriesInRam,
        },
        algorithms: algorithms,
      },
    ];
  }

  function request(req: number, body: () => unknown): Message[] {
    try {
      const value = body();
      journal.flush();
      return [{ type: MSG.RESULT, req: req, value: value }];
    } catch (e) {
      journal.discard();
      return [caughtError(req, e)];
    }
  }

  function handle(msg: Message): Message[] {
    try {
      switch (msg.type) {
        case MSG.HELLO:
          return helloAck(msg as Hello);
        case MSG.EVENT:
          return handleEvents(msg as EventBatch);
        case MSG.CONTROL: {
          const c = msg as Control;
          return request(c.req, function () {
            return control(c.op, c.args || {});
          });
        }
        case MSG.QUERY: {
          const q = msg as Query;
          return request(q.req, function () {
            return query(q.op, q.args || {});
          });
        }
        case MSG.ATTEST: {
          const a = msg as Attest;
          return request(a.req, function () {
            return attest(a);
          });
        }
        case MSG.PING:
          return [{ type: MSG.PONG, token: msg.token }];
        default: {
          const t = (msg as { type: number }).type;
          if (typeof t === 'number' && t >= MSG_IGNORABLE_FROM) return [];
          const req = typeof (msg as { req?: unknown }).req === 'number' ? (msg as { req: number }).req : -1;
          return [errorMsg(req, ERR.UNSUPPORTED_TYPE, 'the engine does not accept message type ' + t)];
        }
      }
    } catch (e) {
      try {
        journal.flush();
      } catch (e2) {
        journal.discard();
      }
      return [caughtError(-1, e)];
    }
  }

  return { handle: handle, stats: stats };
}
