// The `security.ima` extended attribute (security/integrity/integrity.h `evm_ima_xattr_type`,
// `signature_v2_hdr`; ima_appraise.c ima_get_hash_algo and xattr_verify; digsig_asymmetric.c
// asymmetric_verify; ima-formats §3.1-§3.4). The parser says what the value is and, for a value
// the kernel would refuse, the cause the kernel's appraisal reports for it, so the appraiser
// never has to re-derive byte rules.
// Portable (Espruino profile).
import { readU16be, readU32be } from '../../../protocol/bytes.js';
import { ALGO, HASH_ALGO_LAST, digestSize } from './hash-algo.js';

/** `enum evm_ima_xattr_type`. */
export const XATTR = {
  DIGEST: 0x01,
  EVM_HMAC: 0x02,
  DIGSIG: 0x03,
  DIGEST_NG: 0x04,
  EVM_PORTABLE_DIGSIG: 0x05,
  VERITY_DIGSIG: 0x06,
} as const;

/** sizeof(struct signature_v2_hdr): type, version, hash_algo, keyid (be32), sig_size (be16). */
export const SIGNATURE_V2_HDR_SIZE = 9;

/**
 * A parsed `security.ima` value. Every field is always present (one shape for the board):
 * - kind "digest" (types 0x01, 0x04): `digest` holds the bytes after the header, which the kernel
 *   compares, as a prefix, with the file digest in `algo` (an old MD5 value took 20 bytes).
 * - kind "sig" (0x03 version 2, 0x06 version 3): `algo`, `keyid`, `sig` from signature_v2_hdr.
 * - kind "invalid": the kernel refuses it; `cause` is what its appraisal reports, `error` says why.
 * - kind "missing": empty value, treated by the kernel like no xattr at all.
 */
export interface ImaXattr {
  kind: 'digest' | 'sig' | 'invalid' | 'missing';
  /** The type byte, or -1 for an empty value. */
  type: number;
  /**
   * hash_algo the kernel hashes the file with for this xattr (ima_get_hash_algo): the one the
   * value names, or the default (ima_hash_algo, given to the parser) when it names none.
   */
  algo: number;
  digest: Uint8Array | null;
  /** Signature format version (sig[1]); 0 for digests. */
  version: number;
  /** Key id, big-endian u32 from the header (last 4 bytes of the signer's SKID); 0 when absent. */
  keyid: number;
  /** The signature bytes after the header. */
  sig: Uint8Array | null;
  /** "" when well formed; otherwise what is wrong, for messages. */
  error: string;
  /**
   * For "invalid": the kernel's cause name (invalid-hash, invalid-signature,
   * invalid-signature-version, invalid-verity-signature, unknown-ima-data). A rule that requires a
   * signature reports "IMA-signature-required" first for digest types (0x01, 0x04), as the kernel does.
   */
  cause: string;
}

function result(kind: 'digest' | 'sig' | 'invalid' | 'missing', type: number, algo: number): ImaXattr {
  return { kind: kind, type: type, algo: algo, digest: null, version: 0, keyid: 0, sig: null, error: '', cause: '' };
}

function invalid(type: number, algo: number, cause: string, error: string): ImaXattr {
  const r = result('invalid', type, algo);
  r.cause = cause;
  r.error = error;
  return r;
}

/**
 * Parse a `security.ima` value. `defaultAlgo` is the kernel's ima_hash_algo (sha256 unless
 * configured otherwise), used where the value names no algorithm.
 *
 * Kernel rules reproduced:
 * - 0x01: SHA-1, or MD5 when 17 bytes long, or 21 with bytes 16..19 zero. Any other length names
 *   no algorithm: the file is hashed with `defaultAlgo` and compared as a prefix.
 * - 0x04: `algo` byte then digest; fewer bytes than the algorithm's digest → invalid-hash. An
 *   algorithm byte ≥ 23 is refused here with invalid-hash (the kernel would fall back to its
 *   default algorithm and compare; no honest xattr does that, and a pass must never come of it).
 * - 0x03: version 2 with a 9-byte header, sig_size == length - 9 and hash_algo < 23, else
 *   invalid-signature; version ≥ 3 invalid-signature-version; version 1 (legacy RSA digsig) and
 *   anything else are refused with invalid-signature (not supported).
 * - 0x06: version 3 with the same header rules, else invalid-signature-version /
 *   invalid-verity-signature.
 * - any other type byte (including EVM's 0x02 and 0x05): unknown-ima-data.
 */
