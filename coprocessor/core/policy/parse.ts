// The IMA policy language, parsed as security/integrity/ima/ima_policy.c parses it
// (ima_parse_add_rule, ima_parse_rule, ima_validate_rule): one rule per line, tokens separated by
// spaces or tabs, `#` starting a comment line or ending a rule, every token the kernel knows and
// each of its checks. Where the kernel answers -EINVAL this answers an error naming the line, the
// token and the reason, and a policy with any bad line yields no rules at all.
// Portable (Espruino profile).
import { FUNC } from '../../../protocol/messages.js';
import { HASH_ALGO_LAST, HASH_ALGO_NAMES } from '../ima/hash-algo.js';
import { lookupTemplate, templateDisplayName } from '../ima/template.js';
import { ACTION, COND, FUNC_NAMES, LSM_KEYS, newRule, OP, Rule } from './rule.js';

export interface PolicyError {
  line: number;
  token: string;
  reason: string;
}

export interface ParseLimits {
  /** Rules accepted at most (the engine's per-namespace capacity). 0 = unbounded. */
  maxRules: number;
  /** Longest line; the kernel's policy writes are cut at a page. */
  maxLine: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxRules: 0, maxLine: 4095 };

/** Hash algorithms this engine can check, for appraise_algos= (the kernel asks crypto_has_alg). */
const AVAILABLE_ALGOS = [1, 2, 4, 5, 6, 7];

const FUNC_BY_NAME: { name: string; func: number }[] = [
  { name: 'FILE_CHECK', func: FUNC.FILE_CHECK },
  { name: 'PATH_CHECK', func: FUNC.FILE_CHECK },
  { name: 'MODULE_CHECK', func: FUNC.MODULE_CHECK },
  { name: 'FIRMWARE_CHECK', func: FUNC.FIRMWARE_CHECK },
  { name: 'FILE_MMAP', func: FUNC.MMAP_CHECK },
  { name: 'MMAP_CHECK', func: FUNC.MMAP_CHECK },
  { name: 'MMAP_CHECK_REQPROT', func: FUNC.MMAP_CHECK_REQPROT },
  { name: 'BPRM_CHECK', func: FUNC.BPRM_CHECK },
  { name: 'CREDS_CHECK', func: FUNC.CREDS_CHECK },
  { name: 'KEXEC_KERNEL_CHECK', func: FUNC.KEXEC_KERNEL_CHECK },
  { name: 'KEXEC_INITRAMFS_CHECK', func: FUNC.KEXEC_INITRAMFS_CHECK },
  { name: 'POLICY_CHECK', func: FUNC.POLICY_CHECK },
  { name: 'KEXEC_CMDLINE', func: FUNC.KEXEC_CMDLINE },
  { name: 'KEY_CHECK', func: FUNC.KEY_CHECK },
  { name: 'CRITICAL_DATA', func: FUNC.CRITICAL_DATA },
  { name: 'SETXATTR_CHECK', func: FUNC.SETXATTR_CHECK },
];

const MASK_BY_NAME: { name: string; bit: number }[] = [
  { name: 'MAY_EXEC', bit: 0x1 },
  { name: 'MAY_WRITE', bit: 0x2 },
  { name: 'MAY_READ', bit: 0x4 },
  { name: 'MAY_APPEND', bit: 0x8 },
];

const ACTION_BY_NAME: { name: string; action: number }[] = [
  { name: 'measure', action: ACTION.MEASURE },
  { name: 'dont_measure', action: ACTION.DONT_MEASURE },
  { name: 'appraise', action: ACTION.APPRAISE },
  { name: 'dont_appraise', action: ACTION.DONT_APPRAISE },
  { name: 'audit', action: ACTION.AUDIT },
  { name: 'hash', action: ACTION.HASH },
  { name: 'dont_hash', action: ACTION.DONT_HASH },
];

