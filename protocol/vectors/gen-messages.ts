// Writes protocol/vectors/messages.json: `npx tsx protocol/vectors/gen-messages.ts`.
// Valid steps are encoded by the wire encoder (and checked against both codecs by
// protocol/vectors.test.ts); invalid steps are written out by hand below, each with the error it
// must produce. Regenerate only when the wire format changes on purpose, and review the diff.
import { writeFileSync } from 'node:fs';
import { fromHex, toHex } from '../bytes.js';
import { createPortableCodec, isProtocolError } from '../cbor.js';
import { APPRAISAL, CONTROL_OP, EVENT_FLAG, FileInfo, FUNC, HASH_ALGO, MAY, Message, MSG, ProcInfo, QUERY_OP, VERDICT } from '../messages.js';
import { fileInfoToWire, procInfoToWire, WireDecoder, WireEncoder } from '../wire.js';
import { diag, toJson } from './json.js';

const codec = createPortableCodec();

const hx = (s: string): Uint8Array => fromHex(s) as Uint8Array;

const PROC: ProcInfo = { pid: 4242, mntns: 4026532840, userns: 0, uid: 0, euid: 0, suid: 0, gid: 0, egid: 0, sgid: 0, auid: 4294967295, ses: 4294967295, comm: 'python3' };
const PROC2: ProcInfo = { ...PROC, pid: 4243, uid: 1000, euid: 1000, suid: 1000, gid: 1000, egid: 1000, sgid: 1000, auid: 1000, ses: 3, comm: 'sh' };
const SHA256_A = hx('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
const FILE: FileInfo = {
  path: '/srv/app.py',
  dev: 64769,
  ino: 1048577,
  fsmagic: 0x01021994,
  fsname: 'tmpfs',
  fsuuid: '',
  uid: 0,
  gid: 0,
  mode: 0o100644,
  size: 4,
  digests: [{ algo: HASH_ALGO.SHA256, digest: SHA256_A }],
  xattr: null,
};
const FILE2: FileInfo = { ...FILE, path: '/srv/lib.py', ino: 1048578, size: 0, digests: [{ algo: HASH_ALGO.SHA256, digest: hx('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855') }] };
// security.ima with an EVM/IMA signature v2 header (type 3, version 2, sha256, keyid, 512-byte RSA signature).
const SIG = new Uint8Array(9 + 512);
SIG.set([0x03, 0x02, 0x04, 0x6e, 0x2a, 0x18, 0xc1, 0x02, 0x00]);
for (let i = 9; i < SIG.length; i++) SIG[i] = (i * 37) & 255;
const FILE3: FileInfo = {
  path: '/opt/ünïcødé/数据/🙂.bin',
  dev: 2049,
  ino: 9007199254740991,
  fsmagic: 0xef53,
  fsname: 'ext4',
  fsuuid: '0b5bd2f2-6a7e-4c1d-9c7e-3c4b0a1f2e3d',
  uid: 4294967295,
  gid: 4294967294,
  mode: 0o104755,
  size: 9007199254740991,
  digests: [
    { algo: HASH_ALGO.SHA256, digest: SHA256_A },
    { algo: HASH_ALGO.SHA1, digest: hx('a94a8fe5ccb19ba61c4c0873d391e987982fbbd3') },
  ],
  xattr: SIG,
};

interface Step {
  note?: string;
  reset?: number;
  hex?: string;
  diag?: string;
  /** The message the wire decoder returns (null: ignorable, dropped); absent when an error is expected. */
  message?: unknown;
  /** Whether the wire encoder, in the same state, produces exactly `hex` from `message`. */
  encode?: boolean;
  error?: { code: string; err: number; field?: string; offset?: number; req?: number };
}

interface Vector {
  name: string;
  note: string;
  /** Intern table slots both ends agreed (0: no EVENT in this vector). */
  slots: number;
  steps: Step[];
}

const vectors: Vector[] = [];

/** A vector whose valid steps the encoder writes and the decoder (same slots) checks as it goes. */
function session(name: string, note: string, slots: number, build: (s: { send(m: Message, note?: string): void; raw(hex: string, note?: string): void; reset(note?: string): void }) => void): void {
  const enc = new WireEncoder(codec, slots);
  const dec = new WireDecoder(codec, slots);
  const steps: Step[] = [];
  function record(bytes: Uint8Array, note: string | undefined, encoded: boolean): void {
    const step: Step = { note, hex: toHex(bytes) };
    try {
      step.diag = diag(codec.decode(bytes));
    } catch {
      // not CBOR in the profile: no diagnostic form
    }
    try {
      const m = dec.decode(bytes);
      step.message = toJson(m);
      if (encoded) step.encode = true;
    } catch (e) {
      if (!isProtocolError(e)) throw e;
      if (encoded) throw e;
      step.error = { code: e.code, err: e.err };
      if (e.field !== undefined) step.error.field = e.field;
      if (e.offset >= 0) step.error.offset = e.offset;
      if (e.req !== undefined) step.error.req = e.req;
    }
    steps.push(step);
  }
  build({
    send: (m, n) => record(enc.encode(m), n, true),
    raw: (h, n) => record(hx(h.replace(/\s+/g, '')), n, false),
    reset: (n) => {
      enc.reset(slots);
      dec.reset(slots);
      steps.push({ note: n || 'link reset: both ends clear the intern table', reset: slots });
    },
  });
  vectors.push({ name, note, slots, steps });
}

function one(name: string, note: string, m: Message): void {
  session(name, note, 0, (s) => s.send(m));
}

function bad(name: string, note: string, hex: string, slots = 0): void {
  session(name, note, slots, (s) => s.raw(hex));
}

const LIMITS = { maxFrame: 256, maxMessage: 4096, window: 4, internSlots: 256, maxNamespaces: 0, maxRules: 0, maxEntriesInRam: 0 };

// ---- valid messages -----------------------------------------------------------------------

one('hello', 'HELLO from the host: [0, version, profile, limits map (text keys, sorted by encoding), algorithms].', {
  type: MSG.HELLO,
  version: 1,
  profile: 'host',
  limits: LIMITS,
  algorithms: ['sha1', 'sha256', 'rsa', 'ecdsa-p256'],
});
one('hello_ack_espruino', 'HELLO_ACK from a board: small limits; the table size both use is min(256, 32) = 32.', {
  type: MSG.HELLO_ACK,
  version: 1,
  profile: 'espruino',
  limits: { maxFrame: 256, maxMessage: 1024, window: 2, internSlots: 32, maxNamespaces: 4, maxRules: 64, maxEntriesInRam: 200 },
  algorithms: ['sha1', 'sha256', 'hmac-sha256'],
});

session('event_intern', 'EVENT batches over a 4-slot table: inserts [slot, kind (0 file, 1 process), tuple] apply first, then events [procRef, fileRef, func, mask, flags?] with ids firstId, firstId+1, …', 4, (s) => {
  s.send(
    { type: MSG.EVENT, events: [{ id: 1, func: FUNC.BPRM_CHECK, mask: MAY.EXEC, flags: 0, proc: PROC, file: FILE }] },
    'first event: process into slot 0, file into slot 1, both inserted',
  );
  s.send(
    {
      type: MSG.EVENT,
      events: [
        { id: 2, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: PROC, file: FILE },
        { id: 3, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: PROC, file: FILE },
      ],
    },
    'repeats: references only, 5 bytes per event',
  );
  s.send(
    {
      type: MSG.EVENT,
      events: [
        { id: 4, func: FUNC.MMAP_CHECK, mask: MAY.READ | MAY.EXEC, flags: EVENT_FLAG.TOMTOU, proc: PROC2, file: FILE2 },
        { id: 5, func: FUNC.FILE_CHECK, mask: MAY.WRITE, flags: EVENT_FLAG.OPEN_WRITERS | EVENT_FLAG.LATE, proc: PROC2, file: FILE },
      ],
    },
    'a second process and file fill slots 2 and 3; flags present when not 0',
  );
  s.send(
    { type: MSG.EVENT, events: [{ id: 6, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: PROC2, file: FILE3 }] },
    'table full: the least recently used slot (0, the first process) is overwritten by the new file; non-ASCII path, 2^53−1 size and inode, 521-byte xattr',
  );
  s.raw(
    '840207 81 830301' + toHex(codec.encode(procInfoToWire(PROC))) + ' 81 84 00 01 01 04',
    'inserts the first process into slot 3, then names slot 0 as a process: slot 0 now holds a file, so UNKNOWN_INTERN, and the insert is undone',
  );
  s.raw('840207 80 81 84 02 03 01 04', 'the failed batch changed nothing: slot 2 is still the second process and slot 3 the second file');
  s.reset();
  s.raw('8402088081 84 03 01 01 04', 'after the reset every slot is empty');
  s.send({ type: MSG.EVENT, events: [{ id: 8, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: PROC, file: FILE }] }, 'the encoder starts over from slot 0');
});

one('event_empty', 'An empty batch: firstId 0, no inserts, no events.', { type: MSG.EVENT, events: [] });
one('verdict_compact', 'VERDICT [3, firstId, items]: each item is the code alone (DENY 1, APPRAISED 2, MEASURED 4, CACHEABLE 8).', {
  type: MSG.VERDICT,
  verdicts: [
    { id: 1, code: VERDICT.MEASURED | VERDICT.CACHEABLE, statuses: [], audit: [] },
    { id: 2, code: VERDICT.APPRAISED | VERDICT.MEASURED | VERDICT.CACHEABLE, statuses: [], audit: [] },
    { id: 3, code: 0, statuses: [], audit: [] },
  ],
});
one('verdict_detailed', 'A denied verdict carries [code, statuses [[ns, measured, appraisal, cause]…], audit records].', {
  type: MSG.VERDICT,
  verdicts: [
    { id: 41, code: VERDICT.CACHEABLE | VERDICT.MEASURED, statuses: [], audit: [] },
    {
      id: 42,
      code: VERDICT.DENY | VERDICT.APPRAISED | VERDICT.MEASURED,
      statuses: [
        { ns: 0, measured: true, appraisal: APPRAISAL.NOT_APPRAISED, cause: '' },
        { ns: 3, measured: true, appraisal: APPRAISAL.FAIL, cause: 'invalid-hash' },
      ],
      audit: ['type=INTEGRITY_DATA msg=audit(1700000000.123:42): pid=4242 uid=0 auid=4294967295 ses=4294967295 op=appraise_data cause=invalid-hash comm="python3" name="/srv/app.py" dev="vda1" ino=1048577 res=0 errno=0'],
    },
  ],
});
one('verdict_empty', 'An empty verdict batch.', { type: MSG.VERDICT, verdicts: [] });

const CONTROLS: [string, number, Record<string, unknown>][] = [
  ['ns_create', CONTROL_OP.NS_CREATE, { mntns: 4026532840, userns: 4026531837, parent: 0, fail: 'closed', deadlineMs: 500 }],
  ['ns_create_minimal', CONTROL_OP.NS_CREATE, { mntns: 4026532840 }],
  ['ns_delete', CONTROL_OP.NS_DELETE, { ns: 3 }],
  ['ns_list', CONTROL_OP.NS_LIST, {}],
  ['policy_load', CONTROL_OP.POLICY_LOAD, { ns: 3, text: 'measure func=BPRM_CHECK mask=MAY_EXEC\nappraise func=FILE_CHECK fowner=0 appraise_type=imasig\n' }],
  ['policy_show', CONTROL_OP.POLICY_SHOW, { ns: 3 }],
  ['keys_add', CONTROL_OP.KEYS_ADD, { ns: 3, cert: hx('308201' + '0a'.repeat(40)) }],
  ['refs_add', CONTROL_OP.REFS_ADD, { ns: 3, digests: [[HASH_ALGO.SHA256, SHA256_A], [HASH_ALGO.SHA1, hx('a94a8fe5ccb19ba61c4c0873d391e987982fbbd3')]] }],
  ['measurements', CONTROL_OP.MEASUREMENTS, { ns: 3, bank: 'sha256', format: 'binary', from: 0, max: 100 }],
  ['aggregate', CONTROL_OP.AGGREGATE, { ns: 3 }],
];
for (const [n, op, args] of CONTROLS) one('control_' + n, 'CONTROL [4, req, op ' + op + ', args map].', { type: MSG.CONTROL, req: 100 + op, op, args });
one('query_appraise', 'QUERY APPRAISE: args.file is the FileInfo tuple, as in an EVENT insert.', { type: MSG.QUERY, req: 7, op: QUERY_OP.APPRAISE, args: { ns: 3, file: FILE, func: FUNC.FILE_CHECK, nocache: true } });
one('query_is_signed', 'QUERY IS_SIGNED.', { type: MSG.QUERY, req: 8, op: QUERY_OP.IS_SIGNED, args: { ns: 0, file: FILE3 } });
one('query_stats', 'QUERY STATS with no arguments.', { type: MSG.QUERY, req: 9, op: QUERY_OP.STATS, args: {} });
one('attest', 'ATTEST [6, req, ns, nonce].', { type: MSG.ATTEST, req: 10, ns: 3, nonce: hx('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f') });
one('result_map', 'RESULT [10, req, value]: any value of the profile.', { type: MSG.RESULT, req: 4, value: { count: 12, violations: 0, sha1: hx('00'.repeat(20)), sha256: hx('ff'.repeat(32)) } });
one('result_list', 'RESULT of NS_LIST.', { type: MSG.RESULT, req: 3, value: [{ ns: 0, parent: 0, mntns: 4026531840, userns: 0, fail: 'open', deadlineMs: 500, entries: 1, deleted: false }] });
one('result_int_keys', 'Integer map keys decode to their decimal text and encode back as integers, sorted by encoding: 1, 24, -1, "a".', { type: MSG.RESULT, req: 5, value: { a: 0, 1: 'one', 24: 'x', '-1': null } });
one('error_request', 'ERROR answering request 7.', { type: MSG.ERROR, req: 7, code: 6, text: "line 2: 'fowner=x': invalid value" });
one('error_unsolicited', 'ERROR answering no request: req −1.', { type: MSG.ERROR, req: -1, code: 1, text: 'events[0].fileRef: slot 9 holds no file' });
one('ping_max', 'PING with the largest token (2^53−1).', { type: MSG.PING, token: 9007199254740991 });
one('pong', 'PONG echoes the token.', { type: MSG.PONG, token: 0 });

// ---- forward compatibility ----------------------------------------------------------------

session('ignorable_type', 'Types ≥ 32 are extensions: a receiver that does not know them drops them (null).', 0, (s) => s.raw('83 1820 01 a0'));
session('trailing_elements', 'Elements after those a receiver knows are ignored (a later version may add some).', 0, (s) => s.raw('84 08 05 66 667574757265 80'));
session('unknown_arg_key', 'Unknown argument keys are dropped; known ones checked.', 0, (s) => s.raw('84 04 01 01 a2 656d6e746e73 1a f0000000 6666757475726501'));

// ---- invalid input --------------------------------------------------------------------------

bad('unknown_type', 'Type 11 < 32 is must-understand: UNSUPPORTED_TYPE.', '82 0b 01');
bad('truncated', 'A PING whose uint32 token is cut short.', '82 08 1a 0001');
bad('truncated_array', 'A PING array declaring 2 elements with 1 byte left.', '82 08');
bad('huge_array', 'An array declaring 2^32−1 elements: refused before allocating.', '9a ffffffff');
bad('huge_bytes', 'An ATTEST nonce declaring 2^32−1 bytes.', '84 06 01 00 5a ffffffff');
bad('deep_nesting', '17 nested arrays in a RESULT value: deeper than the 16 allowed.', '83 0a 01' + '81'.repeat(16) + '00');
bad('trailing_bytes', 'A PING followed by a stray byte.', '82 08 01 00');
bad('non_shortest_int', 'token 1 written as uint8 (18 01).', '82 08 1801');
bad('non_shortest_length', 'The message array length in 2 bytes (98 02).', '9802 08 01');
bad('indefinite_array', 'An indefinite-length array.', '9f 08 01 ff');
bad('indefinite_text', 'An indefinite-length text string in an ERROR.', '84 07 20 01 7f 6161 ff');
bad('float', 'A PING token as float16.', '82 08 f93c00');
bad('tag', 'A tagged byte string (tag 64).', '84 06 01 00 d840 40');
bad('duplicate_key', 'NS_DELETE args with "ns" twice.', '84 04 01 02 a2 626e73 01 626e73 02');
bad('unsorted_keys', 'Limits map with keys out of bytewise order.', '85 00 01 64686f7374 a2 66776e646f77 04 686d61784672616d65 190100 80');
bad('wrong_type_text', 'An ERROR whose text is a byte string.', '84 07 01 01 4161');
bad('wrong_type_req', 'A CONTROL with a negative request id.', '84 04 20 03 a0');
bad('wrong_arg_type', 'NS_DELETE with ns as text: BAD_ARGUMENT naming args.ns, answered to request 2.', '84 04 02 02 a1 626e73 6133');
bad('missing_arg', 'POLICY_LOAD without its text.', '84 04 03 04 a1 626e73 00');
bad('short_message', 'An ATTEST missing its nonce.', '83 06 01 00');
bad('not_an_array', 'A message that is a map.', 'a1 6474797065 08');
bad('bad_profile', 'HELLO with an unknown profile.', '85 00 01 65626f617264 a0 80');
bad('unknown_intern', 'An EVENT naming slot 5, never inserted.', '84 02 01 80 81 84 05 06 01 04', 16);
bad('insert_beyond_table', 'An insert into slot 16 of a 16-slot table.', '84 02 01 81 83 10 01 ' + toHex(codec.encode([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 'x'])) + ' 80', 16);
bad('insert_unknown_kind', 'An insert of kind 2.', '84 02 01 81 83 00 02 80 80', 16);
bad('insert_wrong_tuple', 'A FileInfo tuple whose inode is text.', '84 02 01 81 83 00 00 ' + toHex(codec.encode(fileInfoToWire({ ...FILE, ino: 'x' as unknown as number }))) + ' 80', 16);

const out = {
  description:
    'Message test vectors (SPEC.md §3-4). Each vector is a sequence of steps fed, in order, to one wire decoder whose intern table has `slots` slots (a `reset` step clears it). ' +
    '`hex` is one message exactly as a frame carries it (no framing). `diag` is its CBOR diagnostic notation (RFC 8949 §8) when it is CBOR in the profile. ' +
    '`message` is what the decoder returns: the Message of protocol/messages.ts in JSON, byte strings written as {"$bytes": hex}; null means an ignorable type to drop. ' +
    'When `encode` is true, a wire encoder that has encoded the previous `encode` steps of the vector produces exactly `hex` from `message`. ' +
    '`error` is the ProtocolError the decoder must throw instead: `code` (CBOR errors: TRUNCATED, LENGTH, DEPTH, TRAILING, NON_CANONICAL, INDEFINITE, FLOAT, TAG, DUPLICATE_KEY…; wire errors: MALFORMED, BAD_ARGUMENT, UNSUPPORTED_TYPE, UNKNOWN_INTERN), ' +
    '`err` (the ERROR message code to answer with), `offset` (byte offset, CBOR errors), `field` (wire errors) and `req` (the request answered, when known). ' +
    'Codec limits: depth 16, 65536 items.',
  vectors,
};
writeFileSync(new URL('./messages.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
process.stdout.write(`${vectors.length} vectors, ${vectors.reduce((n, v) => n + v.steps.length, 0)} steps\n`);
