import { describe, expect, it } from 'vitest';
import { FileCache } from './file-cache.js';
import { FileInfo } from '../../../protocol/messages.js';

function file(dev: number, ino: number, d: number, xattr: number[] | null): FileInfo {
  return { path: '/f' + ino, dev, ino, fsmagic: 0, fsname: '', fsuuid: '', uid: 0, gid: 0, mode: 0, size: 0, digests: [{ algo: 4, digest: new Uint8Array(32).fill(d) }], xattr: xattr ? new Uint8Array(xattr) : null };
}

describe('file cache', () => {
  it('remembers a file version until its digest or xattr changes', () => {
    const c = new FileCache<string>(16);
    c.set(file(1, 10, 1, [4, 4]), 'v1');
    expect(c.get(file(1, 10, 1, [4, 4]))).toBe('v1');
    expect(c.get(file(1, 10, 2, [4, 4]))).toBeNull();
    expect(c.get(file(1, 10, 1, [4, 5]))).toBeNull();
    expect(c.get(file(1, 10, 1, null))).toBeNull();
    expect(c.get(file(2, 10, 1, [4, 4]))).toBeNull();
    c.set(file(1, 10, 2, null), 'v2');
    expect(c.get(file(1, 10, 2, null))).toBe('v2');
    expect(c.get(file(1, 10, 1, [4, 4]))).toBeNull();
    c.clear();
    expect(c.get(file(1, 10, 2, null))).toBeNull();
  });

  it('keeps copies, not views of the caller’s buffers', () => {
    const c = new FileCache<number>(8);
    const f = file(1, 1, 9, [3, 2]);
    c.set(f, 1);
    f.digests[0].digest[0] = 0;
    expect(c.get(file(1, 1, 9, [3, 2]))).toBe(1);
  });

  it('stays bounded: many files evict, never grow, and recent ones are mostly found', () => {
    const c = new FileCache<number>(64);
    for (let i = 0; i < 10000; i++) c.set(file(7, i, i & 255, null), i);
    let found = 0;
    for (let i = 9990; i < 10000; i++) if (c.get(file(7, i, i & 255, null)) === i) found++;
    expect(found).toBeGreaterThanOrEqual(8);
    expect(c.get(file(7, 5, 5, null))).toBeNull();
  });

  it('starts small and grows to its size, keeping what it holds', () => {
    const c = new FileCache<number>(4096);
    expect(c.capacity()).toBe(64);
    for (let i = 0; i < 1500; i++) c.set(file(3, i, i & 255, [3, i & 255]), i);
    expect(c.capacity()).toBe(4096);
    let found = 0;
    for (let i = 0; i < 1500; i++) if (c.get(file(3, i, i & 255, [3, i & 255])) === i) found++;
    expect(found).toBeGreaterThan(1490);
    for (let i = 0; i < 20000; i++) c.set(file(4, i, 1, null), i);
    expect(c.capacity()).toBe(4096);
  });
});
