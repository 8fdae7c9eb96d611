// IMA byte formats for the engine core, matched to the kernel byte for byte:
// - hash-algo: kernel hash_algo numbers, names, digest sizes, banks;
// - template: template descriptors (ima, ima-ng, ima-sig, ima-buf, …, custom `d-ng|n-ng|sig`),
//   template data built as the kernel's field functions build it, template digests;
// - measurement-list: a namespace's list with per-bank template digests and aggregates, the
//   duplicate rule, binary and ascii exports of any range, and the boot_aggregate entry;
// - parse-list: reader for real kernel lists (binary, per-bank binary, ascii) with typed errors;
// - xattr: `security.ima` parser with the kernel's appraisal cause for each malformed value.
// Hashing goes only through the HashFn given (Platform.hash). Portable (Espruino profile).
export { ALGO, BANKS, HASH_ALGO_LAST, HASH_ALGO_NAMES, HASH_DIGEST_SIZES, bankByName, bankForWidth, digestSize, hashAlgoByName, hashAlgoName } from './hash-algo.js';
export type { HashFn } from './hash-algo.js';
export { BUILTIN_TEMPLATES, DATA_FMT, FIELD, FIELD_IDS, buildTemplateData, fieldData, joinFields, lookupTemplate, splitFields, templateDigest, templateDisplayName } from './template.js';
export type { TemplateDesc, TemplateInput } from './template.js';
export { DEFAULT_PCR, MeasurementList, bootAggregate, bootAggregateInput } from './measurement-list.js';
export type { ListRange, MeasurementInput, MeasurementListOptions, StoredEntry } from './measurement-list.js';
export { loadParsedList, parseAsciiList, parseBinaryList, parseMeasurementList } from './parse-list.js';
export type { ListError, LoadedList, ParseOptions, ParsedEntry, ParsedList } from './parse-list.js';
export { SIGNATURE_V2_HDR_SIZE, XATTR, parseImaXattr } from './xattr.js';
export type { ImaXattr } from './xattr.js';