/** Conditions each func accepts (ima_validate_rule). */
const FILE_CONDS =
  COND.FUNC | COND.MASK | COND.FSMAGIC | COND.UID | COND.FOWNER | COND.FSUUID | COND.INMASK | COND.EUID | COND.PCR | COND.FSNAME | COND.GID | COND.EGID | COND.FGROUP;
const FILE_FUNC_FLAGS = FILE_CONDS | COND.DIGSIG_REQUIRED | COND.PERMIT_DIRECTIO | COND.VALIDATE_ALGOS | COND.CHECK_BLACKLIST | COND.VERITY_REQUIRED;
const KERNEL_FUNC_FLAGS = FILE_CONDS | COND.DIGSIG_REQUIRED | COND.PERMIT_DIRECTIO | COND.MODSIG_ALLOWED | COND.CHECK_BLACKLIST | COND.VALIDATE_ALGOS;
const CMDLINE_FLAGS = COND.FUNC | COND.FSMAGIC | COND.UID | COND.FOWNER | COND.FSUUID | COND.EUID | COND.PCR | COND.FSNAME | COND.GID | COND.EGID | COND.FGROUP;

function findName<T extends { name: string }>(table: T[], name: string): T | null {
  for (let i = 0; i < table.length; i++) if (table[i].name === name) return table[i];
  return null;
}

/** kstrtoul: an optional '+', digits of the radix (hex may start 0x), nothing else. Null when it is not a number or beyond 2^53. */
function parseUnsigned(s: string, radix: number): number | null {
  let t = s;
  if (t.charAt(0) === '+') t = t.substring(1);
  if (radix === 16 && (t.substring(0, 2) === '0x' || t.substring(0, 2) === '0X')) t = t.substring(2);
  if (t === '' || t.length > 16) return null;
  const digits = radix === 16 ? '0123456789abcdef' : '0123456789';
  let v = 0;
  for (let i = 0; i < t.length; i++) {
    const d = digits.indexOf(t.charAt(i).toLowerCase());
    if (d < 0) return null;
    v = v * radix + d;
  }
  return v <= 9007199254740991 ? v : null;
}

/** An id (uid_t/gid_t) as the kernel accepts it: 0 … 2^32-2 (all ones is INVALID_UID). */
function parseId(s: string): number | null {
  const v = parseUnsigned(s, 10);
  return v === null || v >= 4294967295 ? null : v;
}

/** uuid_parse: 8-4-4-4-12 hex digits. */
function isUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== '-') return false;
    } else if ('0123456789abcdefABCDEF'.indexOf(c) < 0) return false;
  }
  return true;
}

/** Split on spaces and tabs (strsep(" \t")), dropping empty tokens. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charAt(i) : ' ';
    if (c === ' ' || c === '\t') {
      if (start >= 0) out.push(text.substring(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  return out;
}

/** The key of a token: the text before its first '=', '<' or '>' (the whole token when none). */
function keyOf(tok: string): string {
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charAt(i);
    if (c === '=' || c === '<' || c === '>') return tok.substring(0, i);
  }
  return tok;
}

/** `a|b|c` with no empty item (ima_alloc_rule_opt_list). */
function optList(s: string): string[] | null {
  if (s === '') return null;
  const items = s.split('|');
  for (let i = 0; i < items.length; i++) if (items[i] === '') return null;
  return items;
}

function appraiseAlgos(s: string): { algos: number; bad: string } {
  const names = s.split(',');
  let algos = 0;
  for (let i = 0; i < names.length; i++) {
    const idx = HASH_ALGO_NAMES.indexOf(names[i]);
    if (idx < 0 || idx >= HASH_ALGO_LAST) return { algos: 0, bad: 'unknown hash algorithm "' + names[i] + '"' };
    if (AVAILABLE_ALGOS.indexOf(idx) < 0) return { algos: 0, bad: 'unavailable hash algorithm "' + names[i] + '"' };
    algos |= 1 << idx;
  }
  return { algos: algos, bad: '' };
}

