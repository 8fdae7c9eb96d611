// Reader for measurement lists written by real kernels: binary_runtime_measurements (the legacy
// sha1 file and the per-bank `_sha256`, `_sha384`, `_sha512` files of kernels ≥ 6.10, told apart
// by trying each digest width) and ascii_runtime_measurements (ima-formats §1.2, §1.7).
// Input is untrusted: every length is checked against what is left before it is used, and any
// problem stops the parse with a typed error naming the entry, its byte offset and what was
// expected; the entries before it are still returned.
// Portable (Espruino profile).
import { fromHex, readU32le, readU32be } from '../../../protocol/bytes.js';
import { BANKS, HASH_DIGEST_SIZES, HashFn, bankForWidth, digestSize, hashAlgoByName } from './hash-algo.js';
import { parseFieldAscii } from './ascii.js';
import { MeasurementList, PCR_LIMIT } from './measurement-list.js';
import { EVENT_NAME_LEN_MAX, FIELD, TemplateDesc, joinFields, lookupTemplate, splitFields } from './template.js';

/** An entry read from a list. `data` is template data in the hashed form (`u32 len || data` per field). */
export interface ParsedEntry {
  /** Byte offset of the entry in the input. */
  offset: number;
  pcr: number;
  /** The template name as the list printed it (a format string for custom templates). */
  templateName: string;
  template: TemplateDesc;
  data: Uint8Array;
  /** The template digest the list recorded, in the list's bank; all zeros for a violation. */
  digest: Uint8Array;
}

/**
 * A parse error. `code`: LIST_TRUNCATED (the input ends inside an entry), LIST_MALFORMED (a
 * value no kernel writes) or LIST_FORMAT (neither a binary nor an ascii list).
 */
export interface ListError extends Error {
  code: string;
  /** 1-based number of the entry being read. */
  entry: number;
  /** Byte offset (in the whole input) of the value that is wrong. */
  offset: number;
  /** Byte offset of the start of that entry. */
  entryOffset: number;
  /** What a kernel list has there. */
  expected: string;
}

export interface ParsedList {
  format: 'binary' | 'ascii';
  /** hash_algo of the bank whose template digests the list carries (sha1 for the legacy files). */
  bank: number;
  /** Template digest width in bytes. */
  width: number;
  entries: ParsedEntry[];
  /** Why parsing stopped before the end, or null when every byte was read. */
  error: ListError | null;
  /** Line-end bytes ignored after the last binary entry (some copies end with one '\n'). */
  trailing: number;
}

export interface ParseOptions {
  /** Force a format instead of detecting it. */
  format?: 'binary' | 'ascii';
  /** Force the binary digest width (20, 32, 48, 64) instead of detecting it. */
  width?: number;
  /** Stop after this many entries (for paging through huge lists). */
  maxEntries?: number;
}

function makeError(code: string, entry: number, entryOffset: number, offset: number, expected: string, found: string): ListError {
  const e = new Error('entry ' + entry + ' (at byte ' + entryOffset + '): at byte ' + offset + ' expected ' + expected + (found ? ', found ' + found : '')) as ListError;
  e.code = code;
  e.entry = entry;
  e.offset = offset;
  e.entryOffset = entryOffset;
  e.expected = expected;
  return e;
}

function printableName(b: Uint8Array): string | null {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    if (b[i] < 0x21 || b[i] > 0x7e) return null;
    s += String.fromCharCode(b[i]);
  }
  return s;
}

