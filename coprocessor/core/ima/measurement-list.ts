// One namespace's IMA measurement list: entries in the kernel's template data form, a template
// digest per TPM bank, and a per-bank aggregate standing for PCR 10 (ima_queue.c, ima_crypto.c,
// ima_fs.c; ima-formats §1.2-§1.4).
//
// Storage is compact because a board holds thousands of entries and a host namespace hundreds of
// thousands: entries live in pages of typed arrays (template data bytes, one digest array per
// bank, a PCR/flags byte and a template index), never as one object per entry. The duplicate
// rule (ima_lookup_digest_entry) uses an open-addressing table of entry numbers in a Uint32Array,
// keyed by the first digest bytes: the board has no Map, and objects are linear there.
// Portable (Espruino profile).
import { readU32le } from '../../../protocol/bytes.js';
import { ALGO, HashFn, digestSize, hashAlgoName, mustHash } from './hash-algo.js';
import { ByteWriter, writeFieldAscii } from './ascii.js';
import { TemplateDesc, TemplateInput, buildTemplateData, lookupTemplate, templateDigest, templateDisplayName } from './template.js';

/** CONFIG_IMA_MEASURE_PCR_IDX: the PCR measurements go to unless a rule says `pcr=`. */
export const DEFAULT_PCR = 10;
/** `pcr=` must be below 8 * sizeof(unsigned long) (ima_policy.c). */
export const PCR_LIMIT = 64;

/** One measurement to add: the event's data and the template it is recorded with. */
export interface MeasurementInput extends TemplateInput {
  /** PCR index, default 10. */
  pcr?: number;
  /** Template name (`ima-ng`) or custom format (`d-ng|n-ng|sig`), as a policy's `template=` gives it. */
  template: string;
}

export interface MeasurementListOptions {
  /** The platform's `hash(algo, data)`. */
  hash: HashFn;
  /** TPM banks to keep template digests and an aggregate for; default sha1 and sha256. */
  banks?: number[];
  /** Entries per storage page, a power of two; default 1024 (use 16-64 on a board). */
  pageEntries?: number;
  /**
   * Replay as kernels before 5.8 did: every bank is extended with the SHA-1 template digest
   * zero-padded to the bank size, and a violation with 20 0xff bytes zero-padded.
   */
  paddedSha1?: boolean;
}

/** Part of a list exported: how many entries, and their bytes. */
export interface ListRange {
  entries: number;
  data: Uint8Array;
}

/** One entry as stored, for journaling, exports and tests. Views share the list's memory. */
export interface StoredEntry {
  pcr: number;
  violation: boolean;
  /** The name the list prints: the template's name, or its format when custom. */
  templateName: string;
  template: TemplateDesc;
  /** Template data, `u32 len || data` per field. */
  data: Uint8Array;
}

interface Page {
  n: number;
  /** PCR in bits 0-6, violation in bit 7. */
  meta: Uint8Array;
  tmpl: Uint8Array;
  /** End offset of each entry's data in `data`. */
  end: Uint32Array;
  data: Uint8Array;
  used: number;
  /** Per bank (same order as the list's banks): n * digestSize bytes. */
  digests: Uint8Array[];
  /** Per entry, bit b set once bank b's digest is stored. */
  filled: Uint8Array;
}

interface PcrAggregate {
  pcr: number;
  values: Uint8Array[];
}

interface TemplateSlot {
  name: string;
  desc: TemplateDesc;
  isIma: boolean;
}

const VIOLATION = 0x80;

function listError(code: string, message: string): Error {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}

/**
 * The measurement list of one namespace. Entries are numbered from 0 in the order they were
 * added; `exportBinary`/`exportAscii` print any range of them in the kernel's layout.
 */
export class MeasurementList {
  /** hash_algo of each bank kept, in the order given. */
  readonly banks: number[];
  private hash: HashFn;
  private sizes: number[];
  private pageShift: number;
  private pageSize: number;
  private pages: Page[];
  private templates: TemplateSlot[];
  /** Per PCR used, in order of first use: the PCR number and its value in each bank. */
  private pcrAggs: PcrAggregate[];
  private ffDigests: Uint8Array[];
  private padded: boolean;
  private nEntries: number;
  private nViolations: number;
  private slots: Uint32Array;
  private slotsUsed: number;
  /** Entries already extended into the aggregates; the rest are settled when someone reads. */
  private settled: number;

