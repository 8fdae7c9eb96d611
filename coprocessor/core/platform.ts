// What the engine core needs from the machine it runs on. Implemented by coprocessor/node
// (node:crypto, files) and coprocessor/espruino (crypto.SHA256, Storage, E.hwRand), and by
// small stand-ins in tests. The core calls nothing else: no Node API, no absent Espruino global.

/** A public key taken from an X.509 certificate, ready for the platform to verify with. */
export interface PublicKey {
  /** "rsa", "ecdsa-p256", "ecdsa-p384". */
  kind: string;
  /** Last 4 bytes of the certificate's Subject Key Identifier, as a big-endian u32 (ima-formats §3.5). */
  keyid: number;
  /** The certificate as it was given, DER. */
  der: Uint8Array;
  /** Platform-specific handle (a KeyObject on Node). The core never looks inside. */
  handle: unknown;
}

/** Append-only named logs and small replaceable records, durable when the call returns. */
export interface Storage {
  append(name: string, data: Uint8Array): void;
  /** The whole content, or null when absent. */
  read(name: string): Uint8Array | null;
  replace(name: string, data: Uint8Array): void;
  remove(name: string): void;
  list(): string[];
}

export interface PlatformLimits {
  maxNamespaces: number;
  maxRules: number;
  /** Measurement entries kept in RAM per namespace; older ones are only in storage. 0 = unbounded. */
  maxEntriesInRam: number;
  internSlots: number;
  maxMessage: number;
}

export interface Platform {
  profile: 'node' | 'espruino';
  /** Digest with a kernel hash_algo number, or null when this platform lacks the algorithm. */
  hash(algo: number, data: Uint8Array): Uint8Array | null;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** CRC-32 (ISO-HDLC), as zlib.crc32 and E.CRC32 compute it. */
  crc32(data: Uint8Array): number;
  /** Parse an X.509 certificate (DER or PEM bytes). Throws an Error with `code` "KEY_INVALID" when it cannot. Absent on boards without public-key crypto. */
  parseCertificate?(data: Uint8Array): PublicKey;
  /** Verify a signature over a digest already computed with `hashAlgo` (RSA PKCS#1 v1.5 DigestInfo, or ECDSA DER). */
  verifySignature?(key: PublicKey, hashAlgo: number, digest: Uint8Array, sig: Uint8Array): boolean;
  /** Sign attestation claims with the engine's own key. Absent where quotes are MACed instead. */
  sign?(data: Uint8Array): { alg: string; sig: Uint8Array; publicKey: Uint8Array };
  random(n: number): Uint8Array;
  /** Milliseconds since the epoch. */
  now(): number;
  storage: Storage;
  limits: PlatformLimits;
}