/** Check a field's bytes as the kernel writes them; returns what was expected, or "". */
function fieldProblem(field: number, d: Uint8Array): string {
  if (field === FIELD.N || field === FIELD.N_NG || field === FIELD.XATTRNAMES) {
    if (field === FIELD.XATTRNAMES && d.length === 0) return '';
    return d.length > 0 && d[d.length - 1] === 0 ? '' : 'a NUL-terminated name';
  }
  if (field === FIELD.D) return d.length === 20 || d.length === 16 ? '' : 'a 20-byte (or MD5 16-byte) digest';
  if (field === FIELD.D_NG || field === FIELD.D_NGV2 || field === FIELD.D_MODSIG) {
    if (field === FIELD.D_MODSIG && d.length === 0) return '';
    const z = d.indexOf(0);
    let prefix = '';
    for (let i = 0; i < z; i++) prefix += String.fromCharCode(d[i]);
    const parts = prefix.split(':');
    const typed = field === FIELD.D_NGV2;
    const want = typed ? '"ima:<algo>:" or "verity:<algo>:", a NUL and the digest' : '"<algo>:", a NUL and the digest';
    if (z < 0 || parts.length !== (typed ? 3 : 2) || parts[parts.length - 1] !== '') return want;
    if (typed && parts[0] !== 'ima' && parts[0] !== 'verity') return want;
    const algo = hashAlgoByName(parts[parts.length - 2]);
    if (algo < 0) return want + ' (a kernel hash algorithm name)';
    return d.length - z - 1 === digestSize(algo) ? '' : 'a ' + parts[parts.length - 2] + ' digest of ' + digestSize(algo) + ' bytes';
  }
  if (field === FIELD.IUID || field === FIELD.IGID) return d.length === 0 || d.length === 4 ? '' : 'a 4-byte id';
  if (field === FIELD.IMODE) return d.length === 0 || d.length === 2 ? '' : 'a 2-byte mode';
  return '';
}

/** Check that template data splits into the template's fields, each well-formed; returns "" or what was expected, and the failing field's offset in `at[0]`. */
function dataProblem(t: TemplateDesc, data: Uint8Array, at: number[]): string {
  const f = splitFields(data, t.fields.length);
  if (f === null) {
    at[0] = 0;
    return t.fields.length + ' fields whose lengths add up to the template data length ' + data.length;
  }
  let o = 0;
  for (let i = 0; i < f.length; i++) {
    const p = fieldProblem(t.fields[i], f[i]);
    if (p) {
      at[0] = o;
      return "field '" + (t.fmt.split('|')[i]) + "': " + p;
    }
    o += 4 + f[i].length;
  }
  return '';
}

const LINE_END = [10, 13];

function onlyLineEnds(b: Uint8Array, from: number): boolean {
  for (let i = from; i < b.length; i++) if (LINE_END.indexOf(b[i]) < 0) return false;
  return true;
}

interface BinaryRun {
  entries: ParsedEntry[];
  error: ListError | null;
  trailing: number;
  /** Bytes read without error. */
  good: number;
}

function parseBinaryRun(b: Uint8Array, width: number, maxEntries: number): BinaryRun {
  const entries: ParsedEntry[] = [];
  let o = 0;
  let n = 0;
  const run: BinaryRun = { entries: entries, error: null, trailing: 0, good: 0 };
  while (o < b.length && entries.length < maxEntries) {
    n++;
    const start = o;
    const left = b.length - o;
    if (left < 4 + width + 4 && onlyLineEnds(b, o)) {
      run.trailing = left;
      break;
    }
    const stop = function (code: string, at: number, expected: string, found: string): BinaryRun {
      run.error = makeError(code, n, start, at, expected, found);
      return run;
    };
    if (left < 4) return stop('LIST_TRUNCATED', o, 'a 4-byte PCR index', left + ' bytes left');
    const pcr = readU32le(b, o);
    if (pcr >= PCR_LIMIT) return stop('LIST_MALFORMED', o, 'a PCR index below ' + PCR_LIMIT, String(pcr));
    o += 4;
    if (b.length - o < width) return stop('LIST_TRUNCATED', o, 'a ' + width + '-byte template digest', b.length - o + ' bytes left');
    const digest = b.slice(o, o + width);
    o += width;
    if (b.length - o < 4) return stop('LIST_TRUNCATED', o, 'a 4-byte template name length', b.length - o + ' bytes left');
    const nameLen = readU32le(b, o);
    if (nameLen === 0 || nameLen > EVENT_NAME_LEN_MAX) return stop('LIST_MALFORMED', o, 'a template name length from 1 to 255', String(nameLen));
    o += 4;
    if (b.length - o < nameLen) return stop('LIST_TRUNCATED', o, 'a template name of ' + nameLen + ' bytes', b.length - o + ' bytes left');
    const name = printableName(b.subarray(o, o + nameLen));
    const t = name === null ? null : lookupTemplate(name);
    if (name === null || t === null) return stop('LIST_MALFORMED', o, 'a template name or format of known fields', name === null ? 'unprintable bytes' : '"' + name + '"');
    o += nameLen;
    let data: Uint8Array;
    const dataAt = o;
    if (name === 'ima') {
      if (b.length - o < 24) return stop('LIST_TRUNCATED', o, "an 'ima' digest and name length", b.length - o + ' bytes left');
      const d = b.subarray(o, o + 20);
      const len = readU32le(b, o + 20);
      if (len > EVENT_NAME_LEN_MAX) return stop('LIST_MALFORMED', o + 20, "an 'ima' name length of at most 255", String(len));
      o += 24;
      if (b.length - o < len) return stop('LIST_TRUNCATED', o, 'a name of ' + len + ' bytes', b.length - o + ' bytes left');
      const nm = new Uint8Array(len + 1);
      nm.set(b.subarray(o, o + len), 0);
      o += len;
      data = joinFields([d, nm]);
    } else {
      if (b.length - o < 4) return stop('LIST_TRUNCATED', o, 'a 4-byte template data length', b.length - o + ' bytes left');
      const len = readU32le(b, o);
      o += 4;
      if (b.length - o < len) return stop('LIST_TRUNCATED', o, 'template data of ' + len + ' bytes', b.length - o + ' bytes left');
      data = b.slice(o, o + len);
      o += len;
      const at = [0];
      const p = dataProblem(t, data, at);
      if (p) return stop('LIST_MALFORMED', dataAt + 4 + at[0], p, '');
    }
    entries.push({ offset: start, pcr: pcr, templateName: name, template: t, data: data, digest: digest });
    run.good = o;
  }
  return run;
}