  constructor(opts: MeasurementListOptions) {
    this.hash = opts.hash;
    this.banks = opts.banks ? opts.banks.slice() : [ALGO.SHA1, ALGO.SHA256];
    if (this.banks.length === 0 || this.banks.length > 8) throw listError('LIST_BANK', 'a measurement list keeps 1 to 8 banks, got ' + this.banks.length);
    this.sizes = [];
    this.pcrAggs = [];
    this.ffDigests = [];
    this.padded = !!opts.paddedSha1;
    for (let i = 0; i < this.banks.length; i++) {
      const size = digestSize(this.banks[i]);
      if (size === 0 || this.banks.indexOf(this.banks[i]) !== i) throw listError('LIST_BANK', 'bank ' + this.banks[i] + ' is not a distinct kernel hash_algo');
      // Refuse at once a bank the platform cannot hash (a board with SHA-1 only), not at the first read.
      if (this.hash(this.banks[i], new Uint8Array(0)) === null) throw listError('LIST_BANK', 'this platform cannot hash the ' + hashAlgoName(this.banks[i]) + ' bank');
      this.sizes.push(size);
      const ff = new Uint8Array(size);
      ff.fill(0xff, 0, this.padded ? 20 : size);
      this.ffDigests.push(ff);
    }
    let shift = 0;
    const want = opts.pageEntries || 1024;
    while (1 << shift < want && shift < 16) shift++;
    this.pageShift = shift;
    this.pageSize = 1 << shift;
    this.pages = [];
    this.templates = [];
    this.nEntries = 0;
    this.nViolations = 0;
    this.slots = new Uint32Array(64);
    this.slotsUsed = 0;
    this.settled = 0;
  }

  /** Number of entries (runtime_measurements_count). */
  get count(): number {
    return this.nEntries;
  }

  /** Number of violation entries (the securityfs `violations` file counts the same events). */
  get violations(): number {
    return this.nViolations;
  }

  /** Bytes held in typed arrays (pages, duplicate table, aggregates): what the list costs in RAM. */
  byteSize(): number {
    let n = this.slots.byteLength;
    for (let i = 0; i < this.pages.length; i++) {
      const p = this.pages[i];
      n += p.meta.byteLength + p.tmpl.byteLength + p.end.byteLength + p.data.byteLength + p.filled.byteLength;
      for (let b = 0; b < p.digests.length; b++) n += p.digests[b].byteLength;
    }
    for (let i = 0; i < this.pcrAggs.length; i++) for (let b = 0; b < this.sizes.length; b++) n += this.sizes[b];
    return n;
  }

  private bankIndex(bank: number): number {
    const i = this.banks.indexOf(bank);
    if (i < 0) throw listError('LIST_BANK', 'this list keeps no ' + (hashAlgoName(bank) || String(bank)) + ' bank (it keeps ' + this.banks.map(hashAlgoName).join(', ') + ')');
    return i;
  }

  /**
   * The value `pcr` (default 10) would hold in `bank` after extending it, from zero, with each
   * entry of that PCR: new = H(old || template digest), 0xff… for a violation.
   */
  aggregate(bank: number, pcr?: number): Uint8Array {
    const b = this.bankIndex(bank);
    this.settle();
    const want = pcr === undefined ? DEFAULT_PCR : pcr;
    for (let i = 0; i < this.pcrAggs.length; i++) if (this.pcrAggs[i].pcr === want) return this.pcrAggs[i].values[b].slice();
    return new Uint8Array(this.sizes[b]);
  }

  /** The PCRs entries were recorded in, in order of first use. */
  pcrs(): number[] {
    this.settle();
    return this.pcrAggs.map(function (a: PcrAggregate): number {
      return a.pcr;
    });
  }

  private pcrAggregate(pcr: number): PcrAggregate {
    for (let i = 0; i < this.pcrAggs.length; i++) if (this.pcrAggs[i].pcr === pcr) return this.pcrAggs[i];
    const values: Uint8Array[] = [];
    for (let b = 0; b < this.sizes.length; b++) values.push(new Uint8Array(this.sizes[b]));
    const a = { pcr: pcr, values: values };
    this.pcrAggs.push(a);
    return a;
  }

