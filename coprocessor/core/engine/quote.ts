// Attestation quotes: the state of one namespace's measurement list (entry count, violations, the
// aggregates standing for PCR 10 in the sha1 and sha256 banks), bound to the verifier's nonce and
// the engine's clock, as deterministic CBOR claims (protocol/cbor.ts, RFC 8949 §4.2.1) that the
// engine signs with its own key (platform.sign) or, on boards without public-key crypto, MACs
// with HMAC-SHA256 under a key kept in its storage.
// Portable (Espruino profile).
import { encodeCbor } from '../../../protocol/cbor.js';
import { Platform } from '../platform.js';

export interface QuoteClaims {
  ns: number;
  count: number;
  violations: number;
  sha1: Uint8Array;
  sha256: Uint8Array;
  nonce: Uint8Array;
  /** platform.now(), milliseconds since the epoch. */
  time: number;
  /** true when the namespace was deleted and these are its final values. */
  deleted: boolean;
}

/** The RESULT value answering ATTEST. `key` is the signer's public key (SPKI DER) when signed. */
export interface Quote {
  claims: Uint8Array;
  alg: string;
  sig: Uint8Array;
  key: Uint8Array | null;
}

export const QUOTE_HMAC_ALG = 'hmac-sha256';
const HMAC_KEY_RECORD = 'quote-hmac-key';

export function encodeClaims(c: QuoteClaims): Uint8Array {
  return encodeCbor({
    ns: c.ns,
    count: c.count,
    violations: c.violations,
    sha1: c.sha1,
    sha256: c.sha256,
    nonce: c.nonce,
    time: c.time,
    deleted: c.deleted,
  });
}

/** The board's MAC key: made once from the platform's random source and kept in storage. */
export function hmacKey(platform: Platform): Uint8Array {
  const k = platform.storage.read(HMAC_KEY_RECORD);
  if (k !== null && k.length === 32) return k;
  const fresh = platform.random(32);
  platform.storage.replace(HMAC_KEY_RECORD, fresh);
  return fresh;
}

export function makeQuote(platform: Platform, c: QuoteClaims): Quote {
  const claims = encodeClaims(c);
  if (platform.sign) {
    const s = platform.sign(claims);
    return { claims: claims, alg: s.alg, sig: s.sig, key: s.publicKey };
  }
  return { claims: claims, alg: QUOTE_HMAC_ALG, sig: platform.hmacSha256(hmacKey(platform), claims), key: null };
}
