// Fuzzing the untrusted-input parsers: random bytes, every truncation and single-byte mutations
// of real and exported lists, random xattrs. Allowed outcomes: a result, or a typed error (an Error
// with a known code). Never another exception, never a hang (each input is bounded in size).
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { ALGO, hashAlgoName } from './hash-algo.js';
import { MeasurementList } from './measurement-list.js';
import { loadParsedList, parseMeasurementList, ParsedList } from './parse-list.js';
import { parseImaXattr } from './xattr.js';

const hash = (a: number, d: Uint8Array) => new Uint8Array(createHash(hashAlgoName(a)).update(d).digest());
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/', import.meta.url));
const CODES = ['LIST_TRUNCATED', 'LIST_MALFORMED', 'LIST_FORMAT'];

/** A small seeded PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Parse and, when entries came back, load and render them: the whole path a list takes. */
function exercise(b: Uint8Array): void {
  let p: ParsedList;
  try {
    p = parseMeasurementList(b);
  } catch (err) {
    expect(CODES).toContain((err as { code?: string }).code);
    return;
  }
  if (p.error) {
    expect(CODES).toContain(p.error.code);
    expect(p.error.entry).toBeGreaterThanOrEqual(1);
    expect(p.error.offset).toBeGreaterThanOrEqual(0);
    expect(p.error.offset).toBeLessThanOrEqual(b.length);
  }
  const { list } = loadParsedList(p, hash, [ALGO.SHA1, ALGO.SHA256]);
  list.exportAscii(ALGO.SHA256);
  const bank = p.bank >= 0 ? p.bank : ALGO.SHA1;
  // Whatever parsed cleanly exports back to bytes the parser reads again without error.
  const again = parseMeasurementList(list.exportBinary(bank));
  expect(again.error).toBeNull();
  expect(again.entries.length).toBe(p.entries.length);
}

function seeds(): Uint8Array[] {
  const l = new MeasurementList({ hash, banks: [ALGO.SHA1, ALGO.SHA256] });
  l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: new Uint8Array(32).fill(1), name: 'boot_aggregate', hasFile: false });
  l.add({ template: 'ima-sig', digestAlgo: ALGO.SHA256, digest: new Uint8Array(32).fill(2), name: '/bin/a', sig: new Uint8Array([3, 2, 4, 1, 2, 3, 4, 0, 2, 9, 9]) });
  l.add({ template: 'ima', digestAlgo: ALGO.SHA1, digest: new Uint8Array(20).fill(3), name: '/legacy' });
  l.add({ template: 'evm-sig', digestAlgo: ALGO.SHA256, digest: new Uint8Array(32).fill(4), name: '/e', xattrNames: ['security.ima'], xattrValues: [new Uint8Array([4, 4, 1])], uid: 1, gid: 2, mode: 0o644 });
  l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: null, name: '/v', violation: true });
  const out = [l.exportBinary(ALGO.SHA1), l.exportBinary(ALGO.SHA256), l.exportAscii(ALGO.SHA1)];
  if (existsSync(VECTORS)) {
    out.push(new Uint8Array(readFileSync(VECTORS + 'tpm2-tss-sml-ima-sha1.bin')));
    out.push(new Uint8Array(readFileSync(VECTORS + 'tpm2-tss-sml-ima-sig-sha256.bin')));
    out.push(new Uint8Array(readFileSync(VECTORS + 'embrave-binary_runtime_measurements')).subarray(0, 2000));
    out.push(new Uint8Array(readFileSync(VECTORS + 'rust-keylime-ascii_runtime_measurements')).subarray(0, 2000));
  } else console.warn(`fuzzing without the kernel list vectors: ${VECTORS} is absent`);
  return out;
}

describe('measurement-list parser fuzz', () => {
  const inputs = seeds();

  it('every truncation of every seed list', () => {
    for (const s of inputs) for (let n = 0; n <= s.length; n += s.length > 1200 ? 13 : 1) exercise(s.subarray(0, n));
  });

  it('single-byte and length-field mutations of the seeds', () => {
    const r = rng(0x1ead);
    for (const s of inputs) {
      for (let k = 0; k < 150; k++) {
        const b = s.slice();
        const at = r() % b.length;
        if (k % 3 === 0) b[at] = r() & 255;
        else if (k % 3 === 1) b.set([r() & 255, r() & 255, r() & 255, r() & 255].slice(0, Math.min(4, b.length - at)), at);
        else b[at] ^= 1 << (r() % 8);
        exercise(b);
      }
    }
  });

  it('random bytes, including ones that start like an ascii or a binary list', () => {
    const r = rng(7);
    for (let k = 0; k < 800; k++) {
      const b = new Uint8Array(r() % 400);
      for (let i = 0; i < b.length; i++) b[i] = r() & 255;
      if (k % 3 === 0 && b.length > 4) b.set([10, 0, 0, 0], 0);
      if (k % 3 === 1 && b.length > 3) b.set([49, 48, 32], 0);
      exercise(b);
    }
  });
});

describe('security.ima parser fuzz', () => {
  it('random values of every type byte and length never throw and always say what they are', () => {
    const r = rng(99);
    for (let k = 0; k < 6000; k++) {
      const x = new Uint8Array(r() % 80);
      for (let i = 0; i < x.length; i++) x[i] = r() & 255;
      if (x.length > 0 && k % 2 === 0) x[0] = 1 + (r() % 6);
      if (x.length > 1 && k % 4 === 0) x[1] = 2 + (r() % 2);
      const p = parseImaXattr(x);
      expect(['digest', 'sig', 'invalid', 'missing']).toContain(p.kind);
      if (p.kind === 'invalid') expect(['invalid-hash', 'invalid-signature', 'invalid-signature-version', 'invalid-verity-signature', 'unknown-ima-data']).toContain(p.cause);
      if (p.kind === 'sig') expect(p.sig!.length).toBe(x.length - 9);
      if (p.kind === 'digest') expect(p.digest!.length).toBeGreaterThanOrEqual(16);
    }
  });
});
