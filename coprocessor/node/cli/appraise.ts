// `imans appraise FILE [--cert CERT]... [--reference LIST] [--policy FILE] [--json]`: appraises one
// file, its content and its security.ima, in an in-process engine whose host namespace holds the
// given certificates and reference digests, under `appraise func=FILE_CHECK appraise_type=imasig`
// unless a policy is given. The file goes through the engine as a FILE_CHECK read event of this
// process, exactly as the bridge would send it. Exit 0 when it passes, 1 when it fails or no
// appraise rule matched ("not appraised" is not a pass), 2 on usage errors.
import { readFileSync, statSync } from 'node:fs';
import { APPRAISAL, CONTROL_OP, FileEvent, FileInfo, FUNC, MAY, Message, MSG, Verdict } from '../../../protocol/messages.js';
import { parse, runCommand, UsageError } from '../../../cli/args.js';
import { createEngine } from '../../core/engine/engine.js';
import { kernelCause } from '../../core/engine/appraise.js';
import { parseImaXattr } from '../../core/ima/xattr.js';
import { bankForWidth, hashAlgoName } from '../../core/ima/hash-algo.js';
import { createNodePlatform } from '../platform.js';
import { readImaXattr } from '../xattr.js';
import { nodeHash } from '../hash.js';

const HELP = `usage: imans appraise FILE [--cert CERT]... [--reference LIST] [--policy FILE] [--json]

Appraises FILE (its content and its security.ima) as IMA would, in an in-process engine.
  --cert CERT       X.509 certificate (DER or PEM) for the keyring; repeatable
  --reference LIST  reference digests, sha256sum style: "<hex>  <path>" per line
  --policy FILE     IMA policy to appraise under (default: appraise func=FILE_CHECK appraise_type=imasig)
  --json            one JSON object on stdout: {file, status, cause, reason, xattr, algo, keyid, audit}
security.ima is read with getfattr (the attr package); Node has no xattr call.
"cause" is the kernel's word; "reason" is the engine's, which says unknown-key where the kernel
says invalid-signature for a keyid no certificate has.
Exit status: 0 passed, 1 failed or not appraised, 2 usage error.`;

const DEFAULT_POLICY = 'appraise func=FILE_CHECK appraise_type=imasig\n';

/** sha256sum-style lines → [algo, digest] pairs; the digest width names the algorithm. */
export function parseReferenceList(text: string, name: string): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line[0] === '#') continue;
    const m = /^([0-9a-fA-F]+)(\s+\*?(.*))?$/.exec(line);
    const algo = m ? bankForWidth(m[1].length / 2) : -1;
    if (!m || m[1].length % 2 !== 0 || algo < 0) throw new UsageError(`${name}:${i + 1}: expected "<hex digest>  <path>" with a sha1, sha256, sha384 or sha512 digest, got "${line.slice(0, 60)}"`);
    out.push([algo, new Uint8Array(Buffer.from(m[1], 'hex'))]);
  }
  return out;
}

function expectResult(replies: Message[], what: string): unknown {
  const r = replies[0];
  if (r && r.type === MSG.RESULT) return r.value;
  if (r && r.type === MSG.ERROR) {
    const e = new Error(`${what}: ${r.text}`) as Error & { code: string };
    e.code = 'ENGINE_' + r.code;
    throw e;
  }
  throw new Error(`${what}: unexpected reply`);
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('appraise', async () => {
    const a = parse(argv, { cert: { type: 'string', multiple: true }, reference: { type: 'string' }, policy: { type: 'string' }, json: { type: 'boolean' } }, HELP);
    if (a === null) return 0;
    if (a.positionals.length !== 1) throw new UsageError('expects exactly one FILE\n\n' + HELP);
    const path = a.positionals[0];
    const content = readFileSync(path);
    const st = statSync(path);
    const xattr = readImaXattr(path);
    const summary = xattr === null ? null : parseImaXattr(xattr);
    const algo = summary === null ? 4 : summary.algo;
    const digests = [{ algo: 4, digest: nodeHash(4, content)! }];
    const extra = algo !== 4 ? nodeHash(algo, content) : null;
    if (extra) digests.push({ algo, digest: extra });
    const file: FileInfo = { path, dev: st.dev, ino: st.ino, fsmagic: 0, fsname: '', fsuuid: '', uid: st.uid, gid: st.gid, mode: st.mode, size: st.size, digests, xattr };

    const platform = createNodePlatform();
    const engine = createEngine(platform);
    let req = 1;
    const control = (op: number, args: { [k: string]: unknown }, what: string) => expectResult(engine.handle({ type: MSG.CONTROL, req: req++, op, args }), what);
    for (const c of (a.values.cert as string[] | undefined) ?? []) control(CONTROL_OP.KEYS_ADD, { ns: 0, cert: new Uint8Array(readFileSync(c)) }, `certificate ${c}`);
    const ref = a.values.reference as string | undefined;
    if (ref) control(CONTROL_OP.REFS_ADD, { ns: 0, digests: parseReferenceList(readFileSync(ref, 'utf8'), ref) }, `reference list ${ref}`);
    const policyFile = a.values.policy as string | undefined;
    control(CONTROL_OP.POLICY_LOAD, { ns: 0, text: policyFile ? readFileSync(policyFile, 'utf8') : DEFAULT_POLICY }, `policy ${policyFile ?? '(default)'}`);

    const proc = { pid: process.pid, mntns: 0, userns: 0, uid: process.getuid?.() ?? 0, euid: process.geteuid?.() ?? 0, suid: process.geteuid?.() ?? 0, gid: process.getgid?.() ?? 0, egid: process.getegid?.() ?? 0, sgid: process.getegid?.() ?? 0, auid: 4294967295, ses: 4294967295, comm: 'imans' };
    const ev: FileEvent = { id: 1, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc, file };
    const replies = engine.handle({ type: MSG.EVENT, events: [ev] });
    const batch = replies[0];
    if (!batch || batch.type !== MSG.VERDICT) throw new Error('engine: no verdict (' + JSON.stringify(replies[0]) + ')');
    const v: Verdict = batch.verdicts[0];
    const st0 = v.statuses[0];
    const status = st0.appraisal === APPRAISAL.PASS ? 'pass' : st0.appraisal === APPRAISAL.FAIL ? 'fail' : 'not-appraised';
    const cause = st0.cause ? kernelCause(st0.cause) : '';
    const out = {
      file: path,
      status,
      cause,
      reason: st0.cause,
      xattr: summary === null ? 'none' : summary.kind,
      algo: hashAlgoName(algo),
      keyid: summary !== null && summary.kind !== 'digest' && summary.keyid !== 0 ? summary.keyid.toString(16).padStart(8, '0') : null,
      audit: v.audit,
    };
    if (a.values.json) process.stdout.write(JSON.stringify(out) + '\n');
    else {
      let line = `${path}: ${status}`;
      if (cause) line += ` (${cause}${st0.cause !== cause ? ': ' + st0.cause + (out.keyid ? ' ' + out.keyid : '') : ''})`;
      process.stdout.write(line + '\n');
    }
    platform.close();
    return status === 'pass' ? 0 : 1;
  });
}
