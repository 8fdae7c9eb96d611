// security.ima values written by evmctl (ima-evm-utils), parsed and checked against the file and
// key they came from; malformed values get the cause the kernel's appraisal reports.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createPrivateKey, verify } from 'node:crypto';
import { fromHex } from '../../../protocol/bytes.js';
import { ALGO } from './hash-algo.js';
import { parseImaXattr, XATTR } from './xattr.js';

const hex = (s: string) => fromHex(s) as Uint8Array;
let dir = '';
const content = Buffer.from('measured content\n');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'imans-xattr-'));
  writeFileSync(join(dir, 'f'), content);
  execFileSync('openssl', ['genrsa', '-out', join(dir, 'rsa.pem'), '2048'], { stdio: 'ignore' });
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'ec.pem')], { stdio: 'ignore' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function evmctlSign(key: string, algo: string): Uint8Array {
  execFileSync('evmctl', ['ima_sign', '--key', join(dir, key), '-a', algo, '--sigfile', join(dir, 'f')], { stdio: 'ignore' });
  return new Uint8Array(readFileSync(join(dir, 'f.sig')));
}

function evmctlHash(algo: string): Uint8Array {
  // With -n, evmctl prints the xattr value in hex on stdout ("hash(algo): " goes to stderr).
  const out = execFileSync('evmctl', ['ima_hash', '-a', algo, '-n', join(dir, 'f')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return hex(out.trim());
}

describe('security.ima from evmctl', () => {
  it('0x03 v2 RSA/sha256: hash_algo, big-endian keyid, signature bytes that verify over the file digest', () => {
    const x = evmctlSign('rsa.pem', 'sha256');
    const r = parseImaXattr(x);
    expect(r).toMatchObject({ kind: 'sig', type: XATTR.DIGSIG, version: 2, algo: ALGO.SHA256, error: '', cause: '' });
    expect(r.keyid).toBe(((x[3] << 24) | (x[4] << 16) | (x[5] << 8) | x[6]) >>> 0);
    expect(r.sig!.length).toBe(256);
    const key = createPrivateKey(readFileSync(join(dir, 'rsa.pem')));
    expect(verify('sha256', content, key, Buffer.from(r.sig!))).toBe(true);
  });

  it('0x03 v2 ECDSA P-256/sha512: DER signature that verifies', () => {
    const r = parseImaXattr(evmctlSign('ec.pem', 'sha512'));
    expect(r).toMatchObject({ kind: 'sig', version: 2, algo: ALGO.SHA512 });
    expect(verify('sha512', content, createPrivateKey(readFileSync(join(dir, 'ec.pem'))), Buffer.from(r.sig!))).toBe(true);
  });

  it('0x04 (sha512) and 0x01 (sha1) digests equal the file digest', () => {
    const ng = parseImaXattr(evmctlHash('sha512'));
    expect(ng).toMatchObject({ kind: 'digest', type: XATTR.DIGEST_NG, algo: ALGO.SHA512 });
    expect(Buffer.from(ng.digest!).equals(createHash('sha512').update(content).digest())).toBe(true);
    const old = parseImaXattr(evmctlHash('sha1'));
    expect(old).toMatchObject({ kind: 'digest', type: XATTR.DIGEST, algo: ALGO.SHA1 });
    expect(Buffer.from(old.digest!).equals(createHash('sha1').update(content).digest())).toBe(true);
  });
});

describe('kernel rules for each malformed or legacy value', () => {
  const sig = (version: number, algo: number, size: number, n: number) => {
    const x = new Uint8Array(9 + n).fill(0x5a);
    x.set([3, version, algo, 0xf3, 0x45, 0x2d, 0x23, size >> 8, size & 255], 0);
    return x;
  };

  it('0x01: MD5 when 17 bytes, or 21 with bytes 16..19 zero; other lengths name no algorithm (ima_get_hash_algo)', () => {
    expect(parseImaXattr(new Uint8Array(17).fill(1).fill(1, 0, 1)).algo).toBe(ALGO.MD5);
    const md5in20 = new Uint8Array(21).fill(7);
    md5in20[0] = 1;
    md5in20.fill(0, 17);
    expect(parseImaXattr(md5in20)).toMatchObject({ kind: 'digest', algo: ALGO.MD5 });
    expect(parseImaXattr(new Uint8Array(21).fill(1)).algo).toBe(ALGO.SHA1);
    const long = new Uint8Array(33).fill(1);
    expect(parseImaXattr(long)).toMatchObject({ kind: 'digest', algo: ALGO.SHA256 });
    expect(parseImaXattr(long, ALGO.SHA512)).toMatchObject({ kind: 'invalid', cause: 'invalid-hash', algo: ALGO.SHA512 });
    expect(parseImaXattr(hex('01aabbcc'))).toMatchObject({ kind: 'invalid', cause: 'invalid-hash' });
  });

  it('0x04: short digest, missing or unknown algorithm → invalid-hash; a longer value is compared as a prefix', () => {
    expect(parseImaXattr(hex('04'))).toMatchObject({ kind: 'invalid', cause: 'invalid-hash' });
    expect(parseImaXattr(hex('0404' + '11'.repeat(31)))).toMatchObject({ kind: 'invalid', cause: 'invalid-hash', algo: ALGO.SHA256 });
    expect(parseImaXattr(hex('0417' + '11'.repeat(32)))).toMatchObject({ kind: 'invalid', cause: 'invalid-hash' });
    expect(parseImaXattr(hex('0404' + '11'.repeat(40))).digest!.length).toBe(40);
  });

  it('0x03: sig_size must equal length - 9, the header must be complete, hash_algo below 23 → else invalid-signature', () => {
    expect(parseImaXattr(sig(2, 4, 16, 16))).toMatchObject({ kind: 'sig', keyid: 0xf3452d23 });
    expect(parseImaXattr(sig(2, 4, 17, 16))).toMatchObject({ kind: 'invalid', cause: 'invalid-signature', keyid: 0xf3452d23 });
    expect(parseImaXattr(sig(2, 4, 0, 0))).toMatchObject({ kind: 'invalid', cause: 'invalid-signature' });
    expect(parseImaXattr(sig(2, 4, 16, 16).subarray(0, 6))).toMatchObject({ kind: 'invalid', cause: 'invalid-signature' });
    expect(parseImaXattr(hex('03'))).toMatchObject({ kind: 'invalid', cause: 'invalid-signature' });
    expect(parseImaXattr(sig(2, 23, 16, 16))).toMatchObject({ kind: 'invalid', cause: 'invalid-signature', algo: ALGO.SHA256 });
  });

  it('0x03 versions: 1 (legacy RSA) is recognised and unsupported; 3 and above are invalid-signature-version', () => {
    const v1 = parseImaXattr(sig(1, 4, 16, 16));
    expect(v1).toMatchObject({ kind: 'invalid', cause: 'invalid-signature', version: 1 });
    expect(v1.error).toMatch(/version 1/);
    expect(parseImaXattr(sig(3, 4, 16, 16))).toMatchObject({ kind: 'invalid', cause: 'invalid-signature-version', version: 3 });
  });

  it('0x06 (fs-verity, v3) parses; another version is invalid-signature-version, a bad size invalid-verity-signature', () => {
    const v3 = sig(3, 4, 16, 16);
    v3[0] = 6;
    expect(parseImaXattr(v3)).toMatchObject({ kind: 'sig', type: XATTR.VERITY_DIGSIG, version: 3, algo: 4 });
    const v2 = sig(2, 4, 16, 16);
    v2[0] = 6;
    expect(parseImaXattr(v2)).toMatchObject({ kind: 'invalid', cause: 'invalid-signature-version' });
    const bad = sig(3, 4, 99, 16);
    bad[0] = 6;
    expect(parseImaXattr(bad)).toMatchObject({ kind: 'invalid', cause: 'invalid-verity-signature' });
  });

  it('other type bytes (EVM 0x02, 0x05, garbage) → unknown-ima-data; empty → missing', () => {
    for (const t of ['02', '05', '00', 'ff']) expect(parseImaXattr(hex(t + '00'.repeat(20)))).toMatchObject({ kind: 'invalid', cause: 'unknown-ima-data' });
    expect(parseImaXattr(new Uint8Array(0))).toMatchObject({ kind: 'missing', type: -1 });
  });
});
