// IMA templates: descriptors, template data built as the kernel builds it, and template digests.
// Sources: security/integrity/ima/ima_template.c (builtin_templates[], template_desc_init_fields),
// ima_template_lib.c (field init functions), ima_crypto.c (ima_calc_field_array_hash_tfm);
// summarised in ima-formats §1.3 and §1.6.
//
// Template data is kept in the kernel's hashed form: for each field `u32 len (LE) || data`. That is
// exactly what the binary list prints after template_data_len (for every template but 'ima') and
// what the template digest hashes, so one byte string serves both.
// Portable (Espruino profile).
import { utf8Encode, writeU32le, readU32le } from '../../../protocol/bytes.js';
import { ALGO, HashFn, digestSize, hashAlgoName, mustHash } from './hash-algo.js';

/** Template field ids, in the order of FIELD_IDS. */
export const FIELD = {
  D: 0,
  N: 1,
  D_NG: 2,
  D_NGV2: 3,
  N_NG: 4,
  SIG: 5,
  BUF: 6,
  D_MODSIG: 7,
  MODSIG: 8,
  EVMSIG: 9,
  XATTRNAMES: 10,
  XATTRLENGTHS: 11,
  XATTRVALUES: 12,
  IUID: 13,
  IGID: 14,
  IMODE: 15,
} as const;

export const FIELD_IDS: string[] = ['d', 'n', 'd-ng', 'd-ngv2', 'n-ng', 'sig', 'buf', 'd-modsig', 'modsig', 'evmsig', 'xattrnames', 'xattrlengths', 'xattrvalues', 'iuid', 'igid', 'imode'];

/** The kernel's `enum data_formats`: how a field is shown in the ascii list. */
export const DATA_FMT = { DIGEST: 0, DIGEST_WITH_ALGO: 1, DIGEST_WITH_TYPE_AND_ALGO: 2, STRING: 3, HEX: 4, UINT: 5 } as const;

/** Data format of each field, indexed like FIELD_IDS. */
export const FIELD_DATA_FMT: number[] = [
  DATA_FMT.DIGEST, DATA_FMT.STRING, DATA_FMT.DIGEST_WITH_ALGO, DATA_FMT.DIGEST_WITH_TYPE_AND_ALGO, DATA_FMT.STRING,
  DATA_FMT.HEX, DATA_FMT.HEX, DATA_FMT.DIGEST_WITH_ALGO, DATA_FMT.HEX, DATA_FMT.HEX, DATA_FMT.STRING, DATA_FMT.HEX,
  DATA_FMT.HEX, DATA_FMT.UINT, DATA_FMT.UINT, DATA_FMT.UINT,
];

/** IMA_TEMPLATE_NUM_FIELDS_MAX and IMA_TEMPLATE_FIELD_ID_MAX_LEN (ima.h). */
export const TEMPLATE_NUM_FIELDS_MAX = 15;
export const TEMPLATE_FIELD_ID_MAX_LEN = 16;
/** IMA_EVENT_NAME_LEN_MAX (ima.h): the 'n' field's limit and the 'ima' digest's name padding - 1. */
export const EVENT_NAME_LEN_MAX = 255;

/** A template: `name` is "" for a custom format, which lists then print as `fmt`. */
export interface TemplateDesc {
  name: string;
  fmt: string;
  /** FIELD numbers, in order. */
  fields: number[];
}

function fieldsOf(fmt: string): number[] | null {
  const ids = fmt.split('|');
  if (fmt === '' || ids.length > TEMPLATE_NUM_FIELDS_MAX) return null;
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const f = ids[i].length < TEMPLATE_FIELD_ID_MAX_LEN ? FIELD_IDS.indexOf(ids[i]) : -1;
    if (f < 0) return null;
    out.push(f);
  }
  return out;
}

function builtin(name: string, fmt: string): TemplateDesc {
  return { name: name, fmt: fmt, fields: fieldsOf(fmt) as number[] };
}

/** `builtin_templates[]` of ima_template.c, in the kernel's order (lookups take the first match). */
export const BUILTIN_TEMPLATES: TemplateDesc[] = [
  builtin('ima', 'd|n'),
  builtin('ima-ng', 'd-ng|n-ng'),
  builtin('ima-ngv2', 'd-ngv2|n-ng'),
  builtin('ima-sig', 'd-ng|n-ng|sig'),
  builtin('ima-sigv2', 'd-ngv2|n-ng|sig'),
  builtin('ima-buf', 'd-ng|n-ng|buf'),
  builtin('ima-modsig', 'd-ng|n-ng|sig|d-modsig|modsig'),
  builtin('evm-sig', 'd-ng|n-ng|evmsig|xattrnames|xattrlengths|xattrvalues|iuid|igid|imode'),
];

/**
 * The template a policy's `template=` or a list's template name stands for: a builtin matched by
 * name or by format string (lookup_template_desc), else a custom format (`d-ng|n-ng|sig`) with
 * name "". Null when it is neither: an unknown field id, an empty format or more than 15 fields.
 */
