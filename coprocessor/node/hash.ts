// The core's HashFn on Node: a digest by IMA hash_algo number, null for one Node cannot compute.
// The one place the Node side maps the kernel's algorithm numbers to node:crypto's names.
import * as nodeCrypto from 'node:crypto';

/** node:crypto's names for the kernel's hash_algo numbers (the kernel says rmd160 where Node says ripemd160). */
const NODE_NAMES: { [algo: number]: string } = {
  1: 'md5',
  2: 'sha1',
  3: 'ripemd160',
  4: 'sha256',
  5: 'sha384',
  6: 'sha512',
  7: 'sha224',
  17: 'sm3',
  20: 'sha3-256',
  21: 'sha3-384',
  22: 'sha3-512',
};

const available = nodeCrypto.getHashes();
const names: { [algo: number]: string } = {};
for (const k of Object.keys(NODE_NAMES)) if (available.indexOf(NODE_NAMES[Number(k)]) >= 0) names[Number(k)] = NODE_NAMES[Number(k)];

// crypto.hash (Node ≥ 20.12) hashes short inputs about twice as fast as createHash.
const oneShot = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

export function nodeHash(algo: number, data: Uint8Array): Uint8Array | null {
  const name = names[algo];
  if (!name) return null;
  return new Uint8Array(oneShot ? oneShot(name, data, 'buffer') : nodeCrypto.createHash(name).update(data).digest());
}
