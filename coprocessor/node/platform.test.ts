import { describe, expect, it } from 'vitest';
import { createHash, verify as nodeVerify, createPublicKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodePlatform } from './platform.js';
import { FileStorage } from './file-storage.js';
import { certFields, readDer } from './x509.js';
import { evmSign, getXattr, makeKey, tempDir, TestKey } from '../../test/engine-keys.js';

const dir = tempDir('imans-platform-');
const keys: TestKey[] = [makeKey(dir, 'rsa', 'rsa'), makeKey(dir, 'ecdsa-p256', 'p256'), makeKey(dir, 'ecdsa-p384', 'p384')];

function skidTail(certPem: string): number {
  const text = execFileSync('openssl', ['x509', '-in', certPem, '-noout', '-ext', 'subjectKeyIdentifier']).toString();
  const hex = text.split('\n')[1].trim().replace(/:/g, '');
  return parseInt(hex.slice(-8), 16) >>> 0;
}

describe('node platform: certificates', () => {
  const p = createNodePlatform();
  for (const k of keys) {
    it(`${k.kind}: keyid is the last 4 SKID bytes, from PEM and from DER`, () => {
      const pem = p.parseCertificate!(readFileSync(k.cert));
      const der = p.parseCertificate!(readFileSync(k.certDer));
      expect(pem.kind).toBe(k.kind);
      expect(pem.keyid).toBe(skidTail(k.cert));
      expect(der.keyid).toBe(pem.keyid);
      expect(Buffer.from(der.der).equals(readFileSync(k.certDer))).toBe(true);
    });

    it(`${k.kind}: without SKID the keyid is evmctl's calc_keyid_v2`, () => {
      const f = join(dir, `nokid-${k.kind}`);
      writeFileSync(f, 'keyid fallback\n');
      evmSign(f, k, 'sha256', true);
      const x = getXattr(f)!;
      const evmKeyid = x.subarray(3, 7);
      const pk = p.parseCertificate!(readFileSync(k.certNoSkid));
      expect(pk.keyid).toBe(Buffer.from(evmKeyid).readUInt32BE(0));
    });
  }

  it('rejects garbage, truncated certificates and unsupported keys with KEY_INVALID', () => {
    const der = readFileSync(keys[0].certDer);
    const bad = [new Uint8Array(0), new Uint8Array([0x30]), new Uint8Array(der.subarray(0, der.length - 10)), new TextEncoder().encode('-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n')];
    const ed = join(dir, 'ed.key');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', ed]);
    execFileSync('openssl', ['req', '-new', '-x509', '-key', ed, '-out', ed + '.crt', '-subj', '/CN=ed', '-days', '1']);
    bad.push(readFileSync(ed + '.crt'));
    for (const b of bad) {
      let err: (Error & { code?: string }) | null = null;
      try {
        p.parseCertificate!(b);
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code).toBe('KEY_INVALID');
    }
  });

  it('DER walker: random mutations give KEY_INVALID or a result, never another exception', () => {
    const der = readFileSync(keys[1].certDer);
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const m = new Uint8Array(der);
      for (let j = 0; j < 1 + rnd(4); j++) m[rnd(m.length)] = rnd(256);
      const cut = rnd(3) === 0 ? m.subarray(0, rnd(m.length)) : m;
      try {
        certFields(cut);
        p.parseCertificate!(cut);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('KEY_INVALID');
      }
    }
    expect(() => readDer(new Uint8Array([0x30, 0x85, 1, 1, 1, 1, 1]), 0, 7)).toThrow(/length/);
  });
});