export function lookupTemplate(nameOrFmt: string): TemplateDesc | null {
  for (let i = 0; i < BUILTIN_TEMPLATES.length; i++) {
    const t = BUILTIN_TEMPLATES[i];
    if (t.name === nameOrFmt || t.fmt === nameOrFmt) return t;
  }
  const f = fieldsOf(nameOrFmt);
  return f === null ? null : { name: '', fmt: nameOrFmt, fields: f };
}

/** The template as a list names it (ima_measurements_show): its name, or its format when custom. */
export function templateDisplayName(t: TemplateDesc): string {
  return t.name !== '' ? t.name : t.fmt;
}

/** What one measurement event knows; each field takes what it needs (ima_template_lib.c). */
export interface TemplateInput {
  /** hash_algo of `digest`; also the algorithm a violation's zero digest is labelled with (ima_hash_algo). */
  digestAlgo: number;
  /** The file (or buffer) digest; ignored for a violation. */
  digest: Uint8Array | null;
  /** SHA-1 (or MD5) digest for the legacy 'd' field when `digestAlgo` is neither (the kernel re-hashes the file with SHA-1). */
  digestSha1?: Uint8Array | null;
  /** Path or event name (UTF-8 when a string). */
  name: string | Uint8Array;
  /** False when the kernel would have no file behind the name (buffer events): an over-long 'n' is then cut at 255 bytes instead of falling back to the base name. */
  hasFile?: boolean;
  /** The raw `security.ima` value: the `sig` field keeps it when its type is 0x03 or 0x06. */
  sig?: Uint8Array | null;
  /** The raw `security.evm` value: `evmsig` (and `sig` without an IMA signature) keep it when its type is 0x05. */
  evmSig?: Uint8Array | null;
  /** Buffer of a buffer measurement (key, kexec cmdline, critical data). */
  buf?: Uint8Array | null;
  /** A violation (ToMToU, open_writers): zero digests, whatever `digest` says. */
  violation?: boolean;
  /** fs-verity digest (d-ngv2 says "verity:" instead of "ima:"). */
  verity?: boolean;
  /** Appended signature (PKCS#7 DER) and the digest of the file without it. */
  modsig?: Uint8Array | null;
  modsigAlgo?: number;
  modsigDigest?: Uint8Array | null;
  /** EVM-protected xattrs present on the file, names and raw values in the same order. */
  xattrNames?: string[];
  xattrValues?: Uint8Array[];
  /** Inode owner, group and mode (iuid, igid, imode); absent when there is no file. */
  uid?: number;
  gid?: number;
  mode?: number;
}

function templateError(message: string): Error {
  const e = new Error(message) as Error & { code: string };
  e.code = 'TEMPLATE_INVALID';
  return e;
}

/** A string field: spaces replaced by '_' (so ascii lists stay splittable), NUL appended. */
function stringField(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + 1);
  out.set(b, 0);
  let i = out.indexOf(32);
  while (i >= 0 && i < b.length) {
    out[i] = 95;
    i = out.indexOf(32, i + 1);
  }
  return out;
}

function nameBytes(name: string | Uint8Array): Uint8Array {
  return typeof name === 'string' ? utf8Encode(name) : name;
}

/** ima_eventname_init_common: names over 255 bytes become the base name, or are cut with no file. */
function limitedName(b: Uint8Array, hasFile: boolean): Uint8Array {
  if (b.length <= EVENT_NAME_LEN_MAX) return b;
  if (!hasFile) return b.subarray(0, EVENT_NAME_LEN_MAX);
  let slash = b.length - 1;
  while (slash >= 0 && b[slash] !== 47) slash--;
  const base = slash >= 0 ? b.subarray(slash + 1) : b;
  return base.length <= EVENT_NAME_LEN_MAX ? base : base.subarray(0, EVENT_NAME_LEN_MAX);
}

function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** ima_eventdigest_init_common: `[type ":"] algo ":" NUL digest`; a null digest is a violation's zeros. */
export function digestField(prefix: string, algo: number, digest: Uint8Array | null): Uint8Array {
  const size = digestSize(algo);
  if (size === 0) throw templateError('digest field: hash algorithm ' + algo + ' is not a kernel hash_algo');
  if (digest !== null && digest.length !== size) throw templateError('digest field: ' + hashAlgoName(algo) + ' digest must be ' + size + ' bytes, got ' + digest.length);
  const head = asciiBytes(prefix + hashAlgoName(algo) + ':');
  const out = new Uint8Array(head.length + 1 + size);
  out.set(head, 0);
  if (digest !== null) out.set(digest, head.length + 1);
  return out;
}

function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  writeU32le(b, 0, v);
  return b;
}

const EMPTY = new Uint8Array(0);

function evmsigField(input: TemplateInput): Uint8Array {
  const e = input.evmSig;
  return e && e.length > 0 && e[0] === 0x05 ? e : EMPTY;
}

