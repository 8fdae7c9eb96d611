// Appraisal of one file version in one namespace, with the kernel's outcome names
// (security/integrity/ima/ima_appraise.c ima_appraise_measurement / xattr_verify):
// - no security.ima: "IMA-signature-required" when the rule wants a signature, else "missing-hash";
// - 0x01/0x04 digests: "IMA-signature-required" when a signature is required, else the stored
//   digest must equal the file digest in the xattr's algorithm, or "invalid-hash";
// - 0x03 version-2 signatures: the keyid names a key of the namespace or an ancestor, and the
//   signature verifies over the file digest in the header's hash_algo, or "invalid-signature".
//   A keyid no key answers to is reported as "unknown-key": the kernel says "invalid-signature"
//   (request_asymmetric_key gives -ENOKEY), the engine says which of the two it was; its audit
//   record prints the kernel's word (`kernelCause`);
// - malformed values: the cause coprocessor/core/ima/xattr.ts names for them, as the kernel
//   would report it (invalid-signature, invalid-signature-version, unknown-ima-data…);
// - 0x06 fs-verity signatures: "IMA-signature-required" under a plain imasig rule, otherwise
//   "invalid-verity-signature" (fs-verity digests never reach the engine);
// - a hash algorithm the rule's appraise_algos= does not allow: "denied-hash-algorithm";
// - a digest in the needed algorithm the host did not send: "unavailable-hash-algorithm".
// Reference digests stand in for the xattr when no signature is required: a file whose digest
// is in the namespace's (or an ancestor's) reference list passes.
// Portable (Espruino profile).
import { APPRAISAL, FileInfo } from '../../../protocol/messages.js';
import { Platform } from '../platform.js';
import { findKeyInChain, hasRefInChain, Trust } from './keyring.js';
import { parseImaXattr, XATTR } from '../ima/xattr.js';

export interface Outcome {
  appraisal: number;
  /** "" on a pass. */
  cause: string;
  /** The signature's keyid, 0 when the xattr carries none. */
  keyid: number;
  /** hash_algo of the file digest appraisal used (the xattr's, else sha256). */
  algo: number;
}

export interface Requirement {
  /** appraise_type=imasig */
  signature: boolean;
  /** appraise_algos=: bit (1 << hash_algo) per allowed algorithm, 0 when unrestricted. */
  algos: number;
}

export const NO_REQUIREMENT: Requirement = { signature: false, algos: 0 };

const SHA256 = 4;

function fail(cause: string, keyid: number, algo: number): Outcome {
  return { appraisal: APPRAISAL.FAIL, cause: cause, keyid: keyid, algo: algo };
}

function pass(keyid: number, algo: number): Outcome {
  return { appraisal: APPRAISAL.PASS, cause: '', keyid: keyid, algo: algo };
}

/** The host-measured digest of the file in `algo`, or null. */
export function fileDigest(file: FileInfo, algo: number): Uint8Array | null {
  for (let i = 0; i < file.digests.length; i++) if (file.digests[i].algo === algo) return file.digests[i].digest;
  return null;
}

/** The kernel's word for an outcome's cause, for audit records. */
export function kernelCause(cause: string): string {
  return cause === 'unknown-key' ? 'invalid-signature' : cause;
}

function inRefs(chain: Trust[], file: FileInfo): boolean {
  for (let i = 0; i < file.digests.length; i++) if (hasRefInChain(chain, file.digests[i].algo, file.digests[i].digest)) return true;
  return false;
}

function allowed(req: Requirement, algo: number): boolean {
  return req.algos === 0 || (algo < 31 && (req.algos & (1 << algo)) !== 0);
}

/** The algorithm the kernel hashes a file with for this xattr (ima_get_hash_algo): sha256 without one. */
export function xattrHashAlgo(raw: Uint8Array | null): number {
  return raw === null || raw.length === 0 ? SHA256 : parseImaXattr(raw).algo;
}

/** Appraise `file` against the keys and references of `chain` (the namespace first, then its ancestors). */
export function appraiseFile(platform: Platform, chain: Trust[], file: FileInfo, req: Requirement): Outcome {
  if (!req.signature && inRefs(chain, file)) return pass(0, SHA256);
  const raw = file.xattr;
  const x = raw === null ? null : parseImaXattr(raw);
  if (x === null || x.kind === 'missing') return fail(req.signature ? 'IMA-signature-required' : 'missing-hash', 0, SHA256);
  const algo = x.algo;
  // A rule that wants a signature refuses digests, and fs-verity signatures, before looking at them.
  if (req.signature && (x.type === XATTR.DIGEST || x.type === XATTR.DIGEST_NG || x.type === XATTR.VERITY_DIGSIG)) return fail('IMA-signature-required', x.keyid, algo);
  if (x.kind === 'invalid') return fail(x.cause, x.keyid, algo);
  if (!allowed(req, algo)) return fail('denied-hash-algorithm', x.keyid, algo);
  if (x.kind === 'digest') {
    const d = fileDigest(file, algo);
    if (d === null) return fail('unavailable-hash-algorithm', 0, algo);
    const stored = x.digest as Uint8Array;
    // The kernel compares the first digest-size bytes when the xattr holds at least that many
    // (an old md5 xattr occupied 20 bytes), and fails with -EINVAL when it holds fewer.
    if (stored.length < d.length) return fail('invalid-hash', 0, algo);
    for (let i = 0; i < d.length; i++) if (stored[i] !== d[i]) return fail('invalid-hash', 0, algo);
    return pass(0, algo);
  }
  // fs-verity digests never reach the engine, so a version 3 signature cannot be checked here.
  if (x.type === XATTR.VERITY_DIGSIG) return fail('invalid-verity-signature', x.keyid, algo);
  const key = findKeyInChain(chain, x.keyid);
  if (key === null) return fail('unknown-key', x.keyid, algo);
  const d = fileDigest(file, algo);
  if (d === null) return fail('unavailable-hash-algorithm', x.keyid, algo);
  if (!platform.verifySignature || !platform.verifySignature(key, algo, d, x.sig as Uint8Array)) return fail('invalid-signature', x.keyid, algo);
  return pass(x.keyid, algo);
}
