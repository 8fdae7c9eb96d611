// Which modeling namespace an event belongs to. The key is the opener's mount-namespace inode
// (/proc/PID/ns/mnt), which the fanotify helper reads while the opener is blocked.
//
// Mount namespaces have no parent link the host can read (/proc shows no ancestry, and a copy made
// by unshare -m is not a child in any visible sense), so "nearest configured ancestor" is decided
// like this, in order:
//   1. a namespace configured for exactly this mount namespace;
//   2. a namespace configured for the opener's user namespace (a container that unshares its user
//      namespace too, and whose further mount namespaces are then covered), when userns was given;
//   3. the host namespace, id 0, which always exists.
// The modeling parent of a configured namespace (`--parent`) is the engine's business: it makes a
// measurement in a child reach each ancestor whose policy asks for it.
export type FailMode = 'closed' | 'open' | 'auto';

export interface NsEntry {
  ns: number;
  parent: number;
  /** Mount-namespace inode, 0 when configured by user namespace only (and for the host). */
  mntns: number;
  userns: number;
  /** 'auto': fail-closed when the namespace's policy appraises, fail-open otherwise. */
  fail: FailMode;
  deadlineMs: number;
  /** Its policy has an appraise rule (kept up to date by the bridge on policy load). */
  appraises: boolean;
}

export const DEFAULT_DEADLINE_MS = 500;

export class NamespaceError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

export class NamespaceTable {
  private byNs = new Map<number, NsEntry>();
  private byMnt = new Map<number, NsEntry>();
  private byUser = new Map<number, NsEntry>();

  constructor() {
    this.set({ ns: 0, parent: 0, mntns: 0, userns: 0, fail: 'auto', deadlineMs: DEFAULT_DEADLINE_MS, appraises: false });
  }

  get host(): NsEntry {
    return this.byNs.get(0)!;
  }

  get(ns: number): NsEntry | undefined {
    return this.byNs.get(ns);
  }

  list(): NsEntry[] {
    return [...this.byNs.values()].sort((a, b) => a.ns - b.ns);
  }

  set(e: NsEntry): void {
    const other = e.mntns ? this.byMnt.get(e.mntns) : undefined;
    if (other && other.ns !== e.ns) throw new NamespaceError(`mount namespace ${e.mntns} already belongs to namespace ${other.ns}`, 'NS_TAKEN');
    this.remove(e.ns);
    this.byNs.set(e.ns, e);
    if (e.mntns) this.byMnt.set(e.mntns, e);
    if (e.userns && !this.byUser.has(e.userns)) this.byUser.set(e.userns, e);
  }

  remove(ns: number): void {
    const e = this.byNs.get(ns);
    if (!e || ns === 0) return;
    this.byNs.delete(ns);
    if (e.mntns && this.byMnt.get(e.mntns) === e) this.byMnt.delete(e.mntns);
    if (e.userns && this.byUser.get(e.userns) === e) this.byUser.delete(e.userns);
  }

  /** The namespace an opener in (mntns, userns) belongs to; see the rules at the top. */
  resolve(mntns: number, userns = 0): NsEntry {
    return this.byMnt.get(mntns) ?? (userns ? this.byUser.get(userns) : undefined) ?? this.host;
  }

  /** Does this namespace's policy, or an ancestor's, appraise (so that a verdict can deny)? */
  chainAppraises(e: NsEntry): boolean {
    const seen = new Set<number>();
    for (let cur: NsEntry | undefined = e; cur && !seen.has(cur.ns); cur = cur.ns === 0 ? undefined : this.byNs.get(cur.parent) ?? this.host) {
      if (cur.appraises) return true;
      seen.add(cur.ns);
    }
    return false;
  }

  /** Whether a missing verdict lets the open through. */
  static failAllows(e: NsEntry): boolean {
    return e.fail === 'open' || (e.fail === 'auto' && !e.appraises);
  }
}

/** Does this policy text appraise anything (so that 'auto' means fail-closed)? */
export function policyAppraises(text: string): boolean {
  return /^\s*appraise\b/m.test(text);
}
