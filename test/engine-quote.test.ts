// ATTEST: quotes over a namespace's aggregate, signed with the engine's key (or MACed on a
// platform without signing), checked with the Node verifier; the aggregates they carry are
// replayed independently from the exported per-bank lists.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_OP } from '../protocol/messages.js';
import { verifyQuote } from '../coprocessor/node/quote-verify.js';
import { Harness } from './engine-harness.js';
import { tempDir } from './engine-keys.js';

const dir = tempDir('imans-quote-');

function busy(h: Harness): number {
  const ns = h.nsCreate(900);
  h.policy(ns, 'measure func=FILE_CHECK\n');
  for (let i = 0; i < 5; i++) {
    const f = join(dir, 'q' + i);
    writeFileSync(f, 'quote me ' + i + '\n');
    h.open(f, 900);
  }
  return ns;
}

/** PCR 10 replayed from binary_runtime_measurements in one bank: zero digests extend as 0xff. */
function replay(bin: Uint8Array, algo: 'sha1' | 'sha256'): Buffer {
  const w = algo === 'sha1' ? 20 : 32;
  let pcr = Buffer.alloc(w);
  const b = Buffer.from(bin);
  let o = 0;
  while (o < b.length) {
    const d = b.subarray(o + 4, o + 4 + w);
    const nameLen = b.readUInt32LE(o + 4 + w);
    const dataLen = b.readUInt32LE(o + 8 + w + nameLen);
    const ext = d.every((x) => x === 0) ? Buffer.alloc(w, 0xff) : d;
    pcr = createHash(algo).update(Buffer.concat([pcr, ext])).digest();
    o += 12 + w + nameLen + dataLen;
  }
  return pcr;
}

describe('attestation quotes', () => {
  it('a signed quote carries the namespace aggregate and the nonce, and verifies with the engine key', () => {
    const h = new Harness();
    const ns = busy(h);
    const nonce = new Uint8Array(createHash('sha256').update('verifier nonce').digest());
    const q = h.attest(ns, nonce);
    expect(q.alg).toBe('ecdsa-p256-sha256');
    const c = verifyQuote(q, { publicKey: h.platform.publicKey, nonce });
    const a = h.aggregate(ns);
    expect(c).toMatchObject({ ns, count: 6, violations: 0, deleted: false });
    expect(Buffer.from(c.sha1).equals(Buffer.from(a.sha1))).toBe(true);
    expect(Buffer.from(c.sha256).equals(Buffer.from(a.sha256))).toBe(true);
    expect(replay(h.control(CONTROL_OP.MEASUREMENTS, { ns, bank: 'sha1', format: 'binary' }).data, 'sha1').equals(Buffer.from(c.sha1))).toBe(true);
    expect(replay(h.control(CONTROL_OP.MEASUREMENTS, { ns, bank: 'sha256', format: 'binary' }).data, 'sha256').equals(Buffer.from(c.sha256))).toBe(true);
  });

  it('tampered claims, signatures, nonces and foreign keys are refused', () => {
    const h = new Harness();
    const ns = busy(h);
    const nonce = new Uint8Array([1, 2, 3, 4]);
    const q = h.attest(ns, nonce);
    const refuse = (quote: unknown, trust: Parameters<typeof verifyQuote>[1]) => expect(() => verifyQuote(quote, trust)).toThrow(/^quote: /);
    for (let i = 0; i < q.claims.length; i += 7) {
      const claims = q.claims.slice();
      claims[i] ^= 0x01;
      refuse({ ...q, claims }, { publicKey: h.platform.publicKey });
    }
    const sig = q.sig.slice();
    sig[sig.length - 1] ^= 0x80;
    refuse({ ...q, sig }, { publicKey: h.platform.publicKey });
    refuse(q, { publicKey: new Harness().platform.publicKey });
    refuse(q, { publicKey: h.platform.publicKey, nonce: new Uint8Array([1, 2, 3, 5]) });
    refuse(q, {});
    refuse({ ...q, alg: 'none' }, { publicKey: h.platform.publicKey });
    refuse(null, { publicKey: h.platform.publicKey });
    expect(verifyQuote(q, { publicKey: h.platform.publicKey, nonce }).ns).toBe(ns);
  });

  it('without a signing key the quote is an HMAC under the key kept in the engine storage', () => {
    const h = new Harness();
    delete (h.platform as { sign?: unknown }).sign;
    const ns = busy(h);
    const q = h.attest(ns, new Uint8Array([9]));
    expect(q.alg).toBe('hmac-sha256');
    expect(q.key).toBeNull();
    const hmacKey = h.platform.storage.read('quote-hmac-key')!;
    expect(hmacKey).toHaveLength(32);
    expect(verifyQuote(q, { hmacKey }).count).toBe(6);
    expect(verifyQuote(h.attest(ns, new Uint8Array([10])), { hmacKey }).nonce).toEqual(new Uint8Array([10]));
    const claims = q.claims.slice();
    claims[3] ^= 4;
    expect(() => verifyQuote({ ...q, claims }, { hmacKey })).toThrow(/MAC does not match/);
    expect(() => verifyQuote(q, { hmacKey: new Uint8Array(32) })).toThrow(/MAC does not match/);
  });

  it('a deleted namespace is still attested, with its final aggregate', () => {
    const h = new Harness();
    const ns = busy(h);
    const final = h.control(CONTROL_OP.NS_DELETE, { ns });
    const c = verifyQuote(h.attest(ns, new Uint8Array(0)), { publicKey: h.platform.publicKey });
    expect(c).toMatchObject({ ns, count: 6, deleted: true });
    expect(c.sha256).toEqual(final.sha256);
    expect(() => h.attest(77, new Uint8Array(0))).toThrow(/no namespace 77/);
    expect(() => h.attest(0, new Uint8Array(65))).toThrow(/nonce/);
  });

  it('a clock with fractions of a millisecond (the board’s Date.now) still gives integer claims', () => {
    const h = new Harness({ now: () => 1700000000123.75 });
    const c = verifyQuote(h.attest(0, new Uint8Array(4)), { publicKey: h.platform.publicKey });
    expect(c.time).toBe(1700000000123);
  });
});
