// What a namespace already knows about a file version, like the kernel's per-inode iint flags
// (IMA_MEASURED, IMA_AUDITED, the cached appraisal status): keyed by (dev, ino) and valid only
// while the content digest and the security.ima value are the ones it was recorded for.
// A bounded open-addressing table in parallel arrays: O(1) on Node and on the board, where an
// object used as a map would be a linked list. A full neighbourhood evicts its home slot.
// Callers must not modify a digest or xattr array after handing it in (decoded messages never
// are): an array seen before is recognised by identity, without comparing its bytes again.
// Portable (Espruino profile).
import { FileInfo } from '../../../protocol/messages.js';
import { equalBytes } from '../../../protocol/bytes.js';

const PROBES = 8;

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return equalBytes(a, b);
}

/** The digest a file version is recognised by: sha256 when the host sent it, else the first one. */
export function versionDigest(file: FileInfo): Uint8Array | null {
  const ds = file.digests;
  for (let i = 0; i < ds.length; i++) if (ds[i].algo === 4) return ds[i].digest;
  return ds.length ? ds[0].digest : null;
}

export class FileCache<T> {
  private mask = 0;
  private gen: Int32Array = new Int32Array(0);
  private dev: Float64Array = new Float64Array(0);
  private ino: Float64Array = new Float64Array(0);
  private digest: (Uint8Array | null)[] = [];
  private xattr: (Uint8Array | null)[] = [];
  /** The caller's arrays last seen equal to the stored copies: an interned FileInfo matches by identity. */
  private digestRef: (Uint8Array | null)[] = [];
  private xattrRef: (Uint8Array | null)[] = [];
  private value: (T | null)[] = [];
  private generation = 1;
  private used = 0;
  private readonly max: number;

  /** Holds up to `size` file versions (rounded up to a power of two); starts small and grows. */
  constructor(size: number) {
    let n = 8;
    while (n < size) n *= 2;
    this.max = n;
    this.alloc(n < 64 ? n : 64);
  }

  private alloc(n: number): void {
    this.mask = n - 1;
    this.gen = new Int32Array(n);
    this.dev = new Float64Array(n);
    this.ino = new Float64Array(n);
    this.digest = [];
    this.xattr = [];
    this.digestRef = [];
    this.xattrRef = [];
    this.value = [];
    for (let i = 0; i < n; i++) {
      this.digest.push(null);
      this.xattr.push(null);
      this.digestRef.push(null);
      this.xattrRef.push(null);
      this.value.push(null);
    }
    this.used = 0;
  }

  private homeOf(dev: number, ino: number): number {
    const lo = ino % 4294967296;
    return ((lo ^ (dev * 40503) ^ (lo >>> 13)) >>> 0) & this.mask;
  }

  private slot(file: FileInfo): number {
    const h = this.homeOf(file.dev, file.ino);
    for (let k = 0; k < PROBES; k++) {
      const i = (h + k) & this.mask;
      if (this.gen[i] === this.generation && this.dev[i] === file.dev && this.ino[i] === file.ino) return i;
    }
    return -1;
  }

  /** A slot for a new key: a free one in its neighbourhood, else its home slot (evicted). */
  private freeSlot(dev: number, ino: number): number {
    const h = this.homeOf(dev, ino);
    for (let k = 0; k < PROBES; k++) {
      const j = (h + k) & this.mask;
      if (this.gen[j] !== this.generation) {
        this.used++;
        return j;
      }
    }
    return h;
  }

  /** Twice the slots, entries moved over (their bytes are not copied again). */
  private grow(): void {
    const gen = this.gen;
    const dev = this.dev;
    const ino = this.ino;
    const digest = this.digest;
    const xattr = this.xattr;
    const value = this.value;
    const g = this.generation;
    this.alloc(gen.length * 2);
    for (let i = 0; i < gen.length; i++) {
      if (gen[i] !== g) continue;
      const j = this.freeSlot(dev[i], ino[i]);
      this.gen[j] = g;
      this.dev[j] = dev[i];
      this.ino[j] = ino[i];
      this.digest[j] = digest[i];
      this.xattr[j] = xattr[i];
      this.value[j] = value[i];
    }
  }

  /** The value recorded for this file version, or null (also when the file changed since). */
  get(file: FileInfo): T | null {
    const i = this.slot(file);
    if (i < 0) return null;
    const d = versionDigest(file);
    const x = file.xattr;
    if (d !== this.digestRef[i] || d === null) {
      if (!sameBytes(this.digest[i], d)) return null;
      this.digestRef[i] = d;
    }
    if (x !== this.xattrRef[i] || x === null) {
      if (!sameBytes(this.xattr[i], x)) return null;
      this.xattrRef[i] = x;
    }
    return this.value[i];
  }

  set(file: FileInfo, v: T): void {
    let i = this.slot(file);
    if (i < 0) {
      if (this.used * 2 >= this.gen.length && this.gen.length < this.max) this.grow();
      i = this.freeSlot(file.dev, file.ino);
    }
    this.gen[i] = this.generation;
    this.dev[i] = file.dev;
    this.ino[i] = file.ino;
    const d = versionDigest(file);
    // Copies: a decoder may hand out views of a receive buffer it reuses.
    this.digest[i] = d ? d.slice(0) : null;
    this.xattr[i] = file.xattr ? file.xattr.slice(0) : null;
    this.digestRef[i] = null;
    this.xattrRef[i] = null;
    this.value[i] = v;
  }

  /** Forget everything (the policy changed). */
  clear(): void {
    this.generation++;
    this.used = 0;
    for (let i = 0; i < this.value.length; i++) {
      this.value[i] = null;
      this.digest[i] = null;
      this.xattr[i] = null;
      this.digestRef[i] = null;
      this.xattrRef[i] = null;
    }
  }

  /** Visit every value held. */
  each(fn: (v: T) => void): void {
    for (let i = 0; i < this.value.length; i++) {
      const v = this.value[i];
      if (this.gen[i] === this.generation && v !== null) fn(v);
    }
  }

  /** Slots allocated now (for tests and memory figures). */
  capacity(): number {
    return this.gen.length;
  }
}
