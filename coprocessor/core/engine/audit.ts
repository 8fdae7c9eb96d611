// Integrity audit records in the kernel's text format (ima-formats §4), as the host's audit log
// would show them: `type=<n> msg=audit(<sec>.<ms>:<serial>): <body>`.
//
// Bodies follow security/integrity/integrity_audit.c and ima_api.c ima_audit_measurement():
//   1800/1804: pid= uid= auid= ses= op=<op> cause=<cause> comm=<u> name=<u> mnt_ns= dev=<u> ino= res= errno=
//   1805:      file=<u> hash="<algo>:<hex>" pid= auid= uid= gid= euid= suid= egid= sgid= ses= comm=<u> mnt_ns=
// where <u> is audit_log_untrustedstring: "value" quoted, or uppercase hex when any byte is '"',
// below 0x21 or above 0x7e. op= and cause= are printed bare, with "%s", as current kernels do
// (kernels before v5.x quoted them through audit_log_string).
// What differs from a kernel record, because the engine is not in the kernel:
// - mnt_ns=<inode> names the Linux mount namespace the event came from (the kernel has no such field);
// - dev= is "<major>:<minor>" of st_dev, since the superblock's s_id is not known outside the kernel;
// - subj= (LSM label) and the task fields the host does not send (ppid, fsuid, fsgid, tty, exe) are absent.
// Portable (Espruino profile).
import { ProcInfo, FileInfo } from '../../../protocol/messages.js';
import { utf8Encode } from '../../../protocol/bytes.js';

export const AUDIT_INTEGRITY_DATA = 1800;
export const AUDIT_INTEGRITY_PCR = 1804;
export const AUDIT_INTEGRITY_RULE = 1805;

const HEX_UPPER = '0123456789ABCDEF';

/** audit_log_untrustedstring (kernel/audit.c). */
export function untrusted(s: string): string {
  const b = utf8Encode(s);
  let control = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x22 || c < 0x21 || c > 0x7e) {
      control = true;
      break;
    }
  }
  if (!control) return '"' + s + '"';
  let h = '';
  for (let i = 0; i < b.length; i++) h += HEX_UPPER[b[i] >> 4] + HEX_UPPER[b[i] & 15];
  return h;
}

function pad3(n: number): string {
  return n < 10 ? '00' + n : n < 100 ? '0' + n : '' + n;
}

/** `msg=audit(<sec>.<ms>:<serial>):` from the platform clock, as auditd prints the kernel's stamp. */
export function stamp(nowMs: number, serial: number): string {
  const ms = Math.floor(nowMs) % 1000;
  return 'msg=audit(' + Math.floor(nowMs / 1000) + '.' + pad3(ms) + ':' + serial + '):';
}

/** st_dev as "major:minor" (the kernel's new_decode_dev). */
export function devName(dev: number): string {
  const major = (dev & 0xfff00) >>> 8;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return major + ':' + minor;
}

/** INTEGRITY_DATA (appraisal) and INTEGRITY_PCR (violation) records: integrity_audit_message(). */
export function integrityMessage(type: number, head: string, proc: ProcInfo, file: FileInfo, op: string, cause: string, success: boolean): string {
  return (
    'type=' + type + ' ' + head +
    ' pid=' + proc.pid + ' uid=' + proc.uid + ' auid=' + proc.auid + ' ses=' + proc.ses +
    ' op=' + op + ' cause=' + cause +
    ' comm=' + untrusted(proc.comm) + ' name=' + untrusted(file.path) +
    ' mnt_ns=' + proc.mntns +
    ' dev=' + untrusted(devName(file.dev)) + ' ino=' + file.ino +
    ' res=' + (success ? 1 : 0) + ' errno=0'
  );
}

/** INTEGRITY_RULE for the policy's `audit` action: ima_audit_measurement(). */
export function integrityRule(head: string, proc: ProcInfo, file: FileInfo, algoName: string, digestHex: string): string {
  return (
    'type=' + AUDIT_INTEGRITY_RULE + ' ' + head +
    ' file=' + untrusted(file.path) + ' hash="' + algoName + ':' + digestHex + '"' +
    ' pid=' + proc.pid + ' auid=' + proc.auid + ' uid=' + proc.uid + ' gid=' + proc.gid +
    ' euid=' + proc.euid + ' suid=' + proc.suid + ' egid=' + proc.egid + ' sgid=' + proc.sgid +
    ' ses=' + proc.ses + ' comm=' + untrusted(proc.comm) + ' mnt_ns=' + proc.mntns
  );
}
