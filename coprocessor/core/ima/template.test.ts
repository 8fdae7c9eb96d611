import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { fromHex, toHex, utf8Encode } from '../../../protocol/bytes.js';
import { ALGO, hashAlgoName } from './hash-algo.js';
import { FIELD, buildTemplateData, fieldData, lookupTemplate, splitFields, templateDigest, templateDisplayName, TemplateInput } from './template.js';

const hash = (a: number, d: Uint8Array) => new Uint8Array(createHash(hashAlgoName(a)).update(d).digest());
const hex = (s: string) => fromHex(s.replace(/\s+/g, '')) as Uint8Array;
const sha1hex = (d: Uint8Array) => createHash('sha1').update(d).digest('hex');

function data(template: string, input: TemplateInput): Uint8Array {
  return buildTemplateData(lookupTemplate(template)!, input);
}

describe('template lookup', () => {
  it('finds builtins by name and by format, custom formats with an empty name', () => {
    expect(lookupTemplate('ima-ng')!.fmt).toBe('d-ng|n-ng');
    // lookup_template_desc matches the format too: template=d-ng|n-ng is ima-ng.
    expect(lookupTemplate('d-ng|n-ng')!.name).toBe('ima-ng');
    const custom = lookupTemplate('d-ng|sig')!;
    expect(custom.name).toBe('');
    expect(templateDisplayName(custom)).toBe('d-ng|sig');
    expect(custom.fields).toEqual([FIELD.D_NG, FIELD.SIG]);
    expect(lookupTemplate('evm-sig')!.fields.length).toBe(9);
    expect(lookupTemplate('ima-modsig')!.fields).toEqual([FIELD.D_NG, FIELD.N_NG, FIELD.SIG, FIELD.D_MODSIG, FIELD.MODSIG]);
  });

  it('rejects unknown fields, empty formats and more than 15 fields', () => {
    expect(lookupTemplate('d-ng|bogus')).toBeNull();
    expect(lookupTemplate('')).toBeNull();
    expect(lookupTemplate('d-ng||n-ng')).toBeNull();
    expect(lookupTemplate(Array(15).fill('n-ng').join('|'))).not.toBeNull();
    expect(lookupTemplate(Array(16).fill('n-ng').join('|'))).toBeNull();
  });
});

