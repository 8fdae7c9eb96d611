// The kernel's hash_algo numbering, names and digest sizes (include/uapi/linux/hash_info.h,
// crypto/hash_info.c; ima-formats §3.4). Lists, templates and xattrs all name algorithms by these
// numbers or these names, so this table is the one place they are spelled.
// Portable (Espruino profile).
import { HASH_ALGO } from '../../../protocol/messages.js';

/** Kernel `enum hash_algo` values the engine meets in practice (the protocol's table). */
export const ALGO = HASH_ALGO;

/** HASH_ALGO__LAST: every valid hash_algo is below it. */
export const HASH_ALGO_LAST = 23;

/** `hash_algo_name[]`, indexed by hash_algo. */
export const HASH_ALGO_NAMES: string[] = [
  'md4', 'md5', 'sha1', 'rmd160', 'sha256', 'sha384', 'sha512', 'sha224', 'rmd128', 'rmd256', 'rmd320', 'wp256',
  'wp384', 'wp512', 'tgr128', 'tgr160', 'tgr192', 'sm3', 'streebog256', 'streebog512', 'sha3-256', 'sha3-384', 'sha3-512',
];

/** `hash_digest_size[]`, indexed by hash_algo. */
export const HASH_DIGEST_SIZES: number[] = [16, 16, 20, 20, 32, 48, 64, 28, 16, 32, 40, 32, 48, 64, 16, 20, 24, 32, 32, 64, 32, 48, 64];

/** The TPM banks a measurement list is kept and exported in (per-bank files of kernels ≥ 6.10). */
export const BANKS: number[] = [ALGO.SHA1, ALGO.SHA256, ALGO.SHA384, ALGO.SHA512];

/**
 * Digest with a kernel hash_algo number, or null when the platform lacks the algorithm.
 * This is `Platform.hash`; the IMA modules never hash any other way.
 */
export type HashFn = (algo: number, data: Uint8Array) => Uint8Array | null;

/** Name of a hash_algo ("sha256"), or "" when the number is not a kernel algorithm. */
export function hashAlgoName(algo: number): string {
  return algo >= 0 && algo < HASH_ALGO_LAST ? HASH_ALGO_NAMES[algo] : '';
}

/** Digest size in bytes of a hash_algo, or 0 when the number is not a kernel algorithm. */
export function digestSize(algo: number): number {
  return algo >= 0 && algo < HASH_ALGO_LAST ? HASH_DIGEST_SIZES[algo] : 0;
}

/** hash_algo for a kernel name, or -1. Accepts the pre-5.11 spelling "sm3-256" too. */
export function hashAlgoByName(name: string): number {
  if (name === 'sm3-256') return ALGO.SM3_256;
  for (let i = 0; i < HASH_ALGO_LAST; i++) if (HASH_ALGO_NAMES[i] === name) return i;
  return -1;
}

/** The bank (sha1, sha256, sha384, sha512) whose digests are `width` bytes wide, or -1. */
export function bankForWidth(width: number): number {
  for (let i = 0; i < BANKS.length; i++) if (HASH_DIGEST_SIZES[BANKS[i]] === width) return BANKS[i];
  return -1;
}

/** hash_algo of a bank name ("sha1", "sha256", "sha384", "sha512"), or -1. */
export function bankByName(name: string): number {
  const a = hashAlgoByName(name);
  return BANKS.indexOf(a) >= 0 ? a : -1;
}

/** `hash(algo, data)` that throws (code HASH_UNAVAILABLE) instead of returning null. */
export function mustHash(hash: HashFn, algo: number, data: Uint8Array): Uint8Array {
  const d = hash(algo, data);
  if (d === null) {
    const e = new Error('hash algorithm ' + (hashAlgoName(algo) || String(algo)) + ' is not available on this platform') as Error & { code: string };
    e.code = 'HASH_UNAVAILABLE';
    throw e;
  }
  return d;
}
