// Signature checks over a digest IMA already computed (ima-formats §3.3: a v2 signature signs the
// raw file digest). node:crypto only verifies over data it hashes itself, so RSA is checked by
// recovering the PKCS#1 v1.5 block with publicDecrypt and comparing the DigestInfo the kernel's
// pkcs1pad would build, and ECDSA with @noble/curves over the prehashed digest (node:crypto's
// verify(null) on an EC key re-hashes with SHA-256, which is not what the kernel does).
import { constants, publicDecrypt } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { PublicKey } from '../core/platform.js';
import { NodeKeyHandle } from './x509.js';

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1), by kernel hash_algo number. */
const DIGEST_INFO: { [algo: number]: string } = {
  1: '3020300c06082a864886f70d020505000410', // md5
  2: '3021300906052b0e03021a05000414', // sha1
  3: '3021300906052b2403020105000414', // rmd160
  4: '3031300d060960864801650304020105000420', // sha256
  5: '3041300d060960864801650304020205000430', // sha384
  6: '3051300d060960864801650304020305000440', // sha512
  7: '302d300d06096086480165030402040500041c', // sha224
  20: '3031300d060960864801650304020805000420', // sha3-256
  21: '3041300d060960864801650304020905000430', // sha3-384
  22: '3051300d060960864801650304020a05000440', // sha3-512
};

function verifyRsa(h: NodeKeyHandle, hashAlgo: number, digest: Uint8Array, sig: Uint8Array): boolean {
  const prefix = DIGEST_INFO[hashAlgo];
  if (!prefix) return false;
  const expected = Buffer.concat([Buffer.from(prefix, 'hex'), digest]);
  if (expected.length !== prefix.length / 2 + parseInt(prefix.slice(-2), 16)) return false;
  let block: Buffer;
  try {
    block = publicDecrypt({ key: h.key, padding: constants.RSA_PKCS1_PADDING }, sig);
  } catch {
    return false;
  }
  return block.equals(expected);
}

function verifyEcdsa(curve: typeof p256, h: NodeKeyHandle, digest: Uint8Array, sig: Uint8Array): boolean {
  if (!h.point) return false;
  try {
    return curve.verify(sig, digest, h.point, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}

export function verifySignature(key: PublicKey, hashAlgo: number, digest: Uint8Array, sig: Uint8Array): boolean {
  const h = key.handle as NodeKeyHandle;
  if (key.kind === 'rsa') return verifyRsa(h, hashAlgo, digest, sig);
  if (key.kind === 'ecdsa-p256') return verifyEcdsa(p256, h, digest, sig);
  if (key.kind === 'ecdsa-p384') return verifyEcdsa(p384 as unknown as typeof p256, h, digest, sig);
  return false;
}