function legacyDigest(input: TemplateInput): Uint8Array {
  if (input.violation) return new Uint8Array(20);
  if (input.digest !== null && (input.digestAlgo === ALGO.SHA1 || input.digestAlgo === ALGO.MD5)) return input.digest;
  const d = input.digestSha1;
  if (!d || (d.length !== 20 && d.length !== 16)) throw templateError("the 'd' field needs a SHA-1 digest (digestSha1) when the digest is " + hashAlgoName(input.digestAlgo));
  return d;
}

function xattrFields(input: TemplateInput, field: number): Uint8Array {
  const names = input.xattrNames;
  const values = input.xattrValues;
  if (!names || names.length === 0) return EMPTY;
  if (field === FIELD.XATTRNAMES) return stringField(utf8Encode(names.join('|')));
  if (!values || values.length !== names.length) throw templateError('xattrValues must hold one value per name in xattrNames');
  let n = 0;
  for (let i = 0; i < values.length; i++) n += values[i].length;
  const out = new Uint8Array(field === FIELD.XATTRLENGTHS ? 4 * values.length : n);
  let o = 0;
  for (let i = 0; i < values.length; i++) {
    if (field === FIELD.XATTRLENGTHS) writeU32le(out, 4 * i, values[i].length);
    else {
      out.set(values[i], o);
      o += values[i].length;
    }
  }
  return out;
}

/** The data of one field for an event, as the kernel's field init function makes it. */
export function fieldData(field: number, input: TemplateInput): Uint8Array {
  const violation = !!input.violation;
  const digest = violation ? null : input.digest;
  if (!violation && digest === null && (field === FIELD.D_NG || field === FIELD.D_NGV2)) throw templateError('a measurement other than a violation needs a digest');
  switch (field) {
    case FIELD.D:
      return legacyDigest(input);
    case FIELD.N:
      return stringField(limitedName(nameBytes(input.name), input.hasFile !== false));
    case FIELD.N_NG:
      return stringField(nameBytes(input.name));
    case FIELD.D_NG:
      return digestField('', input.digestAlgo, digest);
    case FIELD.D_NGV2:
      return digestField(input.verity ? 'verity:' : 'ima:', input.digestAlgo, digest);
    case FIELD.SIG: {
      const s = input.sig;
      return s && s.length > 0 && (s[0] === 0x03 || s[0] === 0x06) ? s : evmsigField(input);
    }
    case FIELD.EVMSIG:
      return evmsigField(input);
    case FIELD.BUF:
      return input.buf ? input.buf : EMPTY;
    case FIELD.D_MODSIG:
      return input.modsig && input.modsigDigest && input.modsigAlgo !== undefined ? digestField('', input.modsigAlgo, input.modsigDigest) : EMPTY;
    case FIELD.MODSIG:
      return input.modsig ? input.modsig : EMPTY;
    case FIELD.IUID:
      return input.uid === undefined ? EMPTY : u32Bytes(input.uid);
    case FIELD.IGID:
      return input.gid === undefined ? EMPTY : u32Bytes(input.gid);
    case FIELD.IMODE:
      return input.mode === undefined ? EMPTY : new Uint8Array([input.mode & 255, (input.mode >>> 8) & 255]);
    default:
      return xattrFields(input, field);
  }
}

/** Join field data into template data: `u32 len (LE) || data` per field. */
export function joinFields(fields: Uint8Array[]): Uint8Array {
  let n = 0;
  for (let i = 0; i < fields.length; i++) n += 4 + fields[i].length;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < fields.length; i++) {
    writeU32le(out, o, fields[i].length);
    out.set(fields[i], o + 4);
    o += 4 + fields[i].length;
  }
  return out;
}

/** Template data of an event under a template. */
export function buildTemplateData(t: TemplateDesc, input: TemplateInput): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < t.fields.length; i++) parts.push(fieldData(t.fields[i], input));
  return joinFields(parts);
}

/**
 * Split template data into field views. Null when the lengths do not add up to exactly
 * `data.length` in `count` fields (count < 0: as many as there are).
 */
export function splitFields(data: Uint8Array, count: number): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < data.length) {
    if (data.length - o < 4) return null;
    const len = readU32le(data, o);
    if (len > data.length - o - 4) return null;
    out.push(data.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  return count >= 0 && out.length !== count ? null : out;
}

/**
 * The template digest of template data in bank `algo` (ima_calc_field_array_hash_tfm): the hash
 * of the data itself, except for the 'ima' template, whose digest is H(d || n NUL-padded to 256)
 * with no lengths. Throws TEMPLATE_INVALID when 'ima' data is not a 'd' and an 'n' of at most 256 bytes.
 */
export function templateDigest(hash: HashFn, algo: number, isIma: boolean, data: Uint8Array): Uint8Array {
  if (!isIma) return mustHash(hash, algo, data);
  const f = splitFields(data, 2);
  if (f === null || f[1].length > EVENT_NAME_LEN_MAX + 1) throw templateError("'ima' template data must be a digest and a name of at most 255 bytes");
  const buf = new Uint8Array(f[0].length + EVENT_NAME_LEN_MAX + 1);
  buf.set(f[0], 0);
  buf.set(f[1], f[0].length);
  return mustHash(hash, algo, buf);
}