describe('template data as the kernel builds it', () => {
  it('boot_aggregate in ima-ng with a zero sha1 digest: the known bytes and template hash 1d8d532d…', () => {
    // tpm2-tss fapi-ima-eventlog.c and rust-keylime both carry this entry (ima-formats §5 F).
    const d = data('ima-ng', { digestAlgo: ALGO.SHA1, digest: new Uint8Array(20), name: 'boot_aggregate', hasFile: false });
    expect(toHex(d)).toBe('1a000000' + '736861313a00' + '00'.repeat(20) + '0f000000' + toHex(utf8Encode('boot_aggregate')) + '00');
    expect(toHex(templateDigest(hash, ALGO.SHA1, false, d))).toBe('1d8d532d463c9f8c205d0df7787669a85f93e260');
  });

  it('d-ng is "sha256:" NUL digest (40 bytes); d-ngv2 adds the digest type', () => {
    const digest = new Uint8Array(32).fill(0xab);
    expect(toHex(fieldData(FIELD.D_NG, { digestAlgo: ALGO.SHA256, digest, name: 'x' }))).toBe(toHex(utf8Encode('sha256:')) + '00' + 'ab'.repeat(32));
    expect(fieldData(FIELD.D_NG, { digestAlgo: ALGO.SHA256, digest, name: 'x' }).length).toBe(40);
    expect(toHex(fieldData(FIELD.D_NGV2, { digestAlgo: ALGO.SHA256, digest, name: 'x' }).subarray(0, 12))).toBe(toHex(utf8Encode('ima:sha256:')) + '00');
    expect(toHex(fieldData(FIELD.D_NGV2, { digestAlgo: ALGO.SHA256, digest, name: 'x', verity: true }).subarray(0, 15))).toBe(toHex(utf8Encode('verity:sha256:')) + '00');
    expect(() => fieldData(FIELD.D_NG, { digestAlgo: ALGO.SHA256, digest: new Uint8Array(20), name: 'x' })).toThrow(/32 bytes/);
  });

  it('names: spaces become underscores, n-ng keeps a NUL and any length', () => {
    expect(fieldData(FIELD.N_NG, { digestAlgo: 4, digest: null, name: '/tmp/a b (deleted)' })).toEqual(utf8Encode('/tmp/a_b_(deleted)\0'));
    const long = '/' + 'd'.repeat(300) + '/file';
    expect(fieldData(FIELD.N_NG, { digestAlgo: 4, digest: null, name: long }).length).toBe(long.length + 1);
  });

  it("'n' over 255 bytes: the dentry name with a file, the first 255 bytes without", () => {
    const long = '/' + 'd'.repeat(300) + '/file name';
    expect(fieldData(FIELD.N, { digestAlgo: 2, digest: null, name: long })).toEqual(utf8Encode('file_name\0'));
    const cut = fieldData(FIELD.N, { digestAlgo: 2, digest: null, name: long, hasFile: false });
    expect(cut.length).toBe(256);
    expect(cut[255]).toBe(0);
    expect(fieldData(FIELD.N, { digestAlgo: 2, digest: null, name: '/' + 'x'.repeat(254) }).length).toBe(256);
  });

  it("'ima' template digest is SHA1(d || n padded to 256), lengths not hashed", () => {
    const d = hex('e9002ba6c5a98f5b7a33dc6bbf9ac1863873b713');
    const td = data('ima', { digestAlgo: ALGO.SHA1, digest: d, name: '/init' });
    const padded = new Uint8Array(276);
    padded.set(d, 0);
    padded.set(utf8Encode('/init'), 20);
    // The same entry in tpm2-tss sml-ima-sha1 records template digest a3ff2672….
    expect(toHex(templateDigest(hash, ALGO.SHA1, true, td))).toBe(sha1hex(padded));
    expect(toHex(templateDigest(hash, ALGO.SHA1, true, td))).toBe('a3ff2672a129ea092ec2d41b88daafe632a8b65a');
    // A custom "d|n" is not 'ima': the generic rule hashes lengths too.
    expect(toHex(templateDigest(hash, ALGO.SHA1, false, td))).toBe(sha1hex(td));
  });

  it("'d' needs SHA-1 or MD5: other algorithms take digestSha1, a violation is 20 zeros", () => {
    const s1 = new Uint8Array(20).fill(7);
    expect(fieldData(FIELD.D, { digestAlgo: ALGO.SHA256, digest: new Uint8Array(32), digestSha1: s1, name: 'x' })).toEqual(s1);
    expect(() => fieldData(FIELD.D, { digestAlgo: ALGO.SHA256, digest: new Uint8Array(32), name: 'x' })).toThrow(/SHA-1/);
    expect(fieldData(FIELD.D, { digestAlgo: ALGO.SHA256, digest: null, name: 'x', violation: true })).toEqual(new Uint8Array(20));
  });

  it('a violation records the ima_hash_algo prefix and zeros', () => {
    const f = fieldData(FIELD.D_NG, { digestAlgo: ALGO.SHA256, digest: new Uint8Array(32).fill(1), name: '/x', violation: true });
    expect(f).toEqual(hex(toHex(utf8Encode('sha256:')) + '00' + '00'.repeat(32)));
  });

  it('sig keeps security.ima only for 0x03/0x06, else falls back to a portable EVM signature', () => {
    const imaSig = hex('030204f3452d2300020102');
    const base = { digestAlgo: 4, digest: new Uint8Array(32), name: '/f' };
    expect(fieldData(FIELD.SIG, { ...base, sig: imaSig })).toEqual(imaSig);
    expect(fieldData(FIELD.SIG, { ...base, sig: hex('0404' + '00'.repeat(32)) }).length).toBe(0);
    const evm = hex('0502041122334400020102');
    expect(fieldData(FIELD.SIG, { ...base, sig: hex('0404' + '00'.repeat(32)), evmSig: evm })).toEqual(evm);
    expect(fieldData(FIELD.EVMSIG, { ...base, evmSig: hex('02' + '00'.repeat(20)) }).length).toBe(0);
    expect(fieldData(FIELD.BUF, base).length).toBe(0);
  });

  it('evm-sig fields: names joined by "|" with a NUL, u32 lengths, values, uid/gid u32 and mode u16 (IBM imatest)', () => {
    const selinux = utf8Encode('unconfined_u:object_r:unlabeled_t:s0\0');
    const ima = hex('0404' + '11'.repeat(32));
    const input: TemplateInput = { digestAlgo: 4, digest: new Uint8Array(32), name: '/f', xattrNames: ['security.selinux', 'security.ima'], xattrValues: [selinux, ima], uid: 0, gid: 0, mode: 0o100644 };
    expect(fieldData(FIELD.XATTRNAMES, input)).toEqual(utf8Encode('security.selinux|security.ima\0'));
    expect(toHex(fieldData(FIELD.XATTRLENGTHS, input))).toBe('2500000022000000');
    expect(fieldData(FIELD.XATTRVALUES, input).length).toBe(0x25 + 0x22);
    expect(toHex(fieldData(FIELD.IUID, input))).toBe('00000000');
    expect(toHex(fieldData(FIELD.IMODE, input))).toBe('a481');
  });

  it('splits template data back into fields and refuses lying lengths', () => {
    const d = data('ima-sig', { digestAlgo: 4, digest: new Uint8Array(32), name: '/x' });
    const f = splitFields(d, 3)!;
    expect(f.map((x) => x.length)).toEqual([40, 3, 0]);
    expect(splitFields(d, 2)).toBeNull();
    const lying = d.slice();
    lying[0] = 41;
    expect(splitFields(lying, 3)).toBeNull();
    expect(splitFields(d.subarray(0, d.length - 1), -1)).toBeNull();
  });
});