/** ima_validate_rule: the reason for the first check that fails ("" when the rule is valid) and the token keys at fault. */
function validate(r: Rule, at: string[]): string {
  if (r.action === 0) return 'no action (measure, dont_measure, appraise, dont_appraise, audit, hash or dont_hash)';
  if (r.action !== ACTION.MEASURE && (r.flags & COND.PCR) !== 0) {
    at.push('pcr');
    return 'pcr= is only valid in a measure rule';
  }
  if (r.action !== ACTION.APPRAISE && (r.flags & (COND.DIGSIG_REQUIRED | COND.MODSIG_ALLOWED | COND.CHECK_BLACKLIST | COND.VALIDATE_ALGOS)) !== 0) {
    at.push('appraise_type', 'appraise_algos');
    return 'appraise_type= and appraise_algos= are only valid in an appraise rule';
  }
  at.push('func');
  let allowed = 0;
  const f = r.func;
  if (f === FUNC.NONE || f === FUNC.FILE_CHECK || f === FUNC.MMAP_CHECK || f === FUNC.MMAP_CHECK_REQPROT || f === FUNC.BPRM_CHECK || f === FUNC.CREDS_CHECK || f === FUNC.POST_SETATTR || f === FUNC.FIRMWARE_CHECK || f === FUNC.POLICY_CHECK) {
    allowed = FILE_FUNC_FLAGS;
  } else if (f === FUNC.MODULE_CHECK || f === FUNC.KEXEC_KERNEL_CHECK || f === FUNC.KEXEC_INITRAMFS_CHECK) {
    allowed = KERNEL_FUNC_FLAGS;
  } else if (f === FUNC.KEXEC_CMDLINE) {
    if ((r.action & ~(ACTION.MEASURE | ACTION.DONT_MEASURE)) !== 0) return 'func=KEXEC_CMDLINE takes only measure or dont_measure';
    allowed = CMDLINE_FLAGS;
  } else if (f === FUNC.KEY_CHECK || f === FUNC.CRITICAL_DATA) {
    const name = f === FUNC.KEY_CHECK ? 'KEY_CHECK' : 'CRITICAL_DATA';
    if ((r.action & ~(ACTION.MEASURE | ACTION.DONT_MEASURE)) !== 0) return 'func=' + name + ' takes only measure or dont_measure';
    allowed = COND.FUNC | COND.UID | COND.GID | COND.PCR | (f === FUNC.KEY_CHECK ? COND.KEYRINGS : COND.LABEL);
    for (let i = 0; i < r.lsm.length; i++) if (r.lsm[i] !== '') return 'func=' + name + ' takes no LSM condition';
  } else if (f === FUNC.SETXATTR_CHECK) {
    if (r.action !== ACTION.APPRAISE) return 'func=SETXATTR_CHECK takes only appraise';
    if ((r.flags & COND.VALIDATE_ALGOS) === 0) return 'func=SETXATTR_CHECK needs appraise_algos=';
    allowed = COND.FUNC | COND.VALIDATE_ALGOS;
  } else return 'unknown func';
  const extra = r.flags & ~allowed;
  if (extra !== 0) {
    at.length = 0;
    const names = condNames(extra).split(', ');
    for (let i = 0; i < names.length; i++) at.push(names[i]);
  }
  if (extra !== 0) return condNames(extra) + (f === FUNC.NONE ? ' not valid in a rule without func=' : ' not valid with func=' + FUNC_NAMES[f]);
  if ((r.flags & COND.CHECK_BLACKLIST) !== 0 && (r.flags & COND.DIGSIG_REQUIRED) === 0) return 'check_blacklist needs a signature requirement';
  if (r.action === ACTION.APPRAISE && (r.flags & COND.VERITY_REQUIRED) !== 0 && (r.flags & COND.DIGSIG_REQUIRED) === 0) return 'an appraise rule with digest_type=verity needs appraise_type=sigv3';
  return '';
}

