// Real kernel lists from ../shared/vectors (see its README): parsed, every template digest
// verified, aggregates replayed in every bank, the binary list rendered to its ascii twin.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { toHex, utf8Encode, writeU32le } from '../../../protocol/bytes.js';
import { ALGO, hashAlgoName } from './hash-algo.js';
import { MeasurementList } from './measurement-list.js';
import { ListError, loadParsedList, parseAsciiList, parseBinaryList, parseMeasurementList } from './parse-list.js';

const hash = (a: number, d: Uint8Array) => new Uint8Array(createHash(hashAlgoName(a)).update(d).digest());
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/', import.meta.url));
const haveVectors = existsSync(VECTORS);
if (!haveVectors) console.warn(`skipping kernel list vectors: ${VECTORS} is absent`);
const vector = (name: string) => new Uint8Array(readFileSync(VECTORS + name));
const BANKS4 = [ALGO.SHA1, ALGO.SHA256, ALGO.SHA384, ALGO.SHA512];

describe.skipIf(!haveVectors)('real kernel lists (../shared/vectors)', () => {
  it('embrave binary: 922 ima-ng entries verify; PCR 10 sha1 f386… and sha256 0d20…; renders to the ascii list byte for byte', () => {
    const p = parseMeasurementList(vector('embrave-binary_runtime_measurements'));
    expect(p.format).toBe('binary');
    expect(p.width).toBe(20);
    expect(p.error).toBeNull();
    expect(p.entries.length).toBe(922);
    const { list, mismatches } = loadParsedList(p, hash, BANKS4);
    expect(mismatches).toEqual([]);
    expect(toHex(list.aggregate(ALGO.SHA1))).toBe('f38695bbd9479953543813fb13bb88235440504e');
    expect(toHex(list.aggregate(ALGO.SHA256))).toBe('0d204f41041c48fe0d2e1ef0a6c308412c27304a68519d3ce3568a692d3fea83');
    expect(Buffer.from(list.exportAscii(ALGO.SHA1)).equals(readFileSync(VECTORS + 'embrave-ascii_runtime_measurements'))).toBe(true);
    expect(Buffer.from(list.exportBinary(ALGO.SHA1)).equals(readFileSync(VECTORS + 'embrave-binary_runtime_measurements'))).toBe(true);
  });

  it('embrave ascii: parses to the same entries and aggregates as the binary list', () => {
    const p = parseMeasurementList(vector('embrave-ascii_runtime_measurements'));
    expect(p.format).toBe('ascii');
    expect(p.error).toBeNull();
    const a = loadParsedList(p, hash, [ALGO.SHA256]);
    expect(a.mismatches).toEqual([]);
    const b = loadParsedList(parseMeasurementList(vector('embrave-binary_runtime_measurements')), hash, [ALGO.SHA256]).list;
    expect(a.list.exportBinary(ALGO.SHA1)).toEqual(b.exportBinary(ALGO.SHA1));
    expect(toHex(a.list.aggregate(ALGO.SHA256))).toBe('0d204f41041c48fe0d2e1ef0a6c308412c27304a68519d3ce3568a692d3fea83');
  });

  it('per-bank files (kernels ≥ 6.10): the digest width is detected and the aggregates agree in every bank', () => {
    const { list } = loadParsedList(parseMeasurementList(vector('embrave-binary_runtime_measurements')), hash, BANKS4);
    for (const [bank, width] of [[ALGO.SHA256, 32], [ALGO.SHA384, 48], [ALGO.SHA512, 64]]) {
      const p = parseMeasurementList(list.exportBinary(bank));
      expect(p.error).toBeNull();
      expect(p.width).toBe(width);
      expect(p.bank).toBe(bank);
      const again = loadParsedList(p, hash, BANKS4);
      expect(again.mismatches).toEqual([]);
      for (const b of BANKS4) expect(again.list.aggregate(b)).toEqual(list.aggregate(b));
    }
  });

  it('rust-keylime ascii: 826 sha1 ima-ng entries verify; PCR 10 sha1 8223…', () => {
    const p = parseMeasurementList(vector('rust-keylime-ascii_runtime_measurements'));
    expect(p.error).toBeNull();
    expect(p.entries.length).toBe(826);
    const { list, mismatches } = loadParsedList(p, hash, BANKS4);
    expect(mismatches).toEqual([]);
    expect(toHex(list.aggregate(ALGO.SHA1))).toBe('82231c67a69da98dc5b3aa10f6343d33109225fc');
    expect(Buffer.from(list.exportAscii(ALGO.SHA1)).equals(readFileSync(VECTORS + 'rust-keylime-ascii_runtime_measurements'))).toBe(true);
  });

  it('tpm2-tss: legacy ima (12) and ima-ng (6) entries verify, with their one trailing newline byte', () => {
    for (const [name, count, template] of [['tpm2-tss-sml-ima-sha1.bin', 12, 'ima'], ['tpm2-tss-sml-ima-ng-sha1.bin', 6, 'ima-ng']] as const) {
      const b = vector(name);
      const p = parseMeasurementList(b);
      expect(p.error).toBeNull();
      expect(p.trailing).toBe(1);
      expect(p.entries.length).toBe(count);
      expect(p.entries.every((e) => e.templateName === template)).toBe(true);
      const { list, mismatches } = loadParsedList(p, hash, [ALGO.SHA1]);
      expect(mismatches).toEqual([]);
      expect(list.exportBinary(ALGO.SHA1)).toEqual(b.subarray(0, b.length - 1));
    }
  });

  it('tpm2-tss ima-sig: 9 entries, then the truncated 10th reported with its number and offset', () => {
    const p = parseMeasurementList(vector('tpm2-tss-sml-ima-sig-sha256.bin'));
    expect(p.entries.length).toBe(9);
    expect(p.error!.code).toBe('LIST_TRUNCATED');
    expect(p.error!.entry).toBe(10);
    expect(p.error!.entryOffset).toBe(987);
    expect(p.error!.offset).toBe(991);
    expect(p.error!.message).toMatch(/entry 10 \(at byte 987\)/);
    expect(loadParsedList(p, hash, [ALGO.SHA1]).mismatches).toEqual([]);
  });

  it('tpm2-tss invalidated lists: violations extend 0xff (sha1 a0e7…); a data length one byte past the end is truncation', () => {
    const p = parseMeasurementList(vector('tpm2-tss-sml-ima-sig-sha256-invalidated.bin'));
    expect(p.error).toBeNull();
    const { list } = loadParsedList(p, hash, [ALGO.SHA1]);
    expect(list.violations).toBe(1);
    expect(toHex(list.aggregate(ALGO.SHA1))).toBe('a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d');
    expect(new TextDecoder().decode(list.exportAscii(ALGO.SHA1)).split('\n')[1]).toBe('10 ' + '0'.repeat(40) + ' ima-sig sha256:' + '0'.repeat(64) + ' /init ');
    const legacy = parseMeasurementList(vector('tpm2-tss-sml-ima-sha1-invalidated.bin'));
    expect(legacy.error).toBeNull();
    expect(loadParsedList(legacy, hash, [ALGO.SHA1]).list.violations).toBe(1);
    // Its template data length says 49 bytes; the file holds 48 (the name's NUL is missing).
    const ng = parseMeasurementList(vector('tpm2-tss-sml-ima-ng-sha1-invalidated.bin'));
    expect(ng.entries.length).toBe(0);
    expect(ng.error!.code).toBe('LIST_TRUNCATED');
    expect(ng.error!.entry).toBe(1);
    expect(ng.error!.offset).toBe(38);
  });
});