  private templateSlot(name: string, desc: TemplateDesc): number {
    for (let i = 0; i < this.templates.length; i++) if (this.templates[i].name === name) return i;
    if (this.templates.length >= 255) throw listError('TEMPLATE_INVALID', 'more than 255 distinct templates in one list');
    this.templates.push({ name: name, desc: desc, isIma: name === 'ima' });
    return this.templates.length - 1;
  }

  /** Template digest of data in bank index b (the ≥ 5.8 rule: each bank hashes with its own algorithm). */
  private digestIn(b: number, slot: number, data: Uint8Array): Uint8Array {
    if (!this.padded || this.banks[b] === ALGO.SHA1) return templateDigest(this.hash, this.banks[b], this.templates[slot].isIma, data);
    const out = new Uint8Array(this.sizes[b]);
    out.set(templateDigest(this.hash, ALGO.SHA1, this.templates[slot].isIma, data).subarray(0, Math.min(20, out.length)), 0);
    return out;
  }

  /**
   * Bring every entry's digests and the aggregates up to date. Appends compute only the digest
   * the duplicate rule needs; the other banks and the PCR extends are done here, when a reader
   * wants them (an aggregate, a digest, an export), so an append costs one hash, not four.
   */
  private settle(): void {
    while (this.settled < this.nEntries) {
      const e = this.settled;
      const page = this.pages[e >> this.pageShift];
      const j = e & (this.pageSize - 1);
      const violation = (page.meta[j] & VIOLATION) !== 0;
      const aggs = this.pcrAggregate(page.meta[j] & 0x7f).values;
      // All banks are computed before any is committed, so a hash that throws leaves the list as it was.
      const next: Uint8Array[] = [];
      for (let b = 0; b < this.banks.length; b++) {
        const size = this.sizes[b];
        if ((page.filled[j] & (1 << b)) === 0) {
          page.digests[b].set(this.digestIn(b, page.tmpl[j], this.dataOf(page, j)), j * size);
          page.filled[j] |= 1 << b;
        }
        const ext = new Uint8Array(2 * size);
        ext.set(aggs[b], 0);
        ext.set(violation ? this.ffDigests[b] : page.digests[b].subarray(j * size, (j + 1) * size), size);
        next.push(mustHash(this.hash, this.banks[b], ext));
      }
      for (let b = 0; b < next.length; b++) aggs[b] = next[b];
      this.settled++;
    }
  }

  private newPage(): Page {
    const cap = this.pageSize;
    const digests: Uint8Array[] = [];
    for (let b = 0; b < this.sizes.length; b++) digests.push(new Uint8Array(cap * this.sizes[b]));
    return { n: 0, meta: new Uint8Array(cap), tmpl: new Uint8Array(cap), end: new Uint32Array(cap), data: new Uint8Array(cap * 32), used: 0, digests: digests, filled: new Uint8Array(cap) };
  }

  private slotKey(d: Uint8Array, o: number, pcr: number): number {
    return (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) ^ pcr;
  }

  /** Entry number + 1 of an entry with this PCR and bank-0 digest, or 0. */
  private lookup(pcr: number, digest: Uint8Array): number {
    const mask = this.slots.length - 1;
    const size = this.sizes[0];
    let i = this.slotKey(digest, 0, pcr) & mask;
    for (;;) {
      const v = this.slots[i];
      if (v === 0) return 0;
      const e = v - 1;
      const page = this.pages[e >> this.pageShift];
      const j = e & (this.pageSize - 1);
      if ((page.meta[j] & 0x7f) === pcr) {
        const d = page.digests[0];
        let k = 0;
        while (k < size && d[j * size + k] === digest[k]) k++;
        if (k === size) return v;
      }
      i = (i + 1) & mask;
    }
  }

  private insertSlot(e: number): void {
    if (2 * (this.slotsUsed + 1) > this.slots.length) {
      const old = this.slots;
      this.slots = new Uint32Array(old.length * 2);
      this.slotsUsed = 0;
      for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.placeSlot(old[i] - 1);
    }
    this.placeSlot(e);
  }