const COND_NAMES: { bit: number; name: string }[] = [
  { bit: COND.MASK | COND.INMASK, name: 'mask' },
  { bit: COND.FSMAGIC, name: 'fsmagic' },
  { bit: COND.FSNAME, name: 'fsname' },
  { bit: COND.FSUUID, name: 'fsuuid' },
  { bit: COND.UID, name: 'uid' },
  { bit: COND.EUID, name: 'euid' },
  { bit: COND.GID, name: 'gid' },
  { bit: COND.EGID, name: 'egid' },
  { bit: COND.FOWNER, name: 'fowner' },
  { bit: COND.FGROUP, name: 'fgroup' },
  { bit: COND.PCR, name: 'pcr' },
  { bit: COND.KEYRINGS, name: 'keyrings' },
  { bit: COND.LABEL, name: 'label' },
  { bit: COND.VALIDATE_ALGOS, name: 'appraise_algos' },
  { bit: COND.DIGSIG_REQUIRED | COND.MODSIG_ALLOWED, name: 'appraise_type' },
  { bit: COND.PERMIT_DIRECTIO, name: 'permit_directio' },
  { bit: COND.VERITY_REQUIRED, name: 'digest_type' },
];

function condNames(bits: number): string {
  const out: string[] = [];
  for (let i = 0; i < COND_NAMES.length; i++) if ((bits & COND_NAMES[i].bit) !== 0) out.push(COND_NAMES[i].name);
  return out.join(', ');
}

