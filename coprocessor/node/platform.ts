// The engine's Platform on Node: node:crypto hashes and HMAC, zlib's CRC-32, X.509 through
// node:crypto plus a small DER walk, RSA/ECDSA verification over a precomputed digest, an ECDSA
// P-256 key of its own for signing attestation quotes, and a durable file Storage in a state
// directory (or RAM when no directory is given).
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Platform, PlatformLimits, Storage } from '../core/platform.js';
import { createMemoryStorage } from '../core/engine/memory-storage.js';
import { FileStorage } from './file-storage.js';
import { nodeHash } from './hash.js';
import { parseCertificate } from './x509.js';
import { verifySignature } from './verify.js';

/** node:crypto names of the kernel's hash_algo numbers (ima-formats §3.4) that OpenSSL may offer. */

export const NODE_LIMITS: PlatformLimits = {
  maxNamespaces: 1024,
  maxRules: 4096,
  maxEntriesInRam: 0,
  internSlots: 4096,
  maxMessage: 1 << 20,
};

export interface NodePlatformOptions {
  /** Directory for the journal and the quote key; RAM only when absent. */
  stateDir?: string;
  limits?: Partial<PlatformLimits>;
  /** Clock override (tests replaying a trace). */
  now?: () => number;
}

export interface NodePlatform extends Platform {
  /** The engine's quote-signing public key, SPKI DER. */
  publicKey: Uint8Array;
  close(): void;
}

export const QUOTE_ALG = 'ecdsa-p256-sha256';
const KEY_FILE = 'engine-key.pem';

function quoteKey(stateDir: string | undefined): KeyObject {
  const file = stateDir ? join(stateDir, KEY_FILE) : null;
  if (file && existsSync(file)) return createPrivateKey(readFileSync(file));
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  if (file) writeFileSync(file, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  return pair.privateKey;
}

/**
 * Storage for an engine without a state directory: small records in RAM, appends dropped. Such an
 * engine forgets everything when it stops, so a journal kept in RAM would only double its memory.
 */
function volatileStorage(): Storage {
  const mem = createMemoryStorage();
  return {
    append: function (): void {},
    read: mem.read,
    replace: mem.replace,
    remove: mem.remove,
    list: mem.list,
  };
}

export function createNodePlatform(opts: NodePlatformOptions = {}): NodePlatform {
  if (opts.stateDir) mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const storage: Storage & { close?: () => void } = opts.stateDir ? new FileStorage(join(opts.stateDir, 'store')) : volatileStorage();
  const priv = quoteKey(opts.stateDir);
  const publicKey = new Uint8Array(createPublicKey(priv).export({ format: 'der', type: 'spki' }));
  return {
    profile: 'node',
    hash: nodeHash,
    hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
      return new Uint8Array(createHmac('sha256', key).update(data).digest());
    },
    crc32(data: Uint8Array): number {
      return crc32(data) >>> 0;
    },
    parseCertificate,
    verifySignature,
    sign(data: Uint8Array) {
      return { alg: QUOTE_ALG, sig: new Uint8Array(sign('sha256', data, priv)), publicKey };
    },
    random(n: number): Uint8Array {
      return new Uint8Array(randomBytes(n));
    },
    now: opts.now ?? (() => Date.now()),
    storage,
    limits: Object.assign({}, NODE_LIMITS, opts.limits ?? {}),
    publicKey,
    close(): void {
      if (storage.close) storage.close();
    },
  };
}