function sample(): Uint8Array {
  const l = new MeasurementList({ hash });
  for (let i = 0; i < 3; i++) l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: new Uint8Array(32).fill(i), name: '/f' + i });
  return l.exportBinary(ALGO.SHA1);
}

describe('malformed lists give typed errors naming the entry and byte offset', () => {
  const ENTRY = 4 + 20 + 4 + 6 + 4 + (4 + 40) + (4 + 4); // one "/fN" ima-ng entry: 90 bytes

  it('a PCR no kernel writes', () => {
    const b = sample();
    writeU32le(b, ENTRY, 99);
    const p = parseBinaryList(b);
    expect(p.entries.length).toBe(1);
    expect(p.error).toMatchObject({ code: 'LIST_MALFORMED', entry: 2, offset: ENTRY, entryOffset: ENTRY });
    expect(p.error!.expected).toMatch(/PCR index below 64/);
  });

  it('a lying template-name length', () => {
    const b = sample();
    writeU32le(b, 2 * ENTRY + 24, 0xfffffff0);
    const p = parseBinaryList(b, { width: 20 });
    expect(p.entries.length).toBe(2);
    expect(p.error).toMatchObject({ code: 'LIST_MALFORMED', entry: 3, offset: 2 * ENTRY + 24 });
  });

  it('a lying template-data length: past the end is truncation, short of the fields is malformed', () => {
    const b = sample();
    writeU32le(b, 2 * ENTRY + 34, 0x7fffffff);
    expect(parseBinaryList(b, { width: 20 }).error).toMatchObject({ code: 'LIST_TRUNCATED', entry: 3, offset: 2 * ENTRY + 38 });
    const c = sample();
    writeU32le(c, ENTRY + 34, 40);
    const p = parseBinaryList(c, { width: 20 });
    expect(p.entries.length).toBe(1);
    expect(p.error!.code).toBe('LIST_MALFORMED');
    expect(p.error!.entry).toBe(2);
  });

  it('field bytes no kernel writes: a d-ng without its algorithm, a name without its NUL', () => {
    const b = sample();
    b[38 + 4] = 0x7a; // "zha256:"
    expect(parseBinaryList(b, { width: 20 }).error!.expected).toMatch(/algo/);
    const c = sample();
    c[ENTRY - 1] = 0x41;
    expect(parseBinaryList(c, { width: 20 }).error).toMatchObject({ code: 'LIST_MALFORMED', entry: 1, offset: 38 + 44 });
  });

  it('an unknown template name', () => {
    const b = sample();
    b[28 + 4] = 0x78; // "ima-xg"
    const p = parseMeasurementList(b);
    expect(p.error!.code).toBe('LIST_MALFORMED');
    expect(p.error!.expected).toMatch(/template name/);
  });

  it('ascii: wrong field count, bad hex, a digest width that changes, a missing final newline', () => {
    const good = '10 ' + 'ab'.repeat(20) + ' ima-ng sha1:' + '00'.repeat(20) + ' /a\n';
    expect(parseAsciiList(utf8Encode(good + good)).error).toBeNull();
    const bad = (s: string) => parseAsciiList(utf8Encode(good + s)).error as ListError;
    expect(bad('10 ' + 'ab'.repeat(20) + ' ima-ng /a\n')).toMatchObject({ code: 'LIST_MALFORMED', entry: 2, entryOffset: good.length });
    expect(bad('10 ' + 'zz'.repeat(20) + ' ima-ng sha1:00 /a\n')).toMatchObject({ entry: 2, offset: good.length + 3 });
    expect(bad('10 ' + 'ab'.repeat(32) + ' ima-ng sha1:' + '00'.repeat(20) + ' /a\n').expected).toMatch(/40 hex digits/);
    expect(bad('10 ' + 'ab'.repeat(20) + ' ima-ng sha1:' + '00'.repeat(19) + ' /a\n').expected).toMatch(/20 bytes/);
    expect(bad('10 ' + 'ab'.repeat(20) + ' ima-ng sha1:00').code).toBe('LIST_TRUNCATED');
    expect(bad('9 ' + 'ab'.repeat(20) + ' ima-ng sha1:' + '00'.repeat(20) + ' /a\n').expected).toMatch(/%2d/);
  });

  it('neither format, and big-endian lists, are refused with LIST_FORMAT', () => {
    const be = sample();
    be.set([0, 0, 0, 10], 0);
    expect(() => parseMeasurementList(be)).toThrow(expect.objectContaining({ code: 'LIST_FORMAT' }));
    const junk = parseMeasurementList(utf8Encode('hello world, not a list'));
    expect(junk.error!.code).toBe('LIST_MALFORMED');
    expect(junk.error!.entry).toBe(1);
    expect(parseMeasurementList(new Uint8Array(0))).toMatchObject({ entries: [], error: null });
  });
});
