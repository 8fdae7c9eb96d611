// The kernel's builtin policies (ima_policy.c: dont_measure_rules, original_measurement_rules,
// default_measurement_rules, default_appraise_rules, secure_boot_rules, critical_data_rules),
// selected as with the ima_policy= boot parameter and put in ima_init_policy's order.
// Portable (Espruino profile).
import { parseRule, PolicyError } from './parse.js';
import { Rule } from './rule.js';

const DONT_MEASURE = [
  'dont_measure fsmagic=0x9fa0',
  'dont_measure fsmagic=0x62656572',
  'dont_measure fsmagic=0x64626720',
  'dont_measure fsmagic=0x1021994 func=FILE_CHECK',
  'dont_measure fsmagic=0x1cd1',
  'dont_measure fsmagic=0x42494e4d',
  'dont_measure fsmagic=0x73636673',
  'dont_measure fsmagic=0xf97cff8c',
  'dont_measure fsmagic=0x43415d53',
  'dont_measure fsmagic=0x27e0eb',
  'dont_measure fsmagic=0x63677270',
  'dont_measure fsmagic=0x6e736673',
  'dont_measure fsmagic=0xde5e81e4',
];

const ORIGINAL_MEASUREMENT = [
  'measure func=MMAP_CHECK mask=MAY_EXEC',
  'measure func=BPRM_CHECK mask=MAY_EXEC',
  'measure func=FILE_CHECK mask=MAY_READ uid=0',
  'measure func=MODULE_CHECK',
  'measure func=FIRMWARE_CHECK',
];

const DEFAULT_MEASUREMENT = [
  'measure func=MMAP_CHECK mask=MAY_EXEC',
  'measure func=BPRM_CHECK mask=MAY_EXEC',
  'measure func=FILE_CHECK mask=^MAY_READ euid=0',
  'measure func=FILE_CHECK mask=^MAY_READ uid=0',
  'measure func=MODULE_CHECK',
  'measure func=FIRMWARE_CHECK',
  'measure func=POLICY_CHECK',
];

const DEFAULT_APPRAISE = [
  'dont_appraise fsmagic=0x9fa0',
  'dont_appraise fsmagic=0x62656572',
  'dont_appraise fsmagic=0x64626720',
  'dont_appraise fsmagic=0x1021994',
  'dont_appraise fsmagic=0x858458f6',
  'dont_appraise fsmagic=0x1cd1',
  'dont_appraise fsmagic=0x42494e4d',
  'dont_appraise fsmagic=0x73636673',
  'dont_appraise fsmagic=0xf97cff8c',
  'dont_appraise fsmagic=0x43415d53',
  'dont_appraise fsmagic=0x6e736673',
  'dont_appraise fsmagic=0xde5e81e4',
  'dont_appraise fsmagic=0x27e0eb',
  'dont_appraise fsmagic=0x63677270',
  // CONFIG_IMA_WRITE_POLICY
  'appraise func=POLICY_CHECK appraise_type=imasig',
  'appraise fowner=0',
];

const SECURE_BOOT = [
  'appraise func=MODULE_CHECK appraise_type=imasig',
  'appraise func=FIRMWARE_CHECK appraise_type=imasig',
  'appraise func=KEXEC_KERNEL_CHECK appraise_type=imasig',
  'appraise func=POLICY_CHECK appraise_type=imasig',
];

const CRITICAL_DATA = ['measure func=CRITICAL_DATA'];

export const BUILTIN_NAMES = ['tcb', 'ima_tcb', 'appraise_tcb', 'secure_boot', 'critical_data'];

function rulesOf(lines: string[]): Rule[] {
  const out: Rule[] = [];
  for (let i = 0; i < lines.length; i++) {
    const r = parseRule(lines[i], 0);
    // The tables above are constants checked by the tests; a failure here is a bug in them.
    if (r.rule === null) throw new Error('builtin rule "' + lines[i] + '": ' + (r.error as PolicyError).reason);
    // The kernel's builtin appraise rules carry the signature requirement without check_blacklist.
    out.push(r.rule);
  }
  return out;
}

/**
 * The rules `ima_policy="a|b"` (names separated by | or spaces: tcb, appraise_tcb, secure_boot,
 * critical_data; ima_tcb for the original measurement rules) puts in force, in the kernel's order.
 * Returns null and the unknown name when one is not a builtin policy.
 */
export function builtinRules(names: string): { rules: Rule[]; unknown: string } {
  const parts = names.split('|').join(' ').split(' ');
  let tcb = false;
  let original = false;
  let appraise = false;
  let secure = false;
  let critical = false;
  for (let i = 0; i < parts.length; i++) {
    const n = parts[i];
    if (n === '') continue;
    if (n === 'tcb') tcb = true;
    else if (n === 'ima_tcb') original = true;
    else if (n === 'appraise_tcb') appraise = true;
    else if (n === 'secure_boot') secure = true;
    else if (n === 'critical_data') critical = true;
    else return { rules: [], unknown: n };
  }
  let lines: string[] = [];
  if (tcb || original) lines = lines.concat(DONT_MEASURE, original ? ORIGINAL_MEASUREMENT : DEFAULT_MEASUREMENT);
  if (secure) lines = lines.concat(SECURE_BOOT);
  if (appraise) lines = lines.concat(DEFAULT_APPRAISE);
  if (critical) lines = lines.concat(CRITICAL_DATA);
  return { rules: rulesOf(lines), unknown: '' };
}