/** Parse one rule's text (the part of a line before any comment). Returns the rule or the error. */
export function parseRule(text: string, line: number): { rule: Rule; error: null } | { rule: null; error: PolicyError } {
  const r = newRule(line);
  const tokens = tokenize(text);
  function fail(token: string, reason: string): { rule: null; error: PolicyError } {
    return { rule: null, error: { line: line, token: token, reason: reason } };
  }
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t];
    if (tok === '') continue;
    if (tok.charAt(0) === '#') break;
    const act = findName(ACTION_BY_NAME, tok);
    if (act !== null) {
      if (r.action !== 0) return fail(tok, 'a rule has one action');
      r.action = act.action;
      continue;
    }
    if (tok === 'permit_directio') {
      r.flags |= COND.PERMIT_DIRECTIO;
      continue;
    }
    const key = keyOf(tok);
    if (key === tok || key === '') return fail(tok, 'unknown token');
    const op = tok.charAt(key.length);
    const val = tok.substring(key.length + 1);
    const opNum = op === '>' ? OP.GT : op === '<' ? OP.LT : OP.EQ;
    const idKey = key === 'uid' || key === 'euid' || key === 'gid' || key === 'egid' || key === 'fowner' || key === 'fgroup';
    if (op !== '=' && !idKey) return fail(tok, 'unknown token (only uid, euid, gid, egid, fowner and fgroup compare with < or >)');
    if (idKey) {
      const id = parseId(val);
      if (key === 'uid' || key === 'euid') {
        if ((r.flags & (COND.UID | COND.EUID)) !== 0) return fail(tok, 'uid and euid share one condition and may appear once');
        if (id === null) return fail(tok, 'expected a decimal user id below 4294967295');
        r.uid = id;
        r.uidOp = opNum;
        r.flags |= key === 'uid' ? COND.UID : COND.EUID;
      } else if (key === 'gid' || key === 'egid') {
        if ((r.flags & (COND.GID | COND.EGID)) !== 0) return fail(tok, 'gid and egid share one condition and may appear once');
        if (id === null) return fail(tok, 'expected a decimal group id below 4294967295');
        r.gid = id;
        r.gidOp = opNum;
        r.flags |= key === 'gid' ? COND.GID : COND.EGID;
      } else if (key === 'fowner') {
        if ((r.flags & COND.FOWNER) !== 0) return fail(tok, 'fowner may appear once');
        if (id === null) return fail(tok, 'expected a decimal user id below 4294967295');
        r.fowner = id;
        r.fownerOp = opNum;
        r.flags |= COND.FOWNER;
      } else {
        if ((r.flags & COND.FGROUP) !== 0) return fail(tok, 'fgroup may appear once');
        if (id === null) return fail(tok, 'expected a decimal group id below 4294967295');
        r.fgroup = id;
        r.fgroupOp = opNum;
        r.flags |= COND.FGROUP;
      }
      continue;
    }
    const lsmIdx = LSM_KEYS.indexOf(key);
    if (lsmIdx >= 0) {
      if (r.lsm[lsmIdx] !== '') return fail(tok, key + ' may appear once');
      if (val === '') return fail(tok, 'expected an LSM label');
      r.lsm[lsmIdx] = val;
      continue;
    }
    if (key === 'func') {
      if (r.func !== FUNC.NONE) return fail(tok, 'func may appear once');
      const f = findName(FUNC_BY_NAME, val);
      if (f === null) return fail(tok, 'unknown func (FILE_CHECK, MMAP_CHECK, MMAP_CHECK_REQPROT, BPRM_CHECK, CREDS_CHECK, MODULE_CHECK, FIRMWARE_CHECK, KEXEC_KERNEL_CHECK, KEXEC_INITRAMFS_CHECK, POLICY_CHECK, KEXEC_CMDLINE, KEY_CHECK, CRITICAL_DATA, SETXATTR_CHECK)');
      r.func = f.func;
      r.flags |= COND.FUNC;
    } else if (key === 'mask') {
      if (r.mask !== 0) return fail(tok, 'mask may appear once');
      const caret = val.charAt(0) === '^';
      const mm = findName(MASK_BY_NAME, caret ? val.substring(1) : val);
      if (mm === null) return fail(tok, 'expected MAY_EXEC, MAY_WRITE, MAY_READ or MAY_APPEND, with or without ^');
      r.mask = mm.bit;
      r.flags |= caret ? COND.INMASK : COND.MASK;
    } else if (key === 'fsmagic') {
      if (r.fsmagic !== 0) return fail(tok, 'fsmagic may appear once');
      const v = parseUnsigned(val, 16);
      if (v === null) return fail(tok, 'expected a hexadecimal filesystem magic');
      r.fsmagic = v;
      r.flags |= COND.FSMAGIC;
    } else if (key === 'fsname') {
      r.fsname = val;
      r.flags |= COND.FSNAME;
    } else if (key === 'fsuuid') {
      if (r.fsuuid !== '') return fail(tok, 'fsuuid may appear once');
      if (!isUuid(val)) return fail(tok, 'expected a UUID like 01234567-89ab-cdef-0123-456789abcdef');
      r.fsuuid = val.toLowerCase();
      r.flags |= COND.FSUUID;
    } else if (key === 'keyrings' || key === 'label') {
      if ((key === 'keyrings' ? r.keyrings : r.label) !== null) return fail(tok, key + ' may appear once');
      const list = optList(val);
      if (list === null) return fail(tok, 'expected names separated by |, none empty');
      if (key === 'keyrings') {
        r.keyrings = list;
        r.flags |= COND.KEYRINGS;
      } else {
        r.label = list;
        r.flags |= COND.LABEL;
      }
    } else if (key === 'digest_type') {
      if ((r.flags & COND.DIGSIG_REQUIRED) !== 0) return fail(tok, 'digest_type= must come before appraise_type=');
      if (val !== 'verity') return fail(tok, 'expected digest_type=verity');
      r.flags |= COND.VERITY_REQUIRED;
    } else if (key === 'appraise_type') {
      const verity = (r.flags & COND.VERITY_REQUIRED) !== 0;
      if (val === 'imasig') {
        if (verity) return fail(tok, 'digest_type=verity takes appraise_type=sigv3');
        r.flags |= COND.DIGSIG_REQUIRED | COND.CHECK_BLACKLIST;
      } else if (val === 'sigv3') {
        if (!verity) return fail(tok, 'appraise_type=sigv3 needs digest_type=verity before it');
        r.flags |= COND.DIGSIG_REQUIRED | COND.CHECK_BLACKLIST;
      } else if (val === 'imasig|modsig') {
        if (verity) return fail(tok, 'digest_type=verity takes appraise_type=sigv3');
        r.flags |= COND.DIGSIG_REQUIRED | COND.MODSIG_ALLOWED | COND.CHECK_BLACKLIST;
      } else return fail(tok, 'expected imasig, imasig|modsig or sigv3');
    } else if (key === 'appraise_flag') {
      // Deprecated: the kernel logs it and changes nothing.
    } else if (key === 'appraise_algos') {
      if (r.algos !== 0) return fail(tok, 'appraise_algos may appear once');
      const a = appraiseAlgos(val);
      if (a.algos === 0) return fail(tok, a.bad);
      r.algos = a.algos;
      r.flags |= COND.VALIDATE_ALGOS;
    } else if (key === 'pcr') {
      const neg = val.charAt(0) === '-';
      const v = parseUnsigned(neg ? val.substring(1) : val, 10);
      if (v === null || neg || v >= 64) return fail(tok, 'expected a PCR number from 0 to 63');
      r.pcr = v;
      r.flags |= COND.PCR;
    } else if (key === 'template') {
      if (r.action !== ACTION.MEASURE) return fail(tok, 'template= is only valid after measure');
      if (r.template !== '') return fail(tok, 'template may appear once');
      const t = lookupTemplate(val);
      if (t === null) return fail(tok, 'unknown template (a builtin name such as ima-ng, ima-sig, ima-buf, or a format such as d-ng|n-ng|sig)');
      r.template = templateDisplayName(t);
    } else return fail(tok, 'unknown token');
  }
  const at: string[] = [];
  const why = validate(r, at);
  if (why !== '') {
    let bad = tokens.length > 0 ? tokens[0] : '';
    for (let t = 0; t < tokens.length; t++) {
      if (tokens[t].charAt(0) === '#') break;
      if (at.indexOf(keyOf(tokens[t])) >= 0) {
        bad = tokens[t];
        break;
      }
    }
    return fail(bad, why);
  }
  return { rule: r, error: null };
}

