import { describe, expect, it } from 'vitest';
import { findKeyInChain, hasRefInChain, Trust } from './keyring.js';
import { PublicKey } from '../platform.js';

function key(keyid: number, tag: string): PublicKey {
  return { kind: 'rsa', keyid, der: new Uint8Array(0), handle: tag };
}

describe('trust: keys and reference digests', () => {
  it('keys are found along the chain in order; a later certificate with the same keyid replaces the first', () => {
    const child = new Trust();
    const parent = new Trust();
    parent.addKey(key(0xf3452d23, 'parent'));
    child.addKey(key(0x11111111, 'child'));
    expect(findKeyInChain([child, parent], 0xf3452d23)!.handle).toBe('parent');
    expect(findKeyInChain([parent], 0x11111111)).toBeNull();
    child.addKey(key(0xf3452d23, 'child-override'));
    expect(findKeyInChain([child, parent], 0xf3452d23)!.handle).toBe('child-override');
    child.addKey(key(0x11111111, 'child2'));
    expect(child.keys.length).toBe(2);
    expect(findKeyInChain([child, parent], 0x11111111)!.handle).toBe('child2');
  });

  it('reference digests: sorted per algorithm, binary-searched, duplicates counted once', () => {
    const t = new Trust();
    const digests: Uint8Array[] = [];
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      const d = new Uint8Array(32);
      for (let j = 0; j < 32; j++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        d[j] = seed & 255;
      }
      digests.push(d);
      expect(t.addRef(4, d)).toBe(true);
    }
    expect(t.addRef(4, digests[10])).toBe(false);
    expect(t.refCount()).toBe(500);
    for (const d of digests) expect(t.hasRef(4, d)).toBe(true);
    expect(t.hasRef(6, digests[0])).toBe(false);
    const miss = digests[3].slice();
    miss[31] ^= 1;
    expect(t.hasRef(4, miss)).toBe(false);
    const parent = new Trust();
    parent.addRef(4, miss);
    expect(hasRefInChain([t, parent], 4, miss)).toBe(true);
    expect(hasRefInChain([parent], 4, digests[3])).toBe(false);
  });
});
