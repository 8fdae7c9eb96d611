// Recursive measurement and appraisal along the namespace tree: an event in a namespace reaches
// every ancestor whose own policy asks for it; every appraising namespace must pass the file
// with its own keys (a child tightens, never loosens); keys and references count for the
// namespace that holds them and its descendants only.
import { beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { APPRAISAL, CONTROL_OP, EVENT_FLAG, FileInfo, FUNC, MAY, QUERY_OP, VERDICT } from '../protocol/messages.js';
import { evmSign, getXattr, makeKey, tempDir, TestKey } from './engine-keys.js';
import { fileInfo, Harness, proc } from './engine-harness.js';

const dir = tempDir('imans-rec-');
let k1: TestKey;
let k2: TestKey;
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const lines = (h: Harness, ns: number) => text(h.list(ns)).trimEnd().split('\n');

function write(name: string, content: string, key?: TestKey): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  if (key) evmSign(f, key, 'sha256');
  return f;
}

beforeAll(() => {
  k1 = makeKey(dir, 'rsa', 'k1');
  k2 = makeKey(dir, 'ecdsa-p256', 'k2');
});

describe('recursive measurement', () => {
  it('a grandchild event lands in each ancestor list whose policy measures it, with that policy’s template and PCR', () => {
    const h = new Harness();
    const child = h.nsCreate(100);
    const grand = h.nsCreate(101, child);
    h.policy(0, 'measure func=FILE_CHECK\n');
    h.policy(child, 'measure func=BPRM_CHECK\n');
    h.policy(grand, 'measure func=FILE_CHECK template=ima-sig pcr=11\n');
    const f = write('rec1', 'recursive one\n', k1);
    const v = h.open(f, 101);
    expect(v.code & VERDICT.MEASURED).toBe(VERDICT.MEASURED);
    expect(v.statuses.map((s) => [s.ns, s.measured])).toEqual([
      [grand, true],
      [child, false],
      [0, true],
    ]);
    const sha = createHash('sha256').update('recursive one\n').digest('hex');
    const sig = Buffer.from(getXattr(f)!).toString('hex');
    const g = lines(h, grand);
    expect(g).toHaveLength(2);
    expect(g[0]).toMatch(/^10 [0-9a-f]{40} ima-ng sha256:0{64} boot_aggregate$/);
    expect(g[1]).toMatch(new RegExp(`^11 [0-9a-f]{40} ima-sig sha256:${sha} ${f} ${sig}$`));
    expect(lines(h, child)).toHaveLength(1);
    const host = lines(h, 0);
    expect(host[1]).toMatch(new RegExp(`^10 [0-9a-f]{40} ima-ng sha256:${sha} ${f}$`));
    // the host's list does not depend on which namespace the event came from
    const h2 = new Harness();
    h2.policy(0, 'measure func=FILE_CHECK\n');
    h2.open(f, 1);
    expect(h2.list(0, 'binary')).toEqual(h.list(0, 'binary'));
  });

  it('an ancestor measures whatever the child’s own policy says, and the other way round', () => {
    const h = new Harness();
    const child = h.nsCreate(200);
    h.policy(0, 'measure func=FILE_CHECK\n');
    h.policy(child, 'dont_measure func=FILE_CHECK\n');
    const f = write('rec2', 'dont measure me here\n');
    const v = h.open(f, 200);
    expect(v.statuses).toEqual([
      { ns: child, measured: false, appraisal: APPRAISAL.NOT_APPRAISED, cause: '' },
      { ns: 0, measured: true, appraisal: APPRAISAL.NOT_APPRAISED, cause: '' },
    ]);
    expect(h.aggregate(child).count).toBe(1);
    expect(h.aggregate(0).count).toBe(2);
    h.policy(0, 'dont_measure func=FILE_CHECK\n');
    h.policy(child, 'measure func=FILE_CHECK\n');
    h.open(write('rec2b', 'only the child\n'), 200);
    expect(h.aggregate(child).count).toBe(2);
    expect(h.aggregate(0).count).toBe(2);
  });

  it('a file version is measured once; a changed file is measured again', () => {
    const h = new Harness();
    h.policy(0, 'measure func=FILE_CHECK\n');
    const f = write('rec3', 'version 1\n');
    h.open(f, 1);
    h.open(f, 1);
    expect(h.aggregate(0).count).toBe(2);
    appendFileSync(f, 'version 2\n');
    h.open(f, 1);
    expect(h.aggregate(0).count).toBe(3);
    expect(h.query(QUERY_OP.STATS, {}).measurements).toBe(2);
  });

  it('a new policy measures again what the old one measured, with its own template', () => {
    const h = new Harness();
    const deep = h.nsCreate(350);
    h.policy(0, 'measure func=FILE_CHECK\n');
    h.policy(deep, 'measure func=FILE_CHECK\n');
    const f = write('repolicy', 'policy changes\n', k1);
    h.open(f, 350);
    h.policy(deep, 'measure func=FILE_CHECK template=ima-sig\n');
    h.open(f, 350);
    const l = lines(h, deep);
    expect(l.map((x) => x.split(' ')[2])).toEqual(['ima-ng', 'ima-ng', 'ima-sig']);
    // the host's own state for the file is untouched by the child's policy load
    expect(h.aggregate(0).count).toBe(2);
  });

  it('violations: zero-digest entries where the policy measures, 0xff extended, INTEGRITY_PCR records, not cacheable', () => {
    const h = new Harness();
    const child = h.nsCreate(300);
    h.policy(0, 'measure func=FILE_CHECK\n');
    const f = write('rec4', 'written while read\n');
    const before = h.aggregate(0);
    const [v] = h.events([{ func: FUNC.FILE_CHECK, mask: MAY.READ, flags: EVENT_FLAG.TOMTOU | EVENT_FLAG.OPEN_WRITERS, proc: proc(300), file: fileInfo(f) }]);
    expect(v.code & VERDICT.CACHEABLE).toBe(0);
    expect(v.audit).toHaveLength(2);
    expect(v.audit[0]).toMatch(/^type=1804 .* op=invalid_pcr cause=ToMToU comm="cat" name="[^"]+rec4" mnt_ns=300 .* res=1 errno=0$/);
    expect(v.audit[1]).toContain(' op=invalid_pcr cause=open_writers ');
    const a = h.aggregate(0);
    expect(a.violations).toBe(2);
    expect(a.count).toBe(before.count + 3);
    const l = lines(h, 0);
    expect(l[1]).toBe(`10 ${'0'.repeat(40)} ima-ng sha256:${'0'.repeat(64)} ${f}`);
    expect(h.aggregate(child).violations).toBe(0);
    // an event without the flags is cacheable again
    expect(h.open(f, 300).code & VERDICT.CACHEABLE).toBe(VERDICT.CACHEABLE);
  });

  it('the audit action writes one INTEGRITY_RULE record per file version and makes the verdict uncacheable', () => {
    const h = new Harness();
    h.policy(0, 'audit func=FILE_CHECK\n');
    const f = write('rec5', 'audited\n');
    const v1 = h.open(f, 1);
    const sha = createHash('sha256').update('audited\n').digest('hex');
    expect(v1.audit).toEqual([expect.stringMatching(new RegExp(`^type=1805 msg=audit\\(\\d+\\.\\d{3}:\\d+\\): file="${f}" hash="sha256:${sha}" pid=4242 auid=4294967295 uid=0 gid=0 euid=0 suid=0 egid=0 sgid=0 ses=4294967295 comm="cat" mnt_ns=1$`))]);
    expect(v1.code & VERDICT.CACHEABLE).toBe(0);
    expect(h.open(f, 1).audit).toEqual([]);
    appendFileSync(f, 'more\n');
    expect(h.open(f, 1).audit).toHaveLength(1);
  });

  it('the same trace gives byte-identical lists in two engines', () => {
    const files: FileInfo[] = [];
    for (let i = 0; i < 20; i++) files.push(fileInfo(write('det' + i, 'det ' + i + '\n', i % 3 === 0 ? k1 : undefined)));
    const trace = (h: Harness) => {
      const c = h.nsCreate(400);
      h.policy(0, 'measure func=FILE_CHECK\n');
      h.policy(c, 'measure func=FILE_CHECK template=ima-sig\n');
      for (let i = 0; i < 40; i++) h.open('', i % 2 ? 400 : 1, {}, files[(i * 7) % 20]);
      return [h.list(0, 'binary'), h.list(c, 'binary', 'sha256'), h.list(c, 'ascii')];
    };
    const a = trace(new Harness());
    expect(text(a[2]).split('\n').length).toBeGreaterThan(10);
    expect(trace(new Harness())).toEqual(a);
  });
});