/** Parse a binary list. The digest width is detected (or forced with `opts.width`). */
export function parseBinaryList(b: Uint8Array, opts?: ParseOptions): ParsedList {
  const max = opts && opts.maxEntries !== undefined ? opts.maxEntries : 0x7fffffff;
  const forced = opts && opts.width ? opts.width : 0;
  if (forced && bankForWidth(forced) < 0) throw makeError('LIST_FORMAT', 1, 0, 0, 'a digest width of 20, 32, 48 or 64', String(forced));
  let bestGood = -1;
  let bestWidth = 20;
  for (let i = 0; i < BANKS.length; i++) {
    const width = HASH_DIGEST_SIZES[BANKS[i]];
    if (forced && width !== forced) continue;
    // A wrong width turns digest bytes into lengths and names: it fails within the first entries.
    const probe = parseBinaryRun(b, width, 4);
    if (probe.error === null) {
      bestWidth = width;
      break;
    }
    if (probe.good > bestGood) {
      bestGood = probe.good;
      bestWidth = width;
    }
  }
  const run = parseBinaryRun(b, bestWidth, max);
  return { format: 'binary', bank: bankForWidth(bestWidth), width: bestWidth, entries: run.entries, error: run.error, trailing: run.trailing };
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Parse an ascii list (one "%2d <digest> <template> <fields…>" line per entry). */
export function parseAsciiList(b: Uint8Array, opts?: ParseOptions): ParsedList {
  const max = opts && opts.maxEntries !== undefined ? opts.maxEntries : 0x7fffffff;
  const entries: ParsedEntry[] = [];
  const out: ParsedList = { format: 'ascii', bank: -1, width: 0, entries: entries, error: null, trailing: 0 };
  let o = 0;
  let n = 0;
  while (o < b.length && entries.length < max) {
    n++;
    const start = o;
    let eol = b.indexOf(10, o);
    if (eol < 0) {
      out.error = makeError('LIST_TRUNCATED', n, start, b.length, 'a line ending in a newline', 'end of input');
      return out;
    }
    const line = latin1(b, o, eol);
    o = eol + 1;
    const fail = function (code: string, col: number, expected: string, found: string): ParsedList {
      out.error = makeError(code, n, start, start + col, expected, found);
      return out;
    };
    const lead = line.charAt(0) === ' ' ? 1 : 0;
    const parts = line.substring(lead).split(' ');
    if (parts.length < 3) return fail('LIST_MALFORMED', 0, '"<pcr> <template digest> <template name> <fields>"', '"' + line.substring(0, 80) + '"');
    const pcrText = parts[0];
    if (!/^[0-9]{1,2}$/.test(pcrText) || (lead === 1) !== (pcrText.length === 1)) return fail('LIST_MALFORMED', 0, 'a PCR index printed as %2d', '"' + pcrText + '"');
    const pcr = parseInt(pcrText, 10);
    if (pcr >= PCR_LIMIT) return fail('LIST_MALFORMED', 0, 'a PCR index below ' + PCR_LIMIT, pcrText);
    let col = lead + pcrText.length + 1;
    const digest = fromHex(parts[1]);
    const width = digest === null ? -1 : digest.length;
    if (digest === null || bankForWidth(width) < 0 || (out.width !== 0 && width !== out.width)) {
      return fail('LIST_MALFORMED', col, out.width ? 'a template digest of ' + 2 * out.width + ' hex digits' : 'a template digest of 40, 64, 96 or 128 hex digits', '"' + parts[1].substring(0, 130) + '"');
    }
    out.width = width;
    out.bank = bankForWidth(width);
    col += parts[1].length + 1;
    const name = parts[2];
    const t = lookupTemplate(name);
    if (t === null) return fail('LIST_MALFORMED', col, 'a template name or format of known fields', '"' + name + '"');
    col += name.length;
    if (parts.length - 3 !== t.fields.length) return fail('LIST_MALFORMED', col, t.fields.length + " space-separated fields for template '" + name + "'", String(parts.length - 3));
    const fields: Uint8Array[] = [];
    for (let i = 0; i < t.fields.length; i++) {
      col += 1;
      const d = parseFieldAscii(t.fields[i], parts[3 + i]);
      const p = d === null ? 'its ascii form' : fieldProblem(t.fields[i], d);
      if (d === null || p) return fail('LIST_MALFORMED', col, "field '" + t.fmt.split('|')[i] + "': " + p, '"' + parts[3 + i].substring(0, 80) + '"');
      if (name === 'ima' && i === 1 && d.length > EVENT_NAME_LEN_MAX + 1) return fail('LIST_MALFORMED', col, "an 'ima' name of at most 255 bytes", d.length - 1 + ' bytes');
      fields.push(d);
      col += parts[3 + i].length;
    }
    entries.push({ offset: start, pcr: pcr, templateName: name, template: t, data: joinFields(fields), digest: digest });
  }
  return out;
}

/** True when the input starts like an ascii list ("10 " or " 9 " then hex). */
function looksAscii(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const c0 = b[0];
  const c1 = b[1];
  const digit = function (c: number): boolean {
    return c >= 48 && c <= 57;
  };
  return (c0 === 32 && digit(c1) && b[2] === 32) || (digit(c0) && digit(c1) && b[2] === 32);
}

/**
 * Parse a list, binary or ascii (detected from its first bytes). Throws a ListError with code
 * LIST_FORMAT only when the input is neither (or is a big-endian binary list, which kernels
 * write only on big-endian hosts without ima_canonical_fmt); other problems come back in `error`.
 */
export function parseMeasurementList(b: Uint8Array, opts?: ParseOptions): ParsedList {
  const format = opts && opts.format ? opts.format : looksAscii(b) ? 'ascii' : 'binary';
  if (format === 'ascii') return parseAsciiList(b, opts);
  if (b.length >= 4 && readU32le(b, 0) >= PCR_LIMIT && readU32be(b, 0) < PCR_LIMIT) {
    throw makeError('LIST_FORMAT', 1, 0, 0, 'a little-endian PCR index (big-endian lists are not supported)', 'big-endian ' + readU32be(b, 0));
  }
  return parseBinaryList(b, opts);
}

/** A parsed list loaded into a MeasurementList, and the entries whose recorded digest is wrong. */
export interface LoadedList {
  list: MeasurementList;
  /** 0-based numbers of entries whose recorded template digest does not match their data. */
  mismatches: number[];
}

/**
 * Load parsed entries into a MeasurementList keeping the list's own bank and `banks` (each
 * computed with the ≥ 5.8 per-bank rule), as they were: no duplicate removal. The recorded
 * digests are what the aggregate replays in the list's own bank, as a verifier would.
 * `paddedSha1` computes the other banks as kernels before 5.8 extended them instead.
 */
export function loadParsedList(parsed: ParsedList, hash: HashFn, banks: number[], paddedSha1?: boolean): LoadedList {
  const all = parsed.bank >= 0 ? [parsed.bank] : [];
  for (let i = 0; i < banks.length; i++) if (all.indexOf(banks[i]) < 0) all.push(banks[i]);
  const list = new MeasurementList({ hash: hash, banks: all, paddedSha1: paddedSha1 });
  const mismatches: number[] = [];
  for (let i = 0; i < parsed.entries.length; i++) {
    const e = parsed.entries[i];
    if (!list.importEntry(e.pcr, e.templateName, e.template, e.data, parsed.bank, e.digest)) mismatches.push(i);
  }
  return { list: list, mismatches: mismatches };
}
