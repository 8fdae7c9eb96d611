// X.509 certificates as IMA's keyrings see them: the public key, and the keyid a signature_v2_hdr
// names (ima-formats §3.5): the last 4 bytes of the Subject Key Identifier extension, as the
// kernel's "id:%08x" partial match against kids->id[1] = cert->skid; without that extension,
// evmctl's calc_keyid_v2 (SHA-1 over the SubjectPublicKeyInfo BIT STRING contents, bytes 16..19).
// node:crypto parses the key; the few DER fields Node does not expose are walked here.
import { createHash, KeyObject, X509Certificate } from 'node:crypto';
import { PublicKey } from '../core/platform.js';

export interface Der {
  tag: number;
  /** Offset of the contents. */
  start: number;
  /** Offset just past the contents. */
  end: number;
}

function keyError(message: string): Error {
  const e = new Error('certificate: ' + message) as Error & { code: string };
  e.code = 'KEY_INVALID';
  return e;
}

/** One DER TLV at `at`, bounded by `limit`. Definite lengths only, up to 4 length bytes. */
export function readDer(b: Uint8Array, at: number, limit: number): Der {
  if (at + 2 > limit) throw keyError(`DER element at offset ${at} runs past its container (${limit})`);
  const tag = b[at];
  let len = b[at + 1];
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw keyError(`DER length at offset ${at + 1} uses ${n} bytes (1 to 4 expected)`);
    if (p + n > limit) throw keyError(`DER length at offset ${at + 1} runs past its container`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i];
    p += n;
  }
  if (p + len > limit) throw keyError(`DER element at offset ${at} claims ${len} bytes, only ${limit - p} left`);
  return { tag, start: p, end: p + len };
}

function children(b: Uint8Array, parent: Der): Der[] {
  const out: Der[] = [];
  let at = parent.start;
  while (at < parent.end) {
    const d = readDer(b, at, parent.end);
    out.push(d);
    at = d.end;
  }
  return out;
}

const OID_SKID = Uint8Array.of(0x55, 0x1d, 0x0e); // 2.5.29.14

interface CertFields {
  skid: Uint8Array | null;
  /** SubjectPublicKeyInfo BIT STRING contents, without the unused-bits byte. */
  spkiBits: Uint8Array;
}

/** The fields of a DER certificate IMA needs. Throws KEY_INVALID on anything malformed. */
export function certFields(der: Uint8Array): CertFields {
  const cert = readDer(der, 0, der.length);
  if (cert.tag !== 0x30 || cert.end !== der.length) throw keyError('not a DER SEQUENCE spanning the whole input');
  const top = children(der, cert);
  if (top.length < 1 || top[0].tag !== 0x30) throw keyError('no tbsCertificate');
  const tbs = children(der, top[0]);
  let i = 0;
  if (tbs[i] && tbs[i].tag === 0xa0) i++; // [0] version
  // serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo
  const spki = tbs[i + 5];
  if (!spki || spki.tag !== 0x30) throw keyError('no subjectPublicKeyInfo');
  const spkiParts = children(der, spki);
  const bits = spkiParts[1];
  if (!bits || bits.tag !== 0x03 || bits.end - bits.start < 2) throw keyError('subjectPublicKeyInfo has no BIT STRING');
  let skid: Uint8Array | null = null;
  for (let k = i + 6; k < tbs.length; k++) {
    if (tbs[k].tag !== 0xa3) continue;
    const exts = children(der, tbs[k]);
    if (exts.length !== 1 || exts[0].tag !== 0x30) throw keyError('extensions are not one SEQUENCE');
    for (const ext of children(der, exts[0])) {
      const parts = children(der, ext);
      const oid = parts[0];
      if (!oid || oid.tag !== 0x06) throw keyError('extension without an OID');
      const value = parts[parts.length - 1];
      const o = der.subarray(oid.start, oid.end);
      if (o.length !== 3 || o[0] !== OID_SKID[0] || o[1] !== OID_SKID[1] || o[2] !== OID_SKID[2]) continue;
      if (value.tag !== 0x04) throw keyError('subjectKeyIdentifier value is not an OCTET STRING');
      const inner = readDer(der, value.start, value.end);
      if (inner.tag !== 0x04) throw keyError('subjectKeyIdentifier is not an OCTET STRING');
      skid = der.slice(inner.start, inner.end);
    }
  }
  return { skid, spkiBits: der.slice(bits.start + 1, bits.end) };
}

/** PEM (first CERTIFICATE block) or DER bytes → DER. */
export function certDer(data: Uint8Array): Uint8Array {
  const head = Buffer.from(data.subarray(0, Math.min(data.length, 64))).toString('latin1');
  if (head.indexOf('-----BEGIN') < 0 && data[0] === 0x30) return data;
  const text = Buffer.from(data).toString('latin1');
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----/.exec(text);
  if (!m) throw keyError('neither DER nor a PEM CERTIFICATE block');
  return new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}

/** What the Node platform keeps in PublicKey.handle. */
export interface NodeKeyHandle {
  key: KeyObject;
  /** Uncompressed EC point (04 || X || Y) for ECDSA keys, else null. */
  point: Uint8Array | null;
}

const CURVES: { [name: string]: string } = { prime256v1: 'ecdsa-p256', secp384r1: 'ecdsa-p384' };

/** keyid: last 4 SKID bytes, else SHA-1(SPKI BIT STRING contents)[16..19], big-endian. */
export function keyidOf(fields: CertFields): number {
  const src = fields.skid && fields.skid.length >= 4 ? fields.skid : new Uint8Array(createHash('sha1').update(fields.spkiBits).digest());
  const n = src.length;
  return ((src[n - 4] << 24) | (src[n - 3] << 16) | (src[n - 2] << 8) | src[n - 1]) >>> 0;
}

export function parseCertificate(data: Uint8Array): PublicKey {
  const der = certDer(data);
  const fields = certFields(der);
  let key: KeyObject;
  try {
    key = new X509Certificate(der).publicKey;
  } catch (err) {
    throw keyError((err as Error).message);
  }
  let kind: string;
  let point: Uint8Array | null = null;
  if (key.asymmetricKeyType === 'rsa') kind = 'rsa';
  else if (key.asymmetricKeyType === 'ec') {
    const curve = String(key.asymmetricKeyDetails?.namedCurve);
    kind = CURVES[curve];
    if (!kind) throw keyError(`EC curve ${curve} is not one IMA verifies here (P-256, P-384)`);
    point = fields.spkiBits;
    if (point[0] !== 0x04) throw keyError('EC public key is not an uncompressed point');
  } else throw keyError(`key type ${key.asymmetricKeyType} is not supported (RSA, ECDSA P-256/P-384)`);
  const handle: NodeKeyHandle = { key, point };
  return { kind, keyid: keyidOf(fields), der, handle };
}
