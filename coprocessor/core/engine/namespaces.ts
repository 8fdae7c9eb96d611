// The namespace tree. The host namespace (id 0) is its root and always exists; every other
// namespace stands for a Linux mount namespace (and optionally a user namespace), named by inode
// number, and has a parent. An event is handled by the namespace configured for its mount
// namespace, else for its user namespace, else by the host: creating Linux namespaces costs
// nothing until one is configured. Ids are assigned in order and never reused, so a deleted
// namespace's final aggregate keeps its name for attestation.
// Portable (Espruino profile): namespaces live in an array scanned linearly (there are few),
// with a one-entry memo for the hot lookup.
import { Trust } from './keyring.js';
import { Outcome } from './appraise.js';

export interface FinalAggregate {
  count: number;
  violations: number;
  sha1: Uint8Array;
  sha256: Uint8Array;
}

/** What a namespace keeps; `P` is the policy type and `L` the measurement list type. */
export interface Namespace<P, L> {
  id: number;
  parent: number;
  mntns: number;
  userns: number;
  /** Stored for the bridge: what to do when no verdict arrives in time. */
  fail: string;
  deadlineMs: number;
  deleted: boolean;
  /** This namespace, then each ancestor up to the host. */
  chain: Namespace<P, L>[];
  /** The trusts of `chain`, in the same order. */
  trustChain: Trust[];
  trust: Trust;
  policy: P | null;
  list: L | null;
  /** Set when deleted: the aggregate at deletion. */
  final: FinalAggregate | null;
}

/** What one namespace knows of one file version, like the kernel's iint flags. */
export interface FileState {
  /** The namespace id this state belongs to. */
  ns: number;
  /** IMA_MEASURED: the file version is in this namespace's list. */
  measured: boolean;
  /** IMA_AUDITED: its INTEGRITY_RULE record was written. */
  audited: boolean;
  /** Appraisal outcomes without [0] and with [1] a signature requirement, null until computed. */
  outcomes: (Outcome | null)[];
}

function nsError(code: string, text: string): Error {
  const e = new Error(text) as Error & { code: string };
  e.code = code;
  return e;
}

export interface NamespaceSpec {
  mntns: number;
  userns: number;
  parent: number;
  fail: string;
  deadlineMs: number;
}

export class NamespaceTree<P, L> {
  readonly all: Namespace<P, L>[] = [];
  private nextId = 0;
  private memoMntns = -1;
  private memoUserns = -1;
  private memoNs: Namespace<P, L> | null = null;

  constructor(private readonly maxLive: number) {}

  private make(spec: NamespaceSpec, parent: Namespace<P, L> | null): Namespace<P, L> {
    const ns: Namespace<P, L> = {
      id: this.nextId++,
      parent: parent ? parent.id : -1,
      mntns: spec.mntns,
      userns: spec.userns,
      fail: spec.fail,
      deadlineMs: spec.deadlineMs,
      deleted: false,
      chain: [],
      trustChain: [],
      trust: new Trust(),
      policy: null,
      list: null,
      final: null,
    };
    ns.chain = [ns].concat(parent ? parent.chain : []);
    for (let i = 0; i < ns.chain.length; i++) ns.trustChain.push(ns.chain[i].trust);
    this.all.push(ns);
    this.memoMntns = -1;
    return ns;
  }

  createHost(): Namespace<P, L> {
    return this.make({ mntns: 0, userns: 0, parent: -1, fail: 'closed', deadlineMs: 0 }, null);
  }

  live(): number {
    let n = 0;
    for (let i = 0; i < this.all.length; i++) if (!this.all[i].deleted) n++;
    return n;
  }

  /** Any namespace by id, deleted ones included; null when the id was never assigned. */
  byId(id: number): Namespace<P, L> | null {
    if (typeof id !== 'number' || id < 0 || id >= this.all.length || id !== Math.floor(id)) return null;
    return this.all[id];
  }

  /** A live namespace by id, or a NO_SUCH_NAMESPACE error. */
  liveById(id: number): Namespace<P, L> {
    const ns = this.byId(id);
    if (ns === null) throw nsError('NO_SUCH_NAMESPACE', 'no namespace ' + id);
    if (ns.deleted) throw nsError('NO_SUCH_NAMESPACE', 'namespace ' + id + ' was deleted (only its final aggregate remains)');
    return ns;
  }

  create(spec: NamespaceSpec): Namespace<P, L> {
    const parent = this.liveById(spec.parent);
    if (spec.mntns === 0 && spec.userns === 0) throw nsError('BAD_ARGUMENT', 'a namespace needs a mntns or a userns inode');
    for (let i = 0; i < this.all.length; i++) {
      const o = this.all[i];
      if (o.deleted || o.id === 0) continue;
      if (spec.mntns !== 0 && o.mntns === spec.mntns) throw nsError('BAD_ARGUMENT', 'mntns ' + spec.mntns + ' already stands for namespace ' + o.id);
      if (spec.mntns === 0 && o.mntns === 0 && o.userns === spec.userns) throw nsError('BAD_ARGUMENT', 'userns ' + spec.userns + ' already stands for namespace ' + o.id);
    }
    if (this.maxLive > 0 && this.live() >= this.maxLive) throw nsError('CAPACITY', 'at most ' + this.maxLive + ' namespaces (host included)');
    return this.make(spec, parent);
  }

  /** Marks a namespace deleted; its children must go first. */
  remove(id: number): Namespace<P, L> {
    const ns = this.liveById(id);
    if (ns.id === 0) throw nsError('BAD_ARGUMENT', 'the host namespace cannot be deleted');
    for (let i = 0; i < this.all.length; i++) {
      const c = this.all[i];
      if (!c.deleted && c.parent === ns.id) throw nsError('BAD_ARGUMENT', 'namespace ' + id + ' still has namespace ' + c.id + ' below it');
    }
    ns.deleted = true;
    this.memoMntns = -1;
    return ns;
  }

  /** The namespace that handles an event from Linux namespaces (mntns, userns). */
  resolve(mntns: number, userns: number): Namespace<P, L> {
    if (mntns === this.memoMntns && userns === this.memoUserns && this.memoNs !== null) return this.memoNs;
    let byUser: Namespace<P, L> | null = null;
    let found: Namespace<P, L> | null = null;
    for (let i = 1; i < this.all.length; i++) {
      const ns = this.all[i];
      if (ns.deleted) continue;
      if (ns.mntns !== 0 && ns.mntns === mntns) {
        found = ns;
        break;
      }
      if (byUser === null && userns !== 0 && ns.userns === userns) byUser = ns;
    }
    const r = found ? found : byUser ? byUser : this.all[0];
    this.memoMntns = mntns;
    this.memoUserns = userns;
    this.memoNs = r;
    return r;
  }
}
