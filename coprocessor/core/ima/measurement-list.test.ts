import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { concat, toHex, utf8Encode } from '../../../protocol/bytes.js';
import { ALGO, hashAlgoName } from './hash-algo.js';
import { MeasurementList, bootAggregate, bootAggregateInput } from './measurement-list.js';
import { parseMeasurementList, loadParsedList } from './parse-list.js';

const hash = (a: number, d: Uint8Array) => new Uint8Array(createHash(hashAlgoName(a)).update(d).digest());
const H = (name: string, ...parts: Uint8Array[]) => new Uint8Array(createHash(name).update(concat(parts)).digest());

function digestOf(path: string): Uint8Array {
  return H('sha256', utf8Encode(path));
}

function file(path: string, extra?: object) {
  return { template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: digestOf(path), name: path, ...extra };
}

describe('MeasurementList', () => {
  it('keeps per-bank template digests (each bank hashes with its own algorithm) and replays PCR 10 per bank', () => {
    const l = new MeasurementList({ hash, banks: [ALGO.SHA1, ALGO.SHA256, ALGO.SHA384, ALGO.SHA512] });
    expect(l.add(file('/bin/a'))).toBe(true);
    expect(l.add(file('/bin/b'))).toBe(true);
    const e0 = l.entry(0);
    for (const [bank, name] of [[ALGO.SHA1, 'sha1'], [ALGO.SHA256, 'sha256'], [ALGO.SHA384, 'sha384'], [ALGO.SHA512, 'sha512']] as const) {
      expect(l.templateDigest(0, bank)).toEqual(H(name, e0.data));
      let pcr = new Uint8Array(H(name, new Uint8Array(0)).length);
      for (let i = 0; i < 2; i++) pcr = H(name, pcr, l.templateDigest(i, bank));
      expect(l.aggregate(bank)).toEqual(pcr);
    }
    expect(l.count).toBe(2);
  });

  it('reads between appends see every entry so far (digests and extends settle incrementally)', () => {
    const l = new MeasurementList({ hash, pageEntries: 4 });
    let s1 = new Uint8Array(20);
    let s256 = new Uint8Array(32);
    for (let i = 0; i < 11; i++) {
      l.add(file('/inc/' + i, i === 5 ? { violation: true } : {}));
      const d = l.entry(i);
      s1 = H('sha1', s1, d.violation ? new Uint8Array(20).fill(0xff) : H('sha1', d.data));
      s256 = H('sha256', s256, d.violation ? new Uint8Array(32).fill(0xff) : H('sha256', d.data));
      if (i % 3 === 0) expect(l.aggregate(ALGO.SHA256)).toEqual(s256);
      if (i % 4 === 1) expect(l.templateDigest(i, ALGO.SHA1)).toEqual(d.violation ? new Uint8Array(20) : H('sha1', d.data));
    }
    expect(l.aggregate(ALGO.SHA1)).toEqual(s1);
    expect(l.aggregate(ALGO.SHA256)).toEqual(s256);
  });

  it('skips an entry whose template digest and PCR already exist (hash_exists), not one in another PCR', () => {
    const l = new MeasurementList({ hash });
    expect(l.add(file('/bin/a'))).toBe(true);
    const before = l.aggregate(ALGO.SHA256);
    expect(l.add(file('/bin/a'))).toBe(false);
    expect(l.count).toBe(1);
    expect(l.aggregate(ALGO.SHA256)).toEqual(before);
    expect(l.add(file('/bin/a', { pcr: 11 }))).toBe(true);
    expect(l.add(file('/bin/a', { template: 'ima-sig' }))).toBe(true);
    expect(l.count).toBe(3);
    // PCR 11's entry extends PCR 11 only.
    expect(l.aggregate(ALGO.SHA256)).toEqual(H('sha256', before, l.templateDigest(2, ALGO.SHA256)));
    expect(l.aggregate(ALGO.SHA1, 11)).toEqual(H('sha1', new Uint8Array(20), l.templateDigest(1, ALGO.SHA1)));
    expect(l.pcrs()).toEqual([10, 11]);
  });

  it('finds duplicates among many entries across pages and table growth', () => {
    const l = new MeasurementList({ hash, pageEntries: 8 });
    for (let i = 0; i < 500; i++) expect(l.add(file('/f' + i))).toBe(true);
    for (let i = 0; i < 500; i += 7) expect(l.add(file('/f' + i))).toBe(false);
    expect(l.count).toBe(500);
    expect(new TextDecoder().decode(l.entry(321).data)).toContain('/f321');
  });

  it('stores violations with zero digests, extends 0xff of the bank size, never deduplicates them', () => {
    const l = new MeasurementList({ hash });
    l.add(bootAggregateInput(hash, 'ima-ng', ALGO.SHA256, null));
    expect(l.add({ ...file('/var/log/x'), violation: true })).toBe(true);
    expect(l.add({ ...file('/var/log/x'), violation: true })).toBe(true);
    expect(l.violations).toBe(2);
    expect(l.templateDigest(1, ALGO.SHA256)).toEqual(new Uint8Array(32));
    let s1 = H('sha1', new Uint8Array(20), l.templateDigest(0, ALGO.SHA1));
    let s256 = H('sha256', new Uint8Array(32), l.templateDigest(0, ALGO.SHA256));
    for (let i = 0; i < 2; i++) {
      s1 = H('sha1', s1, new Uint8Array(20).fill(0xff));
      s256 = H('sha256', s256, new Uint8Array(32).fill(0xff));
    }
    expect(l.aggregate(ALGO.SHA1)).toEqual(s1);
    expect(l.aggregate(ALGO.SHA256)).toEqual(s256);
    const ascii = new TextDecoder().decode(l.exportAscii(ALGO.SHA1));
    expect(ascii.split('\n')[1]).toBe('10 ' + '0'.repeat(40) + ' ima-ng sha256:' + '0'.repeat(64) + ' /var/log/x');
  });

  it('boot_aggregate: zeros without a TPM; H(PCR0..7) in sha1, H(PCR0..9) in other banks', () => {
    expect(bootAggregate(hash, ALGO.SHA256, null)).toEqual(new Uint8Array(32));
    const pcrs1 = Array.from({ length: 10 }, (_, i) => new Uint8Array(20).fill(i));
    const pcrs256 = Array.from({ length: 10 }, (_, i) => new Uint8Array(32).fill(i));
    expect(bootAggregate(hash, ALGO.SHA1, pcrs1)).toEqual(H('sha1', ...pcrs1.slice(0, 8)));
    expect(bootAggregate(hash, ALGO.SHA256, pcrs256)).toEqual(H('sha256', ...pcrs256));
    const l = new MeasurementList({ hash });
    l.add(bootAggregateInput(hash, 'ima-ng', ALGO.SHA256, pcrs256));
    expect(new TextDecoder().decode(l.exportAscii(ALGO.SHA256))).toBe(
      '10 ' + toHex(l.templateDigest(0, ALGO.SHA256)) + ' ima-ng sha256:' + toHex(H('sha256', ...pcrs256)) + ' boot_aggregate\n',
    );
    // The legacy template records a SHA-1 boot aggregate in its 'd' field.
    const li = new MeasurementList({ hash });
    li.add(bootAggregateInput(hash, 'ima', ALGO.SHA256, pcrs256, pcrs1));
    expect(new TextDecoder().decode(li.exportAscii(ALGO.SHA1))).toContain(' ima ' + toHex(H('sha1', ...pcrs1.slice(0, 8))) + ' boot_aggregate\n');
  });

  it('prints the kernel ascii layout: %2d PCR, custom templates by format, empty fields as a bare space', () => {
    const l = new MeasurementList({ hash });
    // A format string that is a builtin's is that builtin (lookup_template_desc).
    l.add(file('/x', { template: 'd-ng|n-ng|sig' }));
    expect(l.entry(0).templateName).toBe('ima-sig');
    l.add(file('/x', { template: 'ima-sig' }));
    expect(l.count).toBe(1);
    const l2 = new MeasurementList({ hash });
    l2.add(file('/etc/passwd', { pcr: 9, template: 'n-ng|d-ng|sig' }));
    l2.add(file('/etc/sig', { pcr: 11, template: 'ima-sig', sig: new Uint8Array([3, 2, 4, 1, 2, 3, 4, 0, 1, 0xee]) }));
    const lines = new TextDecoder().decode(l2.exportAscii(ALGO.SHA1)).split('\n');
    expect(lines[0]).toBe(' 9 ' + toHex(l2.templateDigest(0, ALGO.SHA1)) + ' n-ng|d-ng|sig /etc/passwd sha256:' + toHex(digestOf('/etc/passwd')) + ' ');
    expect(lines[1]).toBe('11 ' + toHex(l2.templateDigest(1, ALGO.SHA1)) + ' ima-sig sha256:' + toHex(digestOf('/etc/sig')) + ' /etc/sig 030204010203040001ee');
    expect(lines[2]).toBe('');
  });

  it('exports binary in the legacy (20-byte) and per-bank layouts; they parse back to the same entries', () => {
    const l = new MeasurementList({ hash, banks: [ALGO.SHA1, ALGO.SHA256, ALGO.SHA512] });
    l.add(bootAggregateInput(hash, 'ima-ng', ALGO.SHA256, null));
    l.add(file('/a b', { template: 'ima-sig' }));
    l.add({ template: 'ima', digestAlgo: ALGO.SHA1, digest: H('sha1', utf8Encode('x')), name: '/legacy' });
    l.add({ template: 'ima-buf', digestAlgo: ALGO.SHA256, digest: H('sha256', utf8Encode('cmdline')), name: 'kexec-cmdline', buf: utf8Encode('cmdline'), hasFile: false });
    l.add({ ...file('/v'), violation: true });
    const b1 = l.exportBinary(ALGO.SHA1);
    // First entry: pcr 10, 20-byte digest, "ima-ng", data length 4+40+4+15.
    expect(toHex(b1.subarray(0, 4))).toBe('0a000000');
    expect(toHex(b1.subarray(24, 28))).toBe('06000000');
    expect(toHex(b1.subarray(34, 38))).toBe('3f000000');
    for (const bank of [ALGO.SHA1, ALGO.SHA256, ALGO.SHA512]) {
      const p = parseMeasurementList(l.exportBinary(bank));
      expect(p.error).toBeNull();
      expect(p.bank).toBe(bank);
      expect(p.entries.map((e) => e.templateName)).toEqual(['ima-ng', 'ima-sig', 'ima', 'ima-buf', 'ima-ng']);
      const back = loadParsedList(p, hash, [ALGO.SHA1, ALGO.SHA256, ALGO.SHA512]);
      expect(back.mismatches).toEqual([]);
      for (const b of [ALGO.SHA1, ALGO.SHA256, ALGO.SHA512]) {
        expect(back.list.aggregate(b)).toEqual(l.aggregate(b));
        expect(back.list.exportBinary(b)).toEqual(l.exportBinary(b));
        expect(back.list.exportAscii(b)).toEqual(l.exportAscii(b));
      }
      expect(back.list.violations).toBe(1);
    }
  });

  it('exports any range for paging; the pages concatenate to the whole list', () => {
    const l = new MeasurementList({ hash, pageEntries: 4 });
    for (let i = 0; i < 23; i++) l.add(file('/p/' + i, i % 5 === 4 ? { violation: true } : {}));
    for (const fmt of ['binary', 'ascii'] as const) {
      const whole = fmt === 'binary' ? l.exportBinary(ALGO.SHA256) : l.exportAscii(ALGO.SHA256);
      const parts: Uint8Array[] = [];
      for (let from = 0; from < l.count; from += 5) parts.push(fmt === 'binary' ? l.exportBinary(ALGO.SHA256, from, 5) : l.exportAscii(ALGO.SHA256, from, 5));
      expect(concat(parts)).toEqual(whole);
    }
    // Cut to a byte budget: whole entries only, at least one, and the pages still concatenate.
    for (const fmt of ['binary', 'ascii'] as const) {
      const whole = fmt === 'binary' ? l.exportBinary(ALGO.SHA256) : l.exportAscii(ALGO.SHA256);
      const parts: Uint8Array[] = [];
      let from = 0;
      while (from < l.count) {
        const r = l.exportRange(ALGO.SHA256, fmt, from, undefined, 300);
        expect(r.entries).toBeGreaterThan(0);
        expect(r.data.length <= 300 || r.entries === 1).toBe(true);
        parts.push(r.data);
        from += r.entries;
      }
      expect(parts.length).toBeGreaterThan(5);
      expect(concat(parts)).toEqual(whole);
      expect(l.exportRange(ALGO.SHA256, fmt, 0, 3, 10).entries).toBe(1);
    }
    expect(l.exportBinary(ALGO.SHA1, 23, 10).length).toBe(0);
    expect(l.exportAscii(ALGO.SHA1, 100).length).toBe(0);
  });

  it('stores entries compactly: typed arrays only, about 190 bytes per ima-ng entry with a 45-byte path', () => {
    const l = new MeasurementList({ hash });
    for (let i = 0; i < 10000; i++) l.add(file(`/usr/lib/x86_64-linux-gnu/libpkg${i % 977}-${i}.so.${i % 10}`));
    l.aggregate(ALGO.SHA256);
    // template data 4+40+4+46, digests 20+32, offsets/flags 7, duplicate table ≤ 10.5: the 20 MB per 100,000 budget.
    expect(l.byteSize()).toBeLessThan(2_000_000);
  });

  it('refuses unknown templates, banks it does not keep, bad PCRs', () => {
    const l = new MeasurementList({ hash });
    expect(() => l.add(file('/x', { template: 'ima-bogus' }))).toThrow(/unknown template/);
    expect(() => l.add(file('/x', { pcr: 64 }))).toThrow(/PCR/);
    expect(() => l.aggregate(ALGO.SHA384)).toThrow(/keeps no sha384/);
    expect(() => l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: null, name: '/x' })).toThrow(/digest/);
    expect(l.count).toBe(0);
    // A board with SHA-1 only cannot keep a sha256 bank: refused when the list is made.
    const sha1Only = (a: number, d: Uint8Array) => (a === ALGO.SHA1 ? hash(a, d) : null);
    expect(() => new MeasurementList({ hash: sha1Only })).toThrow(expect.objectContaining({ code: 'LIST_BANK' }));
    expect(new MeasurementList({ hash: sha1Only, banks: [ALGO.SHA1] }).add(file('/x'))).toBe(true);
  });
});
