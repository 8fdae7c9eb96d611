// One IMA policy rule as security/integrity/ima/ima_policy.c holds it (struct ima_rule_entry),
// and its read-back in the kernel's canonical form (ima_policy_show).
// Portable (Espruino profile).
import { FUNC } from '../../../protocol/messages.js';
import { HASH_ALGO_LAST, HASH_ALGO_NAMES } from '../ima/hash-algo.js';

/** Rule actions, with the kernel's values (ima.h). */
export const ACTION = {
  MEASURE: 0x1,
  DONT_MEASURE: 0x2,
  APPRAISE: 0x4,
  DONT_APPRAISE: 0x8,
  AUDIT: 0x40,
  HASH: 0x100,
  DONT_HASH: 0x200,
} as const;

/** The "do" actions; each has its "dont" at the next bit (AUDIT has none). */
export const DO_MASK = ACTION.MEASURE | ACTION.APPRAISE | ACTION.AUDIT | ACTION.HASH;

/** Condition flags, as the kernel's IMA_* entry flags. */
export const COND = {
  FUNC: 0x1,
  MASK: 0x2,
  FSMAGIC: 0x4,
  UID: 0x8,
  FOWNER: 0x10,
  FSUUID: 0x20,
  INMASK: 0x40,
  EUID: 0x80,
  PCR: 0x100,
  FSNAME: 0x200,
  KEYRINGS: 0x400,
  LABEL: 0x800,
  VALIDATE_ALGOS: 0x1000,
  GID: 0x2000,
  EGID: 0x4000,
  FGROUP: 0x8000,
  /** Options the kernel also keeps in entry->flags (IMA_NONACTION_FLAGS and friends). */
  DIGSIG_REQUIRED: 0x10000,
  PERMIT_DIRECTIO: 0x20000,
  MODSIG_ALLOWED: 0x40000,
  CHECK_BLACKLIST: 0x80000,
  VERITY_REQUIRED: 0x100000,
} as const;

/** Comparison of a uid/gid condition: `=`, `<` or `>`. */
export const OP = { EQ: 0, LT: 1, GT: 2 } as const;

/** The func names a rule reads back with (func_tokens[], the kernel's enum order). */
export const FUNC_NAMES: string[] = [
  'NONE',
  'FILE_CHECK',
  'MMAP_CHECK',
  'MMAP_CHECK_REQPROT',
  'BPRM_CHECK',
  'CREDS_CHECK',
  'POST_SETATTR',
  'MODULE_CHECK',
  'FIRMWARE_CHECK',
  'KEXEC_KERNEL_CHECK',
  'KEXEC_INITRAMFS_CHECK',
  'POLICY_CHECK',
  'KEXEC_CMDLINE',
  'KEY_CHECK',
  'CRITICAL_DATA',
  'SETXATTR_CHECK',
];
export const FUNC_COUNT = FUNC_NAMES.length;

/** LSM conditions, in the kernel's LSM_* order (which is also the read-back order). */
export const LSM_KEYS: string[] = ['obj_user', 'obj_role', 'obj_type', 'subj_user', 'subj_role', 'subj_type'];

export interface Rule {
  /** 1-based line in the policy text (0 for builtin rules). */
  line: number;
  action: number;
  /** COND bits. */
  flags: number;
  func: number;
  /** One MAY_* bit. */
  mask: number;
  fsmagic: number;
  fsname: string;
  /** Lowercase canonical UUID text, "" when absent. */
  fsuuid: string;
  /** uid= or euid= (one field, as the kernel has one). */
  uid: number;
  uidOp: number;
  gid: number;
  gidOp: number;
  fowner: number;
  fownerOp: number;
  fgroup: number;
  fgroupOp: number;
  pcr: number;
  /** template= as read back (a builtin's name, or a custom format), "" when absent. */
  template: string;
  keyrings: string[] | null;
  label: string[] | null;
  /** appraise_algos=: bit (1 << hash_algo) per algorithm. */
  algos: number;
  /** LSM conditions given (LSM_KEYS order, "" when absent). No LSM labels reach the engine, so such a rule never matches. */
  lsm: string[];
}

export function newRule(line: number): Rule {
  return {
    line: line,
    action: 0,
    flags: 0,
    func: FUNC.NONE,
    mask: 0,
    fsmagic: 0,
    fsname: '',
    fsuuid: '',
    uid: -1,
    uidOp: OP.EQ,
    gid: -1,
    gidOp: OP.EQ,
    fowner: -1,
    fownerOp: OP.EQ,
    fgroup: -1,
    fgroupOp: OP.EQ,
    pcr: 0,
    template: '',
    keyrings: null,
    label: null,
    algos: 0,
    lsm: ['', '', '', '', '', ''],
  };
}

