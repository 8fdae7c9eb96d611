// The two halves of the intern table on their own: the decoder's slots and the encoder's choice
// of which slot to overwrite (free first, then least recently used, never a pinned one).
import { describe, expect, it } from 'vitest';
import { INTERN_KIND, InternChooser, InternTable } from './intern.js';

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

describe('InternChooser', () => {
  it('fills free slots in order, then evicts the least recently used unpinned slot', () => {
    const c = new InternChooser(3);
    c.beginBatch();
    for (const k of ['a', 'b', 'c']) {
      const s = c.choose();
      c.pin(s);
      c.assign(s, k);
      c.touch(s);
    }
    expect(['a', 'b', 'c'].map((k) => c.lookup(k))).toEqual([0, 1, 2]);
    // Every slot pinned by this batch: nothing may be overwritten.
    expect(c.choose()).toBe(-1);
    c.beginBatch();
    c.touch(c.lookup('a'));
    expect(c.choose()).toBe(1); // b is the least recently used
    c.pin(1);
    expect(c.choose()).toBe(2);
    c.assign(1, 'd');
    expect(c.lookup('b')).toBe(-1);
    expect(c.lookup('d')).toBe(1);
    const prev = c.pin(2);
    expect(c.choose()).toBe(0);
    c.unpin(2, prev);
    c.touch(0);
    expect(c.choose()).toBe(2);
  });

  it('forgets everything on reset', () => {
    const c = new InternChooser(2);
    c.assign(c.choose(), 'a');
    c.reset(4);
    expect(c.lookup('a')).toBe(-1);
    expect(c.choose()).toBe(0);
    expect(c.slots).toBe(4);
    expect(new InternChooser(0).choose()).toBe(-1);
  });
});