  private placeSlot(e: number): void {
    const page = this.pages[e >> this.pageShift];
    const j = e & (this.pageSize - 1);
    const mask = this.slots.length - 1;
    let i = this.slotKey(page.digests[0], j * this.sizes[0], page.meta[j] & 0x7f) & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = e + 1;
    this.slotsUsed++;
  }

  /** Append an entry; `known` holds the digests already computed, by bank index (null where not). */
  private store(pcr: number, slot: number, data: Uint8Array, violation: boolean, known: (Uint8Array | null)[]): void {
    let page = this.pages.length > 0 ? this.pages[this.pages.length - 1] : null;
    if (page === null || page.n === this.pageSize) {
      if (page !== null) page.data = page.data.slice(0, page.used);
      page = this.newPage();
      this.pages.push(page);
    }
    if (page.used + data.length > page.data.length) {
      let cap = page.data.length * 2;
      while (cap < page.used + data.length) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(page.data.subarray(0, page.used), 0);
      page.data = grown;
    }
    page.data.set(data, page.used);
    page.used += data.length;
    const j = page.n;
    page.end[j] = page.used;
    page.meta[j] = pcr | (violation ? VIOLATION : 0);
    page.tmpl[j] = slot;
    let filled = violation ? 0xff : 0;
    for (let b = 0; b < known.length; b++) {
      const d = known[b];
      if (d !== null && !violation) {
        page.digests[b].set(d, j * this.sizes[b]);
        filled |= 1 << b;
      }
    }
    page.filled[j] = filled;
    page.n++;
    const e = this.nEntries++;
    if (violation) this.nViolations++;
    else this.insertSlot(e);
  }

  private checkPcr(pcr: number): void {
    if (!(pcr >= 0 && pcr < PCR_LIMIT && Math.floor(pcr) === pcr)) throw listError('LIST_PCR', 'PCR index must be an integer from 0 to 63, got ' + pcr);
  }

  /**
   * Record a measurement (ima_store_template + ima_add_template_entry). Returns false, adding
   * nothing, when an entry with the same template digest and PCR exists (the kernel's
   * "hash_exists"); violations are always added, with zero digests, extending every bank with 0xff.
   * Throws TEMPLATE_INVALID for an unknown template or data the template cannot take.
   */
  add(input: MeasurementInput): boolean {
    const pcr = input.pcr === undefined ? DEFAULT_PCR : input.pcr;
    this.checkPcr(pcr);
    const desc = lookupTemplate(input.template);
    if (desc === null) throw listError('TEMPLATE_INVALID', 'unknown template "' + input.template + '"');
    const slot = this.templateSlot(templateDisplayName(desc), desc);
    const data = buildTemplateData(desc, input);
    if (input.violation) {
      this.store(pcr, slot, data, true, []);
      return true;
    }
    const d0 = this.digestIn(0, slot, data);
    if (this.lookup(pcr, d0) !== 0) return false;
    this.store(pcr, slot, data, false, [d0]);
    return true;
  }

  /**
   * Append an entry read from a kernel list, as it was: no duplicate check. `recorded` is the
   * template digest the list gave in `bank`; all zeros marks a violation. That digest is kept
   * (so the aggregate replays what the kernel extended); the other banks are computed. Returns
   * whether the recorded digest matches the data (always true for a violation).
   */
  importEntry(pcr: number, templateName: string, desc: TemplateDesc, data: Uint8Array, bank: number, recorded: Uint8Array): boolean {
    this.checkPcr(pcr);
    const bi = this.bankIndex(bank);
    if (recorded.length !== this.sizes[bi]) throw listError('LIST_BANK', 'a ' + hashAlgoName(bank) + ' template digest is ' + this.sizes[bi] + ' bytes, got ' + recorded.length);
    const slot = this.templateSlot(templateName, desc);
    let zero = true;
    for (let i = 0; i < recorded.length && zero; i++) if (recorded[i] !== 0) zero = false;
    if (zero) {
      this.store(pcr, slot, data, true, []);
      return true;
    }
    const computed = this.digestIn(bi, slot, data);
    let same = true;
    for (let i = 0; i < recorded.length; i++) if (computed[i] !== recorded[i]) same = false;
    // The duplicate table is keyed by bank 0; the recorded digest stands for its own bank.
    const known: (Uint8Array | null)[] = [];
    for (let b = 0; b < this.banks.length; b++) known.push(b === bi ? recorded : b === 0 ? this.digestIn(0, slot, data) : null);
    this.store(pcr, slot, data, false, known);
    return same;
  }