export function parseImaXattr(x: Uint8Array, defaultAlgo?: number): ImaXattr {
  const dflt = defaultAlgo === undefined ? ALGO.SHA256 : defaultAlgo;
  if (x.length === 0) return result('missing', -1, dflt);
  const type = x[0];
  if (type === XATTR.DIGEST) {
    let algo = dflt;
    if (x.length === 21) {
      algo = x[17] === 0 && x[18] === 0 && x[19] === 0 && x[20] === 0 ? ALGO.MD5 : ALGO.SHA1;
    } else if (x.length === 17) algo = ALGO.MD5;
    const rest = x.slice(1);
    if (rest.length < digestSize(algo)) return invalid(type, algo, 'invalid-hash', 'a type 0x01 digest of ' + rest.length + ' bytes is shorter than a ' + digestSize(algo) + '-byte digest');
    const r = result('digest', type, algo);
    r.digest = rest;
    return r;
  }
  if (type === XATTR.DIGEST_NG) {
    if (x.length < 2) return invalid(type, dflt, 'invalid-hash', 'a type 0x04 value needs an algorithm byte and a digest');
    const algo = x[1];
    if (algo >= HASH_ALGO_LAST) return invalid(type, dflt, 'invalid-hash', 'hash algorithm ' + algo + ' is not a kernel hash_algo (below ' + HASH_ALGO_LAST + ')');
    const rest = x.slice(2);
    if (rest.length < digestSize(algo)) return invalid(type, algo, 'invalid-hash', 'a ' + digestSize(algo) + '-byte digest for algorithm ' + algo + ', got ' + rest.length + ' bytes');
    const r = result('digest', type, algo);
    r.digest = rest;
    return r;
  }
  if (type === XATTR.DIGSIG || type === XATTR.VERITY_DIGSIG) {
    const verity = type === XATTR.VERITY_DIGSIG;
    const wantVersion = verity ? 3 : 2;
    const bad = verity ? 'invalid-verity-signature' : 'invalid-signature';
    if (x.length < 2) return invalid(type, dflt, bad, 'a signature needs a version byte');
    const version = x[1];
    if (version !== wantVersion) {
      if (!verity && version < 3) {
        const why = version === 1 ? 'version 1 (legacy RSA digsig) signatures are not supported' : 'signature version ' + version + ' is not supported';
        const r = invalid(type, dflt, 'invalid-signature', why);
        r.version = version;
        return r;
      }
      const r = invalid(type, dflt, 'invalid-signature-version', 'signature version ' + version + ', expected ' + wantVersion);
      r.version = version;
      return r;
    }
    // The kernel takes the file hash algorithm from a header only when the header is complete (ima_get_hash_algo).
    if (x.length <= SIGNATURE_V2_HDR_SIZE) {
      const r = invalid(type, dflt, bad, 'a signature_v2_hdr needs 9 bytes and a signature, got ' + x.length + ' bytes');
      r.version = version;
      return r;
    }
    const algo = x[2];
    const keyid = readU32be(x, 3);
    const size = readU16be(x, 7);
    if (algo >= HASH_ALGO_LAST) {
      const r = invalid(type, dflt, bad, 'hash algorithm ' + algo + ' is not a kernel hash_algo (below ' + HASH_ALGO_LAST + ')');
      r.version = version;
      r.keyid = keyid;
      return r;
    }
    if (size !== x.length - SIGNATURE_V2_HDR_SIZE) {
      const r = invalid(type, algo, bad, 'sig_size ' + size + ' does not match the ' + (x.length - SIGNATURE_V2_HDR_SIZE) + ' signature bytes present');
      r.version = version;
      r.keyid = keyid;
      return r;
    }
    const r = result('sig', type, algo);
    r.version = version;
    r.keyid = keyid;
    r.sig = x.slice(SIGNATURE_V2_HDR_SIZE);
    return r;
  }
  return invalid(type, dflt, 'unknown-ima-data', 'type byte 0x' + (type < 16 ? '0' : '') + type.toString(16) + ' is not an IMA digest or signature');
}
