// The two halves of the intern table on their own: the decoder's slots and the encoder's choice
// of which slot to overwrite (free first, then least recently used, never a pinned one).
import { describe, expect, it } from 'vitest';
import { INTERN_KIND, InternChooser, InternTable } from './intern.js';
import { seededRandom } from './node/transports/faulty.js';

describe('InternTable', () => {
  it('holds a value per slot with its kind, restores on undo, clears on reset', () => {
    const t = new InternTable(3);
    expect(t.get(0, INTERN_KIND.FILE)).toBeUndefined();
    const old = t.put(1, INTERN_KIND.FILE, 'f');
    expect(t.get(1, INTERN_KIND.FILE)).toBe('f');
    expect(t.get(1, INTERN_KIND.PROC)).toBeUndefined();
    expect(t.get(3, INTERN_KIND.FILE)).toBeUndefined();
    const old2 = t.put(1, INTERN_KIND.PROC, 'p');
    expect(t.get(1, INTERN_KIND.PROC)).toBe('p');
    t.restore(1, old2);
    expect(t.get(1, INTERN_KIND.FILE)).toBe('f');
    t.restore(1, old);
    expect(t.get(1, INTERN_KIND.FILE)).toBeUndefined();
    t.put(2, INTERN_KIND.PROC, 'p');
    t.reset(2);
    expect(t.get(1, INTERN_KIND.PROC)).toBeUndefined();
    expect(t.slots).toBe(2);
  });
});

const [A, B, C, D] = [0x0a, 0x0b, 0x0c, 0x0d];
const NAME: { [k: number]: string } = { [A]: 'A', [B]: 'B', [C]: 'C', [D]: 'D' };

describe('InternChooser', () => {
  it('fills free slots in order, then evicts the least recently used unpinned slot', () => {
    const c = new InternChooser(3);
    c.beginBatch();
    for (const k of [A, B, C]) {
      const s = c.choose();
      c.pin(s);
      c.assign(s, k, NAME[k]);
      c.touch(s);
    }
    expect([A, B, C].map((k) => c.lookup(k))).toEqual([0, 1, 2]);
    expect(c.value(1)).toBe('B');
    // Every slot pinned by this batch: nothing may be overwritten.
    expect(c.choose()).toBe(-1);
    c.beginBatch();
    c.touch(c.lookup(A));
    expect(c.choose()).toBe(1); // b is the least recently used
    c.pin(1);
    expect(c.choose()).toBe(2);
    c.assign(1, D, 'D');
    expect(c.lookup(B)).toBe(-1);
    expect(c.lookup(D)).toBe(1);
    const prev = c.pin(2);
    expect(c.choose()).toBe(0);
    c.unpin(2, prev);
    c.touch(0);
    expect(c.choose()).toBe(2);
  });

  it('indexes the newer of two values under one key, and evicting the older keeps it', () => {
    const c = new InternChooser(4);
    c.assign(0, A, 'old');
    c.assign(1, A, 'new');
    expect(c.lookup(A)).toBe(1);
    c.assign(0, B, 'b');
    expect(c.lookup(A)).toBe(1);
    expect(c.value(1)).toBe('new');
  });

  it('forgets one slot: it is free again and its value no longer found', () => {
    const c = new InternChooser(3);
    for (const k of [A, B, C]) c.assign(c.choose(), k, k);
    c.forget(1);
    expect(c.lookup(B)).toBe(-1);
    expect(c.lookup(C)).toBe(2);
    c.beginBatch();
    expect(c.choose()).toBe(1);
  });

  it('forgets everything on reset', () => {
    const c = new InternChooser(2);
    c.assign(c.choose(), A, 1);
    c.reset(4);
    expect(c.lookup(A)).toBe(-1);
    expect(c.choose()).toBe(0);
    expect(c.slots).toBe(4);
    expect(new InternChooser(0).choose()).toBe(-1);
  });

  it('finds keys that share a probe chain, and keeps finding them as others leave it', () => {
    const c = new InternChooser(4); // an index of 8 entries: keys 1, 9, 17 and -7 all start at entry 1
    const keys = [1, 9, 17, -7];
    keys.forEach((k, s) => c.assign(s, k, k));
    expect(keys.map((k) => c.lookup(k))).toEqual([0, 1, 2, 3]);
    c.forget(0);
    expect(keys.map((k) => c.lookup(k))).toEqual([-1, 1, 2, 3]);
    c.assign(2, 2, 2); // slot 2 now holds key 2: 17 is gone, 2 is found
    expect([c.lookup(17), c.lookup(2), c.lookup(9), c.lookup(-7)]).toEqual([-1, 2, 1, 3]);
    expect(c.lookup(25)).toBe(-1);
  });

  it('fuzz: lookups agree with a plain model through random assigns and forgets', () => {
    const r = seededRandom(11);
    for (const slots of [1, 3, 8, 64]) {
      const c = new InternChooser(slots);
      const model: (number | null)[] = new Array(slots).fill(null);
      const newest = new Map<number, number>(); // key → the slot it was last assigned to
      for (let i = 0; i < 5000; i++) {
        const slot = Math.floor(r() * slots);
        // Few distinct keys, many sharing low bits: long chains, duplicates, wrap-around.
        const key = (Math.floor(r() * 40) * 16 + (r() < 0.5 ? 0 : 15)) | (r() < 0.1 ? 0x80000000 : 0);
        if (r() < 0.2) {
          c.forget(slot);
          model[slot] = null;
        } else {
          c.assign(slot, key, key);
          model[slot] = key;
          newest.set(key, slot);
        }
        const probe = model[Math.floor(r() * slots)];
        if (probe === null) continue;
        const found = c.lookup(probe);
        // The slot last assigned under the key, while it still holds it; else none, or another
        // slot holding that key (an older copy, found again once the index named it). Never a
        // slot holding another key.
        const last = newest.get(probe)!;
        if (model[last] === probe) expect(found).toBe(last);
        else if (found >= 0) expect(model[found]).toBe(probe);
      }
    }
  });
});
