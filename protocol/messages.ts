// The messages both ends exchange, as plain values. Each message travels as one CBOR array whose
// first element is its type number (SPEC.md §3). This module names the shapes; `wire.ts` turns
// them into the positional arrays a codec encodes, so both codecs (cbor-x on the host, the
// portable codec on the board) share one definition of every field.
//
// Portable: runs on Espruino (no Map/Set/BigInt, no destructuring, no default parameters).

export const PROTOCOL_VERSION = 1;

export const MSG = {
  HELLO: 0,
  HELLO_ACK: 1,
  EVENT: 2,
  VERDICT: 3,
  CONTROL: 4,
  QUERY: 5,
  ATTEST: 6,
  ERROR: 7,
  PING: 8,
  PONG: 9,
  RESULT: 10,
} as const;

/** Types below this are must-understand: an unknown one is answered with ERROR unsupported-type.
 * Types at or above it are extensions a receiver that does not know them silently drops. */
export const MSG_IGNORABLE_FROM = 32;

export type Profile = 'node' | 'espruino';

/** What one end can hold; each side uses the minimum of both. Keys unknown to a receiver are ignored. */
export interface Limits {
  /** Largest frame on the wire (before COBS), bytes. Default 256. */
  maxFrame: number;
  /** Largest reassembled message, bytes. */
  maxMessage: number;
  /** Frames in flight before an ack is required. */
  window: number;
  /** Slots in the shared intern table (SPEC.md §4). */
  internSlots: number;
  /** Engine capacity, announced by the engine (0 = unbounded / not applicable). */
  maxNamespaces: number;
  maxRules: number;
  maxEntriesInRam: number;
}

export interface Hello {
  type: typeof MSG.HELLO | typeof MSG.HELLO_ACK;
  version: number;
  profile: Profile | 'host';
  limits: Limits;
  /** hash_algo numbers (ima-formats §3.4) and signature schemes this end offers, e.g. "rsa", "ecdsa-p256", "hmac-sha256". */
  algorithms: string[];
}

/** Kernel hash_algo numbering (include/uapi/linux/hash_info.h): the values the engine meets in practice. */
export const HASH_ALGO = {
  MD4: 0,
  MD5: 1,
  SHA1: 2,
  SHA256: 4,
  SHA384: 5,
  SHA512: 6,
  SHA224: 7,
  SM3_256: 17,
} as const;

/** IMA hook numbers, the kernel's `enum ima_hooks` order (security/integrity/ima/ima.h). */
export const FUNC = {
  NONE: 0,
  FILE_CHECK: 1,
  MMAP_CHECK: 2,
  MMAP_CHECK_REQPROT: 3,
  BPRM_CHECK: 4,
  CREDS_CHECK: 5,
  POST_SETATTR: 6,
  MODULE_CHECK: 7,
  FIRMWARE_CHECK: 8,
  KEXEC_KERNEL_CHECK: 9,
  KEXEC_INITRAMFS_CHECK: 10,
  POLICY_CHECK: 11,
  KEXEC_CMDLINE: 12,
  KEY_CHECK: 13,
  CRITICAL_DATA: 14,
  SETXATTR_CHECK: 15,
} as const;

/** The kernel's MAY_* bits (include/linux/fs.h). */
export const MAY = { EXEC: 0x1, WRITE: 0x2, READ: 0x4, APPEND: 0x8 } as const;

/** Event flags: violations the host observed (IMA's ima_rdwr_violation_check). */
export const EVENT_FLAG = {
  /** Opened for read while a writer holds it open: "ToMToU". */
  TOMTOU: 0x1,
  /** Opened for write while it is open for read and measured: "open_writers". */
  OPEN_WRITERS: 0x2,
  /** Delivered late: allowed by the host's deadline (fail-open) before any verdict existed. */
  LATE: 0x4,
} as const;

/** A file digest as the host measured it from the event's open fd. */
export interface Digest {
  algo: number;
  digest: Uint8Array;
}

/** A file version: what the host knows about the file an event touched. Interned on the wire. */
export interface FileInfo {
  path: string;
  dev: number;
  ino: number;
  /** Superblock magic (statfs f_type), e.g. 0x01021994 for tmpfs. */
  fsmagic: number;
  /** Filesystem type name, e.g. "tmpfs" ("" when unknown). */
  fsname: string;
  /** Filesystem UUID as text, "" when unknown. */
  fsuuid: string;
  /** File owner and group (policy fowner=, fgroup=). */
  uid: number;
  gid: number;
  mode: number;
  size: number;
  /** Digests of the content, at least the engine's ima_hash_algo (sha256), and the xattr's algorithm when different. */
  digests: Digest[];
  /** The raw `security.ima` value, or null when the file has none. */
  xattr: Uint8Array | null;
}

/** The process behind an event, with the credentials IMA's policy conditions read. Interned on the wire. */
export interface ProcInfo {
  pid: number;
  /** Mount-namespace inode (readlink /proc/PID/ns/mnt). */
  mntns: number;
  /** User-namespace inode, 0 when not read. */
  userns: number;
  uid: number;
  euid: number;
  suid: number;
  gid: number;
  egid: number;
  sgid: number;
  /** Audit login uid and session (4294967295 when unset, as the kernel prints). */
  auid: number;
  ses: number;
  comm: string;
}