describe('appraisal along the tree', () => {
  it('a child cannot loosen: the host appraises with its own keys whatever the child says', () => {
    const h = new Harness();
    const child = h.nsCreate(500);
    h.policy(0, 'appraise func=FILE_CHECK appraise_type=imasig\n');
    h.policy(child, 'dont_appraise func=FILE_CHECK\n');
    h.addCert(child, k2.cert);
    const f = write('tight1', 'signed by the child key\n', k2);
    const v = h.open(f, 500);
    expect(v.code & VERDICT.DENY).toBe(VERDICT.DENY);
    expect(v.statuses).toEqual([
      { ns: child, measured: false, appraisal: APPRAISAL.NOT_APPRAISED, cause: '' },
      { ns: 0, measured: false, appraisal: APPRAISAL.FAIL, cause: 'unknown-key' },
    ]);
    h.addCert(0, k2.cert);
    const ok = h.open(f, 500);
    expect(ok.code & VERDICT.DENY).toBe(0);
    expect(ok.statuses[1].appraisal).toBe(APPRAISAL.PASS);
  });

  it('a child can tighten: its imasig rule fails a file its parent passes by digest', () => {
    const h = new Harness();
    const child = h.nsCreate(600);
    h.policy(0, 'appraise func=FILE_CHECK\n');
    h.policy(child, 'appraise func=FILE_CHECK appraise_type=imasig\n');
    const f = write('tight2', 'referenced only\n');
    h.control(CONTROL_OP.REFS_ADD, { ns: 0, digests: [[4, new Uint8Array(createHash('sha256').update('referenced only\n').digest())]] });
    expect(h.open(f, 1).code & VERDICT.DENY).toBe(0);
    const v = h.open(f, 600);
    expect(v.code & VERDICT.DENY).toBe(VERDICT.DENY);
    expect(v.statuses.map((s) => [s.ns, s.appraisal, s.cause])).toEqual([
      [child, APPRAISAL.FAIL, 'IMA-signature-required'],
      [0, APPRAISAL.PASS, ''],
    ]);
  });

  it('keys and references count for their namespace and its descendants, never for ancestors or siblings', () => {
    const h = new Harness();
    const a = h.nsCreate(700);
    const a1 = h.nsCreate(701, a);
    const b = h.nsCreate(710);
    for (const ns of [0, a, a1, b]) h.policy(ns, 'appraise func=FILE_CHECK appraise_type=imasig\n');
    h.addCert(0, k1.cert);
    h.addCert(a, k2.cert);
    const byK1 = write('scope-k1', 'host key\n', k1);
    const byK2 = write('scope-k2', 'a key\n', k2);
    const deny = (f: string, mntns: number) => (h.open(f, mntns).code & VERDICT.DENY) !== 0;
    // the host key counts everywhere
    expect([deny(byK1, 1), deny(byK1, 700), deny(byK1, 701), deny(byK1, 710)]).toEqual([false, false, false, false]);
    // a's key counts in a and a1 only; in a1 the host's own appraisal still fails it
    const v = h.open(byK2, 701);
    expect(v.statuses.map((s) => s.cause)).toEqual(['', '', 'unknown-key']);
    expect(deny(byK2, 710)).toBe(true);
    // references, likewise
    h.policy(0, '');
    for (const ns of [a, a1, b]) h.policy(ns, 'appraise func=FILE_CHECK\n');
    const plain = write('scope-ref', 'plain\n');
    h.control(CONTROL_OP.REFS_ADD, { ns: a1, digests: [[4, new Uint8Array(createHash('sha256').update('plain\n').digest())]] });
    expect(h.open(plain, 701).statuses.map((s) => s.cause)).toEqual(['', 'missing-hash', '']);
  });

  it('QUERY APPRAISE and IS_SIGNED answer whatever the policy says; trust changes and nocache give fresh answers', () => {
    const h = new Harness();
    const ns = h.nsCreate(800);
    const f = write('query1', 'queried\n', k1);
    const file = fileInfo(f);
    const q1 = h.query(QUERY_OP.APPRAISE, { ns, file });
    expect(q1.code & VERDICT.DENY).toBe(VERDICT.DENY);
    expect(q1.statuses.map((s: any) => [s.ns, s.appraisal, s.cause])).toEqual([
      [ns, APPRAISAL.FAIL, 'unknown-key'],
      [0, APPRAISAL.FAIL, 'unknown-key'],
    ]);
    const keyid = h.addCert(0, k1.cert);
    expect(h.query(QUERY_OP.IS_SIGNED, { ns, file })).toEqual({ signed: true, cause: '', keyid });
    const q2 = h.query(QUERY_OP.APPRAISE, { ns, file, func: FUNC.BPRM_CHECK });
    expect(q2).toEqual({ code: VERDICT.APPRAISED, statuses: [expect.objectContaining({ ns, appraisal: APPRAISAL.PASS }), expect.objectContaining({ ns: 0, appraisal: APPRAISAL.PASS })] });
    const s1 = h.query(QUERY_OP.STATS, {});
    h.query(QUERY_OP.IS_SIGNED, { ns, file });
    const s2 = h.query(QUERY_OP.STATS, {});
    expect(s2.appraisals).toBe(s1.appraisals);
    h.query(QUERY_OP.IS_SIGNED, { ns, file, nocache: true });
    expect(h.query(QUERY_OP.STATS, {}).appraisals).toBe(s1.appraisals + 1);
    // a digest xattr is not a signature
    const d = write('query2', 'digest only\n');
    const plain = fileInfo(d, { xattr: Uint8Array.from([4, 4, ...createHash('sha256').update('digest only\n').digest()]) });
    expect(h.query(QUERY_OP.IS_SIGNED, { ns, file: plain })).toEqual({ signed: false, cause: 'IMA-signature-required' });
    expect(h.query(QUERY_OP.APPRAISE, { ns, file: plain }).code).toBe(VERDICT.APPRAISED);
  });

  it('appraisal failures are audited once per file version, and stay denied', () => {
    const h = new Harness();
    h.policy(0, 'appraise func=FILE_CHECK\n');
    const f = write('audit-once', 'unsigned\n');
    const v1 = h.open(f, 1);
    expect(v1.audit).toHaveLength(1);
    expect(v1.audit[0]).toContain(' op=appraise_data cause=missing-hash ');
    const v2 = h.open(f, 1);
    expect(v2.code & VERDICT.DENY).toBe(VERDICT.DENY);
    expect(v2.audit).toEqual([]);
  });
});