  private locate(index: number): Page {
    if (!(index >= 0 && index < this.nEntries)) throw listError('LIST_RANGE', 'entry ' + index + ' out of range (count ' + this.nEntries + ')');
    return this.pages[index >> this.pageShift];
  }

  private dataOf(page: Page, j: number): Uint8Array {
    return page.data.subarray(j === 0 ? 0 : page.end[j - 1], page.end[j]);
  }

  /** Entry `index` (0-based) as stored. */
  entry(index: number): StoredEntry {
    const page = this.locate(index);
    const j = index & (this.pageSize - 1);
    const t = this.templates[page.tmpl[j]];
    return { pcr: page.meta[j] & 0x7f, violation: (page.meta[j] & VIOLATION) !== 0, templateName: t.name, template: t.desc, data: this.dataOf(page, j) };
  }

  /** Template digest of entry `index` in `bank` (all zeros for a violation). */
  templateDigest(index: number, bank: number): Uint8Array {
    const b = this.bankIndex(bank);
    this.settle();
    const page = this.locate(index);
    const j = index & (this.pageSize - 1);
    return page.digests[b].slice(j * this.sizes[b], (j + 1) * this.sizes[b]);
  }

  private range(from: number | undefined, max: number | undefined): number[] {
    const start = from === undefined ? 0 : from;
    if (!(start >= 0 && Math.floor(start) === start)) throw listError('LIST_RANGE', 'from must be a whole number, got ' + start);
    const stop = max === undefined ? this.nEntries : Math.min(this.nEntries, start + max);
    return [start, stop];
  }

  /**
   * `binary_runtime_measurements` for entries [from, from + max) in `bank`'s layout: 20-byte
   * template digests for sha1 (the legacy file), bank-wide ones for `_sha256` and the like;
   * little-endian (ima_canonical_fmt, and the native order of x86 and ARM).
   */
  exportBinary(bank: number, from?: number, max?: number): Uint8Array {
    return this.exportRange(bank, 'binary', from, max).data;
  }

  /** `ascii_runtime_measurements` for entries [from, from + max), with `bank`'s template digests. */
  exportAscii(bank: number, from?: number, max?: number): Uint8Array {
    return this.exportRange(bank, 'ascii', from, max).data;
  }

  /**
   * Entries [from, from + max) in either layout, cut short so that the bytes stay within
   * `maxBytes` (but never fewer than one entry when any is in range): for replies that must fit
   * one message. `entries` says how many were exported; the caller continues from there.
   */
  exportRange(bank: number, format: 'binary' | 'ascii', from?: number, max?: number, maxBytes?: number): ListRange {
    const b = this.bankIndex(bank);
    this.settle();
    const r = this.range(from, max);
    const budget = maxBytes === undefined ? Infinity : maxBytes;
    return format === 'ascii' ? this.asciiRange(b, r[0], r[1], budget) : this.binaryRange(b, r[0], r[1], budget);
  }

  private binaryRange(b: number, start: number, stop: number, budget: number): ListRange {
    const size = this.sizes[b];
    // Sized exactly first: on a board the export must not need twice its size while it grows.
    let total = 0;
    let end = start;
    while (end < stop) {
      const page = this.pages[end >> this.pageShift];
      const j = end & (this.pageSize - 1);
      const t = this.templates[page.tmpl[j]];
      const data = this.dataOf(page, j);
      const n = 8 + size + t.name.length + (t.isIma ? data.length - 5 : data.length + 4);
      if (total + n > budget && end > start) break;
      total += n;
      end++;
    }
    const w = new ByteWriter(total);
    for (let e = start; e < end; e++) {
      const page = this.pages[e >> this.pageShift];
      const j = e & (this.pageSize - 1);
      const t = this.templates[page.tmpl[j]];
      w.u32le(page.meta[j] & 0x7f);
      w.bytes(page.digests[b].subarray(j * size, (j + 1) * size));
      w.u32le(t.name.length);
      w.ascii(t.name);
      const data = this.dataOf(page, j);
      if (!t.isIma) {
        w.u32le(data.length);
        w.bytes(data);
        continue;
      }
      // 'ima': the digest without its length, then the name without its NUL (strlen).
      const dlen = readU32le(data, 0);
      w.bytes(data.subarray(4, 4 + dlen));
      const name = data.subarray(8 + dlen);
      const z = name.indexOf(0);
      const n = z < 0 ? name.length : z;
      w.u32le(n);
      w.bytes(name.subarray(0, n));
    }
    return { entries: end - start, data: w.result() };
  }