export function hasLsm(r: Rule): boolean {
  for (let i = 0; i < r.lsm.length; i++) if (r.lsm[i] !== '') return true;
  return false;
}

const ACTION_SHOW: { bit: number; name: string }[] = [
  { bit: ACTION.MEASURE, name: 'measure' },
  { bit: ACTION.DONT_MEASURE, name: 'dont_measure' },
  { bit: ACTION.APPRAISE, name: 'appraise' },
  { bit: ACTION.DONT_APPRAISE, name: 'dont_appraise' },
  { bit: ACTION.AUDIT, name: 'audit' },
  { bit: ACTION.HASH, name: 'hash' },
  { bit: ACTION.DONT_HASH, name: 'dont_hash' },
];

const MASK_SHOW: { bit: number; name: string }[] = [
  { bit: 0x1, name: 'MAY_EXEC' },
  { bit: 0x2, name: 'MAY_WRITE' },
  { bit: 0x4, name: 'MAY_READ' },
  { bit: 0x8, name: 'MAY_APPEND' },
];

function opToken(name: string, op: number, v: number): string {
  return name + (op === OP.GT ? '>' : op === OP.LT ? '<' : '=') + v + ' ';
}

function algosText(algos: number): string {
  const names: string[] = [];
  for (let i = 0; i < HASH_ALGO_LAST; i++) if ((algos & (1 << i)) !== 0) names.push(HASH_ALGO_NAMES[i]);
  return names.join(',');
}

/**
 * One rule as the kernel reads it back from <securityfs>/ima/policy (ima_policy_show): canonical
 * names, a fixed token order, every token followed by a space. Rules with an LSM condition read
 * back as nothing, as the kernel skips rules whose LSM labels are inactive.
 */
export function showRule(r: Rule): string {
  if (hasLsm(r)) return '';
  let s = '';
  for (let i = 0; i < ACTION_SHOW.length; i++) if ((r.action & ACTION_SHOW[i].bit) !== 0) s += ACTION_SHOW[i].name;
  s += ' ';
  if ((r.flags & COND.FUNC) !== 0) s += 'func=' + (r.func > 0 && r.func < FUNC_COUNT ? FUNC_NAMES[r.func] : String(r.func)) + ' ';
  if ((r.flags & (COND.MASK | COND.INMASK)) !== 0) {
    const caret = (r.flags & COND.MASK) !== 0 ? '' : '^';
    for (let i = 0; i < MASK_SHOW.length; i++) if ((r.mask & MASK_SHOW[i].bit) !== 0) s += 'mask=' + caret + MASK_SHOW[i].name;
    s += ' ';
  }
  if ((r.flags & COND.FSMAGIC) !== 0) s += 'fsmagic=0x' + r.fsmagic.toString(16) + ' ';
  if ((r.flags & COND.FSNAME) !== 0) s += 'fsname=' + r.fsname + ' ';
  if ((r.flags & COND.KEYRINGS) !== 0) s += 'keyrings=' + (r.keyrings as string[]).join('|') + ' ';
  if ((r.flags & COND.LABEL) !== 0) s += 'label=' + (r.label as string[]).join('|') + ' ';
  if ((r.flags & COND.PCR) !== 0) s += 'pcr=' + r.pcr + ' ';
  if ((r.flags & COND.FSUUID) !== 0) s += 'fsuuid=' + r.fsuuid + ' ';
  if ((r.flags & COND.UID) !== 0) s += opToken('uid', r.uidOp, r.uid);
  if ((r.flags & COND.EUID) !== 0) s += opToken('euid', r.uidOp, r.uid);
  if ((r.flags & COND.GID) !== 0) s += opToken('gid', r.gidOp, r.gid);
  if ((r.flags & COND.EGID) !== 0) s += opToken('egid', r.gidOp, r.gid);
  if ((r.flags & COND.FOWNER) !== 0) s += opToken('fowner', r.fownerOp, r.fowner);
  if ((r.flags & COND.FGROUP) !== 0) s += opToken('fgroup', r.fgroupOp, r.fgroup);
  if ((r.flags & COND.VALIDATE_ALGOS) !== 0) s += 'appraise_algos=' + algosText(r.algos) + ' ';
  if (r.template !== '') s += 'template=' + r.template + ' ';
  if ((r.flags & COND.DIGSIG_REQUIRED) !== 0) {
    if ((r.flags & COND.VERITY_REQUIRED) !== 0) s += 'appraise_type=sigv3 ';
    else if ((r.flags & COND.MODSIG_ALLOWED) !== 0) s += 'appraise_type=imasig|modsig ';
    else s += 'appraise_type=imasig ';
  }
  if ((r.flags & COND.VERITY_REQUIRED) !== 0) s += 'digest_type=verity ';
  if ((r.flags & COND.PERMIT_DIRECTIO) !== 0) s += 'permit_directio ';
  return s + '\n';
}
