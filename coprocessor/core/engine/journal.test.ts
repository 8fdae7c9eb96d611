import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { Journal } from './journal.js';
import { createMemoryStorage } from './memory-storage.js';

const crc = (b: Uint8Array) => crc32(b) >>> 0;

describe('journal', () => {
  it('replays flushed records in order; discarded ones never reach storage', () => {
    const s = createMemoryStorage();
    const j = new Journal(s, crc);
    j.add(['n', 1, 4026532001, 0, 0, 'closed', 0]);
    j.add(['m', 1, 10, 'ima-ng', '/a', 4, new Uint8Array(32), null, null]);
    j.flush();
    j.add(['p', 1, 'measure func=FILE_CHECK']);
    j.discard();
    j.flush();
    const r = new Journal(s, crc).replay();
    expect(r).toEqual([
      ['n', 1, 4026532001, 0, 0, 'closed', 0],
      ['m', 1, 10, 'ima-ng', '/a', 4, new Uint8Array(32), null, null],
    ]);
  });

  it('a torn or corrupt tail is cut back to the intact prefix', () => {
    const s = createMemoryStorage();
    const j = new Journal(s, crc);
    j.add(['a']);
    j.flush();
    j.add(['b', 'x'.repeat(40)]);
    j.flush();
    const full = s.read('journal')!;
    for (let cut = full.length - 1; cut > 0; cut--) {
      const t = createMemoryStorage();
      t.replace('journal', full.subarray(0, cut));
      const jj = new Journal(t, crc);
      const recs = jj.replay();
      expect(recs.length).toBeLessThanOrEqual(1); // ["a"] is 8 + 3 bytes (81 61 61)
      if (cut >= 8 + 3) expect(recs).toEqual([['a']]);
      // The cut journal accepts new records after the intact prefix.
      jj.add(['c']);
      jj.flush();
      expect(new Journal(t, crc).replay().slice(-1)).toEqual([['c']]);
    }
    const flipped = full.slice();
    flipped[flipped.length - 3] ^= 0x40;
    const t = createMemoryStorage();
    t.replace('journal', flipped);
    const jj = new Journal(t, crc);
    expect(jj.replay()).toEqual([['a']]);
    expect(jj.droppedBytes).toBeGreaterThan(0);
  });
});
