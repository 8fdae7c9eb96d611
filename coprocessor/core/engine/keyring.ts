// What a namespace trusts: the keys of its `.ima` keyring (X.509 certificates) and its reference
// digests. Lookups walk a namespace and then its ancestors, so what a namespace adds counts for it
// and its descendants, never for its ancestors. Reference digests are kept per algorithm in sorted
// arrays and found by binary search (no object used as a hash map: the board's objects are lists).
// Portable (Espruino profile).
import { PublicKey } from '../platform.js';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Index of `d` in the sorted `list`, or -(insertion point) - 1. */
function search(list: Uint8Array[], d: Uint8Array): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareBytes(list[mid], d);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

export class Trust {
  keys: PublicKey[] = [];
  private refAlgos: number[] = [];
  private refLists: Uint8Array[][] = [];

  /** Adds a key; a second certificate with the same keyid replaces the first (the last added wins). */
  addKey(key: PublicKey): void {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i].keyid === key.keyid) {
        this.keys[i] = key;
        return;
      }
    }
    this.keys.push(key);
  }

  findKey(keyid: number): PublicKey | null {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i].keyid === keyid) return this.keys[i];
    return null;
  }

  /** Adds a reference digest; false when it was already there. */
  addRef(algo: number, digest: Uint8Array): boolean {
    let a = this.refAlgos.indexOf(algo);
    if (a < 0) {
      this.refAlgos.push(algo);
      this.refLists.push([]);
      a = this.refAlgos.length - 1;
    }
    const list = this.refLists[a];
    const at = search(list, digest);
    if (at >= 0) return false;
    list.splice(-at - 1, 0, digest.slice(0));
    return true;
  }

  hasRef(algo: number, digest: Uint8Array): boolean {
    const a = this.refAlgos.indexOf(algo);
    return a >= 0 && search(this.refLists[a], digest) >= 0;
  }

  refCount(): number {
    let n = 0;
    for (let i = 0; i < this.refLists.length; i++) n += this.refLists[i].length;
    return n;
  }
}

/** The first key with `keyid` along a chain of trusts (namespace first, then its ancestors). */
export function findKeyInChain(chain: Trust[], keyid: number): PublicKey | null {
  for (let i = 0; i < chain.length; i++) {
    const k = chain[i].findKey(keyid);
    if (k) return k;
  }
  return null;
}

export function hasRefInChain(chain: Trust[], algo: number, digest: Uint8Array): boolean {
  for (let i = 0; i < chain.length; i++) if (chain[i].hasRef(algo, digest)) return true;
  return false;
}
