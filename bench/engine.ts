// `npm run bench:engine`: the Node engine in process, one core.
// - events/s for measure + appraise (imasig, RSA-2048) with a warm cache, every namespace on the
//   path measuring and appraising, at namespace depth 1, 4 and 16; and the cold first pass;
// - evaluation cost as the policy grows from 10 to 1,000 rules of other funcs;
// - memory per 100,000 measurement entries in one namespace's list.
// Prints figures; asserts nothing.
import { constants, createHash, generateKeyPairSync, privateEncrypt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_OP, FileEvent, FileInfo, FUNC, MAY, MSG, ProcInfo } from '../protocol/messages.js';
import { createEngine } from '../coprocessor/core/engine/engine.js';
import { createNodePlatform } from '../coprocessor/node/platform.js';

const FILES = 2000;
const BATCH = 64;

function certificate(): { key: ReturnType<typeof generateKeyPairSync>['privateKey']; cert: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'imans-bench-'));
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'k.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  execFileSync('openssl', ['req', '-new', '-x509', '-key', join(dir, 'k.pem'), '-out', join(dir, 'c.der'), '-outform', 'DER', '-days', '1', '-subj', '/CN=bench', '-addext', 'subjectKeyIdentifier=hash'], { stdio: 'pipe' });
  return { key: pair.privateKey, cert: new Uint8Array(readFileSync(join(dir, 'c.der'))) };
}

/** signature_v2_hdr + RSA PKCS#1 v1.5 over the sha256 DigestInfo, as evmctl ima_sign writes it. */
function imaSig(key: ReturnType<typeof generateKeyPairSync>['privateKey'], keyid: number, digest: Uint8Array): Uint8Array {
  const info = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), digest]);
  const sig = privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, info);
  const hdr = Buffer.alloc(9);
  hdr[0] = 3;
  hdr[1] = 2;
  hdr[2] = 4;
  hdr.writeUInt32BE(keyid, 3);
  hdr.writeUInt16BE(sig.length, 7);
  return new Uint8Array(Buffer.concat([hdr, sig]));
}

function files(n: number, sign: ((d: Uint8Array) => Uint8Array) | null, inoBase: number): FileInfo[] {
  const out: FileInfo[] = [];
  for (let i = 0; i < n; i++) {
    const digest = new Uint8Array(createHash('sha256').update('bench file ' + inoBase + ' ' + i).digest());
    out.push({ path: '/usr/lib/bench/file-' + i + '.so', dev: 2049, ino: inoBase + i, fsmagic: 0xef53, fsname: 'ext4', fsuuid: '', uid: 0, gid: 0, mode: 0o100755, size: 4096, digests: [{ algo: 4, digest }], xattr: sign ? sign(digest) : null });
  }
  return out;
}

function proc(mntns: number): ProcInfo {
  return { pid: 1000, mntns, userns: 0, uid: 0, euid: 0, suid: 0, gid: 0, egid: 0, sgid: 0, auid: 4294967295, ses: 4294967295, comm: 'bench' };
}

function control(engine: ReturnType<typeof createEngine>, op: number, args: { [k: string]: unknown }): any {
  const r = engine.handle({ type: MSG.CONTROL, req: 1, op, args })[0];
  if (r.type !== MSG.RESULT) throw new Error(JSON.stringify(r));
  return r.value;
}

function run(engine: ReturnType<typeof createEngine>, fs: FileInfo[], mntns: number, rounds: number): { events: number; ms: number; denied: number } {
  let id = 1;
  let denied = 0;
  const p = proc(mntns);
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < fs.length; i += BATCH) {
      const events: FileEvent[] = [];
      for (let j = i; j < i + BATCH && j < fs.length; j++) events.push({ id: id++, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: p, file: fs[j] });
      const v = engine.handle({ type: MSG.EVENT, events })[0];
      if (v.type !== MSG.VERDICT) throw new Error(JSON.stringify(v));
      for (const x of v.verdicts) if (x.code & 1) denied++;
      n += events.length;
    }
  }
  return { events: n, ms: Number(process.hrtime.bigint() - t0) / 1e6, denied };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const { key, cert } = certificate();
const POLICY = 'measure func=FILE_CHECK template=ima-sig\nappraise func=FILE_CHECK appraise_type=imasig\n';