export interface FileEvent {
  /** Event id: consecutive per link session, assigned by the host. */
  id: number;
  func: number;
  mask: number;
  flags: number;
  proc: ProcInfo;
  file: FileInfo;
}

export interface EventBatch {
  type: typeof MSG.EVENT;
  events: FileEvent[];
}

/** Verdict code bits: a verdict's compact form (SPEC.md §3.4). */
export const VERDICT = {
  DENY: 0x1,
  /** At least one namespace's policy appraised the file (and, without DENY, every one passed it). */
  APPRAISED: 0x2,
  /** At least one namespace added a measurement. */
  MEASURED: 0x4,
  /** The verdict may be cached by the host for this file version and namespace. */
  CACHEABLE: 0x8,
} as const;

/** Appraisal outcome in one namespace. */
export const APPRAISAL = { NOT_APPRAISED: 0, PASS: 1, FAIL: 2 } as const;

export interface NsStatus {
  ns: number;
  measured: boolean;
  appraisal: number;
  /** The kernel's cause name when appraisal failed ("invalid-hash", "missing-hash", …), else "". */
  cause: string;
}

export interface Verdict {
  id: number;
  code: number;
  /** Per-namespace detail. Sent on the wire only when a verdict is notable (denied, or audited); empty otherwise. */
  statuses: NsStatus[];
  /** Integrity audit records in the kernel's text format, for the host's audit log. */
  audit: string[];
}

export interface VerdictBatch {
  type: typeof MSG.VERDICT;
  verdicts: Verdict[];
}

/** CONTROL operations (SPEC.md §3.5). Arguments (`args`) and RESULT values, by operation:
 * - NS_CREATE {mntns, userns?, parent? (ns id, default 0 = host), fail? "closed"|"open", deadlineMs?} → {ns}
 * - NS_DELETE {ns} → {ns, count, sha1, sha256} (the final aggregate, kept for attestation)
 * - NS_LIST {} → [{ns, parent, mntns, userns, fail, deadlineMs, entries, deleted}]
 * - POLICY_LOAD {ns, text} → {rules}; a bad policy answers ERROR POLICY_INVALID "line N: 'token': reason" and changes nothing
 * - POLICY_SHOW {ns} → {text} (the kernel's canonical read-back form)
 * - KEYS_ADD {ns, cert: bytes (DER or PEM)} → {keyid}
 * - REFS_ADD {ns, digests: [[algo, bytes], …]} → {count}
 * - MEASUREMENTS {ns, bank: "sha1"|"sha256"|…, format: "binary"|"ascii", from: first entry index, max: entries} → {total, entries, data: bytes}
 * - AGGREGATE {ns} → {count, violations, sha1: bytes, sha256: bytes}
 * The host namespace always exists, with id 0.
 */
export const CONTROL_OP = {
  NS_CREATE: 1,
  NS_DELETE: 2,
  NS_LIST: 3,
  POLICY_LOAD: 4,
  POLICY_SHOW: 5,
  KEYS_ADD: 6,
  REFS_ADD: 7,
  MEASUREMENTS: 8,
  AGGREGATE: 9,
} as const;

export interface Control {
  type: typeof MSG.CONTROL;
  req: number;
  op: number;
  /** Operation arguments: a CBOR map with small-integer or short text keys, per operation (SPEC.md §3.5). */
  args: { [key: string]: unknown };
}

/** QUERY operations: direct questions that run whatever the policy says.
 * - APPRAISE {ns, file (FileInfo in its wire form), func?, nocache?} → {statuses: NsStatus[], code}
 * - IS_SIGNED {ns, file, nocache?} → {signed: boolean, keyid?, cause}
 * - STATS {} → engine counters
 */
export const QUERY_OP = { APPRAISE: 1, IS_SIGNED: 2, STATS: 3 } as const;

export interface Query {
  type: typeof MSG.QUERY;
  req: number;
  op: number;
  args: { [key: string]: unknown };
}

export interface Attest {
  type: typeof MSG.ATTEST;
  req: number;
  ns: number;
  nonce: Uint8Array;
}

export interface Result {
  type: typeof MSG.RESULT;
  req: number;
  value: unknown;
}

/** ERROR codes (SPEC.md §3.8). */
export const ERR = {
  MALFORMED: 1,
  UNSUPPORTED_TYPE: 2,
  UNSUPPORTED_VERSION: 3,
  BAD_ARGUMENT: 4,
  NO_SUCH_NAMESPACE: 5,
  POLICY_INVALID: 6,
  KEY_INVALID: 7,
  CAPACITY: 8,
  UNKNOWN_INTERN: 9,
  INTERNAL: 10,
} as const;

export interface ErrorMsg {
  type: typeof MSG.ERROR;
  /** The request this answers, or -1 when it answers no request. */
  req: number;
  code: number;
  text: string;
}

export interface Ping {
  type: typeof MSG.PING | typeof MSG.PONG;
  token: number;
}

export type Message =
  | Hello
  | EventBatch
  | VerdictBatch
  | Control
  | Query
  | Attest
  | Result
  | ErrorMsg
  | Ping;