  private asciiRange(b: number, start: number, stop: number, budget: number): ListRange {
    const size = this.sizes[b];
    const w = new ByteWriter(stop > start ? Math.min((stop - start) * 200, budget === Infinity ? 0x7fffffff : budget + 1024) : 16);
    let e = start;
    for (; e < stop; e++) {
      const mark = w.length;
      const page = this.pages[e >> this.pageShift];
      const j = e & (this.pageSize - 1);
      const t = this.templates[page.tmpl[j]];
      const pcr = page.meta[j] & 0x7f;
      w.ascii(pcr < 10 ? ' ' + pcr + ' ' : pcr + ' ');
      w.hex(page.digests[b].subarray(j * size, (j + 1) * size));
      w.byte(32);
      w.ascii(t.name);
      const data = this.dataOf(page, j);
      let o = 0;
      for (let f = 0; f < t.desc.fields.length; f++) {
        const len = readU32le(data, o);
        w.byte(32);
        writeFieldAscii(w, t.desc.fields[f], data.subarray(o + 4, o + 4 + len));
        o += 4 + len;
      }
      w.byte(10);
      if (w.length > budget && e > start) {
        w.length = mark;
        break;
      }
    }
    return { entries: e - start, data: w.result() };
  }
}

/**
 * The boot_aggregate digest (ima_calc_boot_aggregate): H(PCR0 || … || PCR7) in a sha1 bank,
 * H(PCR0 || … || PCR9) in any other; all zeros when there is no TPM (`pcrs` null).
 * `pcrs` holds the bank's PCR values from index 0.
 */
export function bootAggregate(hash: HashFn, algo: number, pcrs: Uint8Array[] | null): Uint8Array {
  const size = digestSize(algo);
  if (size === 0) throw listError('LIST_BANK', 'boot_aggregate: ' + algo + ' is not a kernel hash_algo');
  if (pcrs === null) return new Uint8Array(size);
  const n = algo === ALGO.SHA1 ? 8 : 10;
  if (pcrs.length < n) throw listError('LIST_BANK', 'boot_aggregate in ' + hashAlgoName(algo) + ' needs PCR 0 to ' + (n - 1));
  const buf = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) {
    if (pcrs[i].length !== size) throw listError('LIST_BANK', 'PCR ' + i + ' must be ' + size + ' bytes in ' + hashAlgoName(algo));
    buf.set(pcrs[i], i * size);
  }
  return mustHash(hash, algo, buf);
}

/**
 * The first entry of a namespace's list (ima_add_boot_aggregate): "boot_aggregate" under
 * `template`, its digest in `algo` (ima_hash_algo, sha256 by default), from `pcrs` or all
 * zeros without a TPM. For the legacy 'ima' template the 'd' field holds a SHA-1 boot
 * aggregate, computed from `pcrsSha1` (zeros when absent).
 */
export function bootAggregateInput(hash: HashFn, template: string, algo: number, pcrs: Uint8Array[] | null, pcrsSha1?: Uint8Array[] | null): MeasurementInput {
  const digest = bootAggregate(hash, algo, pcrs);
  const sha1 = algo === ALGO.SHA1 ? digest : bootAggregate(hash, ALGO.SHA1, pcrsSha1 ? pcrsSha1 : null);
  return { pcr: DEFAULT_PCR, template: template, digestAlgo: algo, digest: digest, digestSha1: sha1, name: 'boot_aggregate', hasFile: false };
}