describe('node platform: signatures over a digest', () => {
  const p = createNodePlatform();
  for (const k of keys) {
    for (const algo of ['sha256', 'sha512'] as const) {
      it(`${k.kind} ${algo}: evmctl's signature verifies over the file digest; any change fails`, () => {
        const f = join(dir, `sig-${k.kind}-${algo}`);
        writeFileSync(f, `content for ${k.kind} ${algo}\n`);
        evmSign(f, k, algo);
        const x = getXattr(f)!;
        expect(x[0]).toBe(3);
        const halgo = x[2];
        const sig = x.subarray(9);
        const digest = new Uint8Array(createHash(algo).update(readFileSync(f)).digest());
        const pk = p.parseCertificate!(readFileSync(k.cert));
        expect(pk.keyid).toBe(Buffer.from(x.subarray(3, 7)).readUInt32BE(0));
        expect(p.verifySignature!(pk, halgo, digest, sig)).toBe(true);
        const d2 = digest.slice();
        d2[0] ^= 1;
        expect(p.verifySignature!(pk, halgo, d2, sig)).toBe(false);
        const s2 = sig.slice();
        s2[s2.length - 3] ^= 0x10;
        expect(p.verifySignature!(pk, halgo, digest, s2)).toBe(false);
        expect(p.verifySignature!(pk, halgo, digest, sig.subarray(0, 5))).toBe(false);
        // The RSA DigestInfo names the algorithm: the same digest under another algo number fails.
        if (k.kind === 'rsa') expect(p.verifySignature!(pk, halgo === 4 ? 6 : 4, digest, sig)).toBe(false);
        const other = p.parseCertificate!(readFileSync(keys[(keys.indexOf(k) + 1) % keys.length].cert));
        expect(p.verifySignature!(other, halgo, digest, sig)).toBe(false);
      });
    }
  }
});

describe('node platform: hashes, crc, quote key', () => {
  it('hashes by kernel hash_algo number and CRC-32 ISO-HDLC', () => {
    const p = createNodePlatform();
    const data = new TextEncoder().encode('abc');
    expect(Buffer.from(p.hash(4, data)!).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(Buffer.from(p.hash(2, data)!).toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(p.hash(6, data)!.length).toBe(64);
    expect(p.hash(99, data)).toBeNull();
    expect(p.crc32(data)).toBe(891568578);
    expect(Buffer.from(p.hmacSha256(new Uint8Array(32), data)).toString('hex')).toHaveLength(64);
  });

  it('the quote key survives a restart in the state dir and signs verifiably', () => {
    const state = tempDir('imans-state-');
    const a = createNodePlatform({ stateDir: state });
    const b = createNodePlatform({ stateDir: state });
    expect(Buffer.from(a.publicKey).equals(Buffer.from(b.publicKey))).toBe(true);
    const data = new TextEncoder().encode('claims');
    const s = b.sign!(data);
    const pub = createPublicKey({ key: Buffer.from(s.publicKey), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', data, pub, s.sig)).toBe(true);
    expect(createNodePlatform({ stateDir: tempDir('imans-state-') }).publicKey).not.toEqual(a.publicKey);
    a.close();
    b.close();
  });
});

describe('storage without a state directory', () => {
  it('keeps small records but no journal: nothing survives the process anyway', () => {
    const p = createNodePlatform();
    p.storage.append('journal', new Uint8Array([1, 2, 3]));
    expect(p.storage.read('journal')).toBeNull();
    p.storage.replace('quote-hmac-key', new Uint8Array(32).fill(7));
    expect(p.storage.read('quote-hmac-key')).toEqual(new Uint8Array(32).fill(7));
    expect(p.storage.list()).toEqual(['quote-hmac-key']);
  });
});

describe('file storage', () => {
  it('appends, replaces, removes, lists; contents survive a new instance', () => {
    const d = tempDir('imans-store-');
    const s = new FileStorage(d);
    s.append('journal', new Uint8Array([1, 2]));
    s.append('journal', new Uint8Array([3]));
    s.replace('meta', new Uint8Array([9]));
    s.replace('meta', new Uint8Array([8, 8]));
    s.append('gone', new Uint8Array([0]));
    s.remove('gone');
    s.remove('never-was');
    s.close();
    const t = new FileStorage(d);
    expect(t.list()).toEqual(['journal', 'meta']);
    expect(Array.from(t.read('journal')!)).toEqual([1, 2, 3]);
    expect(Array.from(t.read('meta')!)).toEqual([8, 8]);
    expect(t.read('gone')).toBeNull();
    t.append('journal', new Uint8Array([4]));
    expect(Array.from(t.read('journal')!)).toEqual([1, 2, 3, 4]);
    expect(() => t.append('../escape', new Uint8Array(1))).toThrow(/bad record name/);
    t.close();
  });
});
