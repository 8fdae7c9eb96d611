// An independent peer checks exported lists: evmctl ima_measurement (ima-evm-utils) replays a
// binary list and compares each PCR it touches with the values in a `PCR-NN: <hex>` file per bank.
// The list is built from scratch (boot_aggregate, ima-ng and ima-sig entries with real evmctl
// signatures, a violation, an entry in PCR 11), and the real embrave list is checked the same way.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { toHex } from '../protocol/bytes.js';
import { ALGO, MeasurementList, bootAggregateInput, hashAlgoName, loadParsedList, parseMeasurementList } from '../coprocessor/core/ima/index.js';

const hash = (a: number, d: Uint8Array) => new Uint8Array(createHash(hashAlgoName(a)).update(d).digest());
const VECTORS = fileURLToPath(new URL('../../shared/vectors/', import.meta.url));
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'imans-evmctl-'));
  execFileSync('openssl', ['genrsa', '-out', join(dir, 'rsa.pem'), '2048'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-new', '-x509', '-key', join(dir, 'rsa.pem'), '-out', join(dir, 'cert.pem'), '-days', '30', '-subj', '/CN=imans test', '-addext', 'subjectKeyIdentifier=hash'], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-in', join(dir, 'cert.pem'), '-outform', 'DER', '-out', join(dir, 'cert.der')], { stdio: 'ignore' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A PCR file as evmctl reads it: PCR-00 … PCR-23, the given values, zeros elsewhere. */
function pcrFile(name: string, size: number, values: { [pcr: number]: string }): string {
  const lines: string[] = [];
  for (let i = 0; i < 24; i++) lines.push(`PCR-${String(i).padStart(2, '0')}: ${values[i] ?? '00'.repeat(size)}`);
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function evmctl(list: string, pcrs: string[], extra: string[] = []) {
  const args = ['ima_measurement', ...extra];
  for (const p of pcrs) args.push('--pcrs', p);
  args.push(list);
  const r = spawnSync('evmctl', args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function signedFile(name: string, text: string): { digest: Uint8Array; sig: Uint8Array } {
  const path = join(dir, name);
  writeFileSync(path, text);
  execFileSync('evmctl', ['ima_sign', '--key', join(dir, 'rsa.pem'), '-a', 'sha256', '--sigfile', path], { stdio: 'ignore' });
  return { digest: hash(ALGO.SHA256, Buffer.from(text)), sig: new Uint8Array(readFileSync(path + '.sig')) };
}

describe('evmctl ima_measurement accepts exported lists', () => {
  it('a list built from scratch, in the sha1 and sha256 banks, PCR 10 and 11', () => {
    const l = new MeasurementList({ hash, banks: [ALGO.SHA1, ALGO.SHA256] });
    l.add(bootAggregateInput(hash, 'ima-ng', ALGO.SHA256, null));
    for (let i = 0; i < 5; i++) {
      const text = `file ${i}\n`;
      l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: hash(ALGO.SHA256, Buffer.from(text)), name: `/usr/bin/tool ${i}` });
    }
    const s = signedFile('signed', 'signed content\n');
    l.add({ template: 'ima-sig', digestAlgo: ALGO.SHA256, digest: s.digest, name: '/usr/bin/signed', sig: s.sig });
    l.add({ template: 'ima-sig', digestAlgo: ALGO.SHA256, digest: hash(ALGO.SHA256, Buffer.from('unsigned')), name: '/etc/unsigned' });
    l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: null, name: '/var/log/messages', violation: true });
    l.add({ pcr: 11, template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: hash(ALGO.SHA256, Buffer.from('pcr11')), name: '/opt/eleven' });
    l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: hash(ALGO.SHA256, Buffer.from('last')), name: '/bin/last' });
    expect(l.violations).toBe(1);
    const list = join(dir, 'binary_runtime_measurements');
    writeFileSync(list, l.exportBinary(ALGO.SHA1));

    const sha1 = pcrFile('pcrs-sha1', 20, { 10: toHex(l.aggregate(ALGO.SHA1)), 11: toHex(l.aggregate(ALGO.SHA1, 11)) });
    const sha256 = pcrFile('pcrs-sha256', 32, { 10: toHex(l.aggregate(ALGO.SHA256)), 11: toHex(l.aggregate(ALGO.SHA256, 11)) });
    // evmctl replays a violation (zero template digest) as the kernel extended it, all 0xff of
    // the bank size, only with --ignore-violations; without it a list holding one cannot match.
    const ok = evmctl(list, ['sha1,' + sha1, 'sha256,' + sha256], ['--ignore-violations']);
    expect(ok.status, ok.out).toBe(0);
    expect(ok.out).toContain('Matched per TPM bank calculated digest(s)');
    expect(evmctl(list, ['sha1,' + sha1, 'sha256,' + sha256]).status).not.toBe(0);

    // The ima-sig entry's signature field carries security.ima byte for byte: evmctl verifies it
    // over the entry's d-ng digest with the signer's certificate.
    const sigs = evmctl(list, ['sha1,' + sha1, 'sha256,' + sha256], ['-v', '--ignore-violations', '--verify-sig', '--key', join(dir, 'cert.der')]);
    expect(sigs.status, sigs.out).toBe(0);
    expect(sigs.out).toContain('/usr/bin/signed: verification is OK');
    expect(sigs.out).not.toContain('verification failed');

    // The check has teeth: one wrong PCR value, or one changed byte in the list, fails.
    const wrong = pcrFile('pcrs-sha256-wrong', 32, { 10: toHex(l.aggregate(ALGO.SHA256)).replace(/^./, (c) => (c === '0' ? '1' : '0')), 11: toHex(l.aggregate(ALGO.SHA256, 11)) });
    expect(evmctl(list, ['sha256,' + wrong], ['--ignore-violations']).status).not.toBe(0);
    const tampered = Buffer.from(l.exportBinary(ALGO.SHA1));
    tampered[tampered.length - 2] ^= 1;
    writeFileSync(join(dir, 'tampered'), tampered);
    expect(evmctl(join(dir, 'tampered'), ['sha1,' + sha1, 'sha256,' + sha256], ['--ignore-violations']).status).not.toBe(0);
  });

  it('a list replayed as kernels before 5.8 did (sha256 bank extended with padded SHA-1 digests)', () => {
    const l = new MeasurementList({ hash, banks: [ALGO.SHA1, ALGO.SHA256], paddedSha1: true });
    l.add(bootAggregateInput(hash, 'ima-ng', ALGO.SHA1, null));
    for (let i = 0; i < 4; i++) l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA1, digest: hash(ALGO.SHA1, Buffer.from(`old ${i}`)), name: `/old/${i}` });
    l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA1, digest: null, name: '/old/violation', violation: true });
    expect(l.templateDigest(1, ALGO.SHA256).subarray(20)).toEqual(new Uint8Array(12));
    const list = join(dir, 'old_binary_runtime_measurements');
    writeFileSync(list, l.exportBinary(ALGO.SHA1));
    const sha256 = pcrFile('old-sha256', 32, { 10: toHex(l.aggregate(ALGO.SHA256)) });
    const r = evmctl(list, ['sha256,' + sha256], ['--ignore-violations']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/Matched SHA1 padded TPM digest/);
    // The same list under the ≥ 5.8 rule gives another sha256 value.
    const now = new MeasurementList({ hash, banks: [ALGO.SHA1, ALGO.SHA256] });
    for (let i = 0; i < l.count; i++) {
      const e = l.entry(i);
      now.importEntry(e.pcr, e.templateName, e.template, e.data, ALGO.SHA1, l.templateDigest(i, ALGO.SHA1));
    }
    expect(now.aggregate(ALGO.SHA1)).toEqual(l.aggregate(ALGO.SHA1));
    expect(now.aggregate(ALGO.SHA256)).not.toEqual(l.aggregate(ALGO.SHA256));
  });

  it.skipIf(!existsSync(VECTORS))('the embrave kernel list against the README values, and our own export of it', () => {
    const sha1 = pcrFile('embrave-sha1', 20, { 10: 'f38695bbd9479953543813fb13bb88235440504e' });
    const sha256 = pcrFile('embrave-sha256', 32, { 10: '0d204f41041c48fe0d2e1ef0a6c308412c27304a68519d3ce3568a692d3fea83' });
    const r = evmctl(VECTORS + 'embrave-binary_runtime_measurements', ['sha1,' + sha1, 'sha256,' + sha256]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('Matched per TPM bank calculated digest(s)');
    const parsed = parseMeasurementList(new Uint8Array(readFileSync(VECTORS + 'embrave-binary_runtime_measurements')));
    const { list } = loadParsedList(parsed, hash, [ALGO.SHA256]);
    writeFileSync(join(dir, 'embrave-again'), list.exportBinary(ALGO.SHA1));
    expect(evmctl(join(dir, 'embrave-again'), ['sha1,' + sha1, 'sha256,' + sha256]).status).toBe(0);

    // `imans list aggregate --padded-sha1` gives the value a pre-5.8 kernel would have left in
    // the sha256 bank; evmctl's padded fallback agrees.
    const cli = spawnSync(process.execPath, [fileURLToPath(new URL('../bin/imans.mjs', import.meta.url)), 'list', 'aggregate', VECTORS + 'embrave-binary_runtime_measurements', '--bank', 'sha256', '--padded-sha1', '--json'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    const padded = JSON.parse(cli.stdout).aggregate as string;
    expect(padded).not.toBe('0d204f41041c48fe0d2e1ef0a6c308412c27304a68519d3ce3568a692d3fea83');
    const old = evmctl(VECTORS + 'embrave-binary_runtime_measurements', ['sha256,' + pcrFile('embrave-sha256-padded', 32, { 10: padded })]);
    expect(old.status, old.out).toBe(0);
    expect(old.out).toMatch(/Matched SHA1 padded TPM digest/);
  });
});
