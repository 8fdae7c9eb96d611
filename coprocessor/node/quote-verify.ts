// Checking an engine's attestation quote (the RESULT of ATTEST, coprocessor/core/engine/quote.ts)
// on Node: the signature with the engine's public key the verifier already trusts (never the key
// the quote carries), or the HMAC with the shared key of a board; then the claims, which must be
// the deterministic CBOR the engine signs, with the verifier's nonce.
import { createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { decodeCbor } from '../../protocol/cbor.js';
import { QuoteClaims } from '../core/engine/quote.js';

export interface QuoteTrust {
  /** The engine's quote key, SPKI DER (NodePlatform.publicKey), for signed quotes. */
  publicKey?: Uint8Array;
  /** The board's MAC key, for HMAC quotes. */
  hmacKey?: Uint8Array;
  /** The nonce the verifier sent; required to match when given. */
  nonce?: Uint8Array;
}

function invalid(text: string): Error {
  const e = new Error('quote: ' + text) as Error & { code: string };
  e.code = 'QUOTE_INVALID';
  return e;
}

function bytesField(o: { [k: string]: unknown }, name: string, size: number): Uint8Array {
  const v = o[name];
  if (!(v instanceof Uint8Array) || (size > 0 && v.length !== size)) throw invalid(`claim "${name}" must be ${size ? size + ' ' : ''}bytes`);
  return v;
}

function intField(o: { [k: string]: unknown }, name: string): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(`claim "${name}" must be a non-negative integer`);
  return v;
}

/** The claims of a quote whose signature or MAC checks out; throws QUOTE_INVALID otherwise. */
export function verifyQuote(quote: unknown, trust: QuoteTrust): QuoteClaims {
  const q = quote as { claims?: unknown; alg?: unknown; sig?: unknown };
  if (!q || !(q.claims instanceof Uint8Array) || !(q.sig instanceof Uint8Array) || typeof q.alg !== 'string') throw invalid('expected {claims, alg, sig}');
  if (q.alg === 'ecdsa-p256-sha256') {
    if (!trust.publicKey) throw invalid('signed quote, but no trusted public key given');
    const key = createPublicKey({ key: Buffer.from(trust.publicKey), format: 'der', type: 'spki' });
    if (!verify('sha256', q.claims, key, q.sig)) throw invalid('signature does not verify with the trusted key');
  } else if (q.alg === 'hmac-sha256') {
    if (!trust.hmacKey) throw invalid('MACed quote, but no MAC key given');
    const mac = createHmac('sha256', trust.hmacKey).update(q.claims).digest();
    if (q.sig.length !== mac.length || !timingSafeEqual(mac, q.sig)) throw invalid('MAC does not match');
  } else throw invalid(`unknown algorithm "${q.alg}"`);
  let c: { [k: string]: unknown };
  try {
    c = decodeCbor(q.claims) as { [k: string]: unknown };
  } catch (e) {
    throw invalid('claims are not deterministic CBOR: ' + (e as Error).message);
  }
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw invalid('claims are not a map');
  if (typeof c.deleted !== 'boolean') throw invalid('claim "deleted" must be a boolean');
  const claims: QuoteClaims = {
    ns: intField(c, 'ns'),
    count: intField(c, 'count'),
    violations: intField(c, 'violations'),
    sha1: bytesField(c, 'sha1', 20),
    sha256: bytesField(c, 'sha256', 32),
    nonce: bytesField(c, 'nonce', 0),
    time: intField(c, 'time'),
    deleted: c.deleted,
  };
  if (trust.nonce && Buffer.compare(Buffer.from(trust.nonce), Buffer.from(claims.nonce)) !== 0) throw invalid('nonce does not match the one sent');
  return claims;
}
