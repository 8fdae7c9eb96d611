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

const [A, B, C, D] = [1, 2, 3, 4].map((n) => Uint8Array.of(0x81, n));

describe('InternChooser', () => {
  it('fills free slots in order, then evicts the least recently used unpinned slot', () => {
    const c = new InternChooser(3);
    c.beginBatch();
    for (const k of [A, B, C]) {
      const s = c.choose();
      c.pin(s);
      c.assign(s, INTERN_KIND.FILE, k);
      c.touch(s);
    }
    expect([A, B, C].map((k) => c.lookup(INTERN_KIND.FILE, k))).toEqual([0, 1, 2]);
    expect(c.lookup(INTERN_KIND.PROC, A)).toBe(-1);
    // Every slot pinned by this batch: nothing may be overwritten.
    expect(c.choose()).toBe(-1);
    c.beginBatch();
    c.touch(c.lookup(INTERN_KIND.FILE, A));
    expect(c.choose()).toBe(1); // b is the least recently used
    c.pin(1);
    expect(c.choose()).toBe(2);
    c.assign(1, INTERN_KIND.FILE, D);
    expect(c.lookup(INTERN_KIND.FILE, B)).toBe(-1);
    expect(c.lookup(INTERN_KIND.FILE, D)).toBe(1);
    const prev = c.pin(2);
    expect(c.choose()).toBe(0);
    c.unpin(2, prev);
    c.touch(0);
    expect(c.choose()).toBe(2);
  });

  it('compares the bytes, so a hash collision is a miss, never a wrong slot', () => {
    const c = new InternChooser(4);
    // ×31 hashing: [0x00, 0x1f] and [0x01, 0x00] collide.
    const x = Uint8Array.of(0x00, 0x1f);
    const y = Uint8Array.of(0x01, 0x00);
    c.assign(0, INTERN_KIND.FILE, x);
    expect(c.lookup(INTERN_KIND.FILE, y)).toBe(-1);
    c.assign(1, INTERN_KIND.FILE, y);
    expect(c.lookup(INTERN_KIND.FILE, y)).toBe(1);
    // Evicting the older colliding slot must not unindex the newer one.
    c.assign(0, INTERN_KIND.FILE, A);
    expect(c.lookup(INTERN_KIND.FILE, y)).toBe(1);
    expect(c.lookup(INTERN_KIND.FILE, A)).toBe(0);
  });

  it('tells apart long encodings that differ only where the hash does not sample', () => {
    const c = new InternChooser(4);
    const x = new Uint8Array(200);
    const y = new Uint8Array(200);
    y[65] = 1;
    c.assign(0, INTERN_KIND.FILE, x);
    expect(c.lookup(INTERN_KIND.FILE, y)).toBe(-1);
    c.assign(1, INTERN_KIND.FILE, y);
    expect(c.lookup(INTERN_KIND.FILE, y)).toBe(1);
    expect(c.lookup(INTERN_KIND.FILE, x)).toBe(-1); // shadowed by the newer value: a miss, not slot 1
  });

  it('keeps its own copy of an encoding', () => {
    const c = new InternChooser(2);
    const buf = Uint8Array.of(0x81, 7);
    c.assign(0, INTERN_KIND.FILE, buf);
    buf[1] = 8;
    expect(c.lookup(INTERN_KIND.FILE, Uint8Array.of(0x81, 7))).toBe(0);
  });

  it('forgets one slot: it is free again and its value no longer found', () => {
    const c = new InternChooser(3);
    for (const k of [A, B, C]) c.assign(c.choose(), INTERN_KIND.FILE, k);
    c.forget(1);
    expect(c.lookup(INTERN_KIND.FILE, B)).toBe(-1);
    expect(c.lookup(INTERN_KIND.FILE, C)).toBe(2);
    c.beginBatch();
    expect(c.choose()).toBe(1);
  });

  it('forgets everything on reset', () => {
    const c = new InternChooser(2);
    c.assign(c.choose(), INTERN_KIND.PROC, A);
    c.reset(4);
    expect(c.lookup(INTERN_KIND.PROC, A)).toBe(-1);
    expect(c.choose()).toBe(0);
    expect(c.slots).toBe(4);
    expect(new InternChooser(0).choose()).toBe(-1);
  });
});