// First, while the heap holds nothing else.
console.log('memory per 100,000 measurement entries (one namespace, ima-ng, sha1 + sha256 banks)');
{
  const gc = (globalThis as { gc?: () => void }).gc;
  // The journal goes to a state directory, as on a real Node engine, so RAM holds only the list.
  const platform = createNodePlatform({ stateDir: mkdtempSync(join(tmpdir(), 'imans-bench-state-')) });
  const engine = createEngine(platform);
  control(engine, CONTROL_OP.POLICY_LOAD, { ns: 0, text: 'measure func=FILE_CHECK\n' });
  if (gc) {
    gc();
    gc();
  }
  const m0 = process.memoryUsage();
  for (let chunk = 0; chunk < 100; chunk++) {
    const fs = files(1000, null, 50000000 + chunk * 1000);
    for (const f of fs) f.path = '/usr/share/doc/package-' + (f.ino % 997) + '/file-' + f.ino + '.txt';
    run(engine, fs, 1, 1);
  }
  if (gc) {
    gc();
    gc();
  }
  const m1 = process.memoryUsage();
  const count = control(engine, CONTROL_OP.AGGREGATE, { ns: 0 }).count;
  const bytes = m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers);
  console.log(`  ${fmt(count)} entries: ${(bytes / 1048576).toFixed(1)} MB (the whole engine: list, and its table of up to 8,192 recent file versions; heap + array buffers${gc ? ', after gc' : ', no gc: run with node --expose-gc for a tighter figure'})`);
}

console.log('measure + appraise (imasig, RSA-2048), every namespace on the path measuring and appraising, batches of ' + BATCH);
for (const depth of [1, 4, 16]) {
  const platform = createNodePlatform({ limits: { maxNamespaces: 64 } });
  const engine = createEngine(platform);
  const keyid = control(engine, CONTROL_OP.KEYS_ADD, { ns: 0, cert }).keyid;
  control(engine, CONTROL_OP.POLICY_LOAD, { ns: 0, text: POLICY });
  let parent = 0;
  for (let d = 1; d < depth; d++) {
    parent = control(engine, CONTROL_OP.NS_CREATE, { mntns: 4026532000 + d, parent }).ns;
    control(engine, CONTROL_OP.POLICY_LOAD, { ns: parent, text: POLICY });
  }
  const mntns = depth === 1 ? 1 : 4026532000 + depth - 1;
  const fs = files(FILES, (d) => imaSig(key, keyid, d), depth * 100000);
  const cold = run(engine, fs, mntns, 1);
  run(engine, fs, mntns, 2);
  const warm = run(engine, fs, mntns, 40);
  if (cold.denied || warm.denied) throw new Error('bench files were denied');
  const entries = control(engine, CONTROL_OP.AGGREGATE, { ns: 0 }).count;
  console.log(`  depth ${String(depth).padStart(2)}: warm ${fmt((warm.events / warm.ms) * 1000).padStart(9)} events/s   cold (first pass: ${depth} verifications and measurements per file) ${fmt((cold.events / cold.ms) * 1000).padStart(7)} events/s   (host list ${entries} entries)`);
}

console.log('policy growth: warm events/s with N extra rules of other funcs before the matching ones (depth 1)');
for (const extra of [10, 100, 1000]) {
  const platform = createNodePlatform({ limits: { maxRules: 2000 } });
  const engine = createEngine(platform);
  const keyid = control(engine, CONTROL_OP.KEYS_ADD, { ns: 0, cert }).keyid;
  const rules: string[] = [];
  for (let i = 0; i < extra; i++) rules.push((i % 2 ? 'measure func=BPRM_CHECK uid=' : 'appraise func=MMAP_CHECK fowner=') + (1000 + i));
  control(engine, CONTROL_OP.POLICY_LOAD, { ns: 0, text: rules.join('\n') + '\n' + POLICY });
  const fs = files(FILES, (d) => imaSig(key, keyid, d), 7000000 + extra);
  run(engine, fs, 1, 3);
  const warm = run(engine, fs, 1, 30);
  console.log(`  ${String(extra).padStart(5)} rules of other funcs: ${fmt((warm.events / warm.ms) * 1000).padStart(9)} events/s`);
}

