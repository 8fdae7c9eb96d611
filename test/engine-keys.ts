// Signing keys and certificates made the way an IMA deployment makes them (openssl, with
// subjectKeyIdentifier=hash), and files signed with the real `evmctl ima_sign`. Shared by the
// engine, platform and CLI tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestKey {
  kind: 'rsa' | 'ecdsa-p256' | 'ecdsa-p384';
  key: string;
  /** PEM certificate with a subjectKeyIdentifier. */
  cert: string;
  /** DER of the same certificate. */
  certDer: string;
  /** PEM certificate without a subjectKeyIdentifier extension. */
  certNoSkid: string;
}

const CNF = `[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = imans test key
[ v3 ]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=hash
[ v3noskid ]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=none
`;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function makeKey(dir: string, kind: TestKey['kind'], name: string): TestKey {
  const key = join(dir, name + '.key');
  if (kind === 'rsa') execFileSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'pipe' });
  else execFileSync('openssl', ['ecparam', '-name', kind === 'ecdsa-p256' ? 'prime256v1' : 'secp384r1', '-genkey', '-noout', '-out', key], { stdio: 'pipe' });
  const cnf = join(dir, 'x509.cnf');
  writeFileSync(cnf, CNF);
  const cert = join(dir, name + '.crt');
  const certNoSkid = join(dir, name + '-noskid.crt');
  const certDer = join(dir, name + '.der');
  execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-out', cert, '-days', '3650', '-config', cnf, '-extensions', 'v3'], { stdio: 'pipe' });
  execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-out', certNoSkid, '-days', '3650', '-config', cnf, '-extensions', 'v3noskid'], { stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER', '-out', certDer], { stdio: 'pipe' });
  return { kind, key, cert, certDer, certNoSkid };
}

/** `evmctl ima_sign` FILE with KEY; the keyid is the certificate's SKID unless `keyidFromKey`. */
export function evmSign(file: string, k: TestKey, algo: string, keyidFromKey = false): void {
  const args = ['ima_sign', '--key', k.key, '-a', algo];
  if (!keyidFromKey) args.push('--keyid-from-cert', k.cert);
  args.push(file);
  execFileSync('evmctl', args, { stdio: 'pipe' });
}

/** `evmctl ima_hash`: a 0x04 (or 0x01 for sha1) digest xattr. */
export function evmHash(file: string, algo: string): void {
  execFileSync('evmctl', ['ima_hash', '-a', algo, file], { stdio: 'pipe' });
}

export function getXattr(file: string): Uint8Array | null {
  try {
    const out = execFileSync('getfattr', ['--absolute-names', '-n', 'security.ima', '-e', 'hex', file], { stdio: 'pipe' }).toString();
    const m = /security\.ima=0x([0-9a-f]*)/.exec(out);
    return m ? new Uint8Array(Buffer.from(m[1], 'hex')) : null;
  } catch {
    return null;
  }
}

export function setXattr(file: string, value: Uint8Array): void {
  execFileSync('setfattr', ['-n', 'security.ima', '-v', '0x' + Buffer.from(value).toString('hex'), file], { stdio: 'pipe' });
}

export function removeXattr(file: string): void {
  execFileSync('setfattr', ['-x', 'security.ima', file], { stdio: 'pipe' });
}

export function readBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(file));
}