/**
 * Parse a whole policy. Returns every rule, or the errors of its bad lines (at most 20) and no
 * rule: a policy with one bad line changes nothing, as a failed write to the kernel's policy file.
 */
export function parseRules(text: string, limits: ParseLimits): { rules: Rule[]; errors: PolicyError[] } {
  const rules: Rule[] = [];
  const errors: PolicyError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && errors.length < 20; i++) {
    let l = lines[i];
    if (l.length > 0 && l.charAt(l.length - 1) === '\r') l = l.substring(0, l.length - 1);
    if (l.length > limits.maxLine) {
      errors.push({ line: i + 1, token: l.substring(0, 32), reason: 'line longer than ' + limits.maxLine + ' characters' });
      continue;
    }
    let b = 0;
    while (b < l.length && (l.charAt(b) === ' ' || l.charAt(b) === '\t')) b++;
    const body = l.substring(b);
    if (body === '' || body.charAt(0) === '#') continue;
    const r = parseRule(body, i + 1);
    if (r.error !== null) errors.push(r.error);
    else if (limits.maxRules > 0 && rules.length >= limits.maxRules) {
      errors.push({ line: i + 1, token: tokenize(body)[0], reason: 'more than ' + limits.maxRules + ' rules' });
    } else rules.push(r.rule);
  }
  return errors.length > 0 ? { rules: [], errors: errors } : { rules: rules, errors: errors };
}
