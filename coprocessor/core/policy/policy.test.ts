import { describe, expect, it } from 'vitest';
import { FUNC, MAY } from '../../../protocol/messages.js';
import { ACTION, builtinPolicy, COND, MatchContext, parsePolicy, Policy, PolicyError } from './index.js';

function ok(text: string): Policy {
  const r = parsePolicy(text);
  if (!r.ok) throw new Error('policy refused: ' + JSON.stringify(r.errors));
  return r.policy;
}

function bad(text: string): PolicyError[] {
  const r = parsePolicy(text);
  if (r.ok) throw new Error('policy accepted: ' + text);
  return r.errors;
}

function ctx(over: Partial<MatchContext> = {}): MatchContext {
  return {
    func: FUNC.FILE_CHECK, mask: MAY.READ, fsmagic: 0xef53, fsname: 'ext4', fsuuid: '', uid: 1000, euid: 1000, suid: 1000,
    gid: 1000, egid: 1000, sgid: 1000, fowner: 0, fgroup: 0, capSetuid: false, capSetgid: false, data: '', ...over,
  };
}

const ALL = ACTION.MEASURE | ACTION.APPRAISE | ACTION.AUDIT | ACTION.HASH;

describe('policy parser', () => {
  it('reads back every token in the kernel canonical form and order', () => {
    const p = ok(
      [
        'measure func=PATH_CHECK mask=^MAY_READ fsmagic=01021994 uid>99 fowner<5 pcr=11 template=d-ng|n-ng|sig fsname=tmpfs',
        'appraise func=BPRM_CHECK fsuuid=01234567-89AB-cdef-0123-456789ABCDEF euid=0 fgroup=7 appraise_type=imasig appraise_algos=sha512,sha256 appraise_flag=check_blacklist',
        'dont_measure func=FILE_MMAP mask=MAY_EXEC gid<3 permit_directio',
        'audit func=MODULE_CHECK egid>10',
        'hash func=FIRMWARE_CHECK',
        'dont_hash fsmagic=0x9fa0',
        'dont_appraise fowner=0',
        'measure func=KEY_CHECK keyrings=.ima|.builtin_trusted_keys template=ima-buf',
        'measure func=CRITICAL_DATA label=selinux|kernel_info',
        'appraise func=SETXATTR_CHECK appraise_algos=sha256',
        'appraise func=FILE_CHECK digest_type=verity appraise_type=sigv3',
        'appraise func=MODULE_CHECK appraise_type=imasig|modsig',
      ].join('\n'),
    );
    expect(p.show().split('\n')).toEqual([
      'measure func=FILE_CHECK mask=^MAY_READ fsmagic=0x1021994 fsname=tmpfs pcr=11 uid>99 fowner<5 template=ima-sig ',
      'appraise func=BPRM_CHECK fsuuid=01234567-89ab-cdef-0123-456789abcdef euid=0 fgroup=7 appraise_algos=sha256,sha512 appraise_type=imasig ',
      'dont_measure func=MMAP_CHECK mask=MAY_EXEC gid<3 permit_directio ',
      'audit func=MODULE_CHECK egid>10 ',
      'hash func=FIRMWARE_CHECK ',
      'dont_hash fsmagic=0x9fa0 ',
      'dont_appraise fowner=0 ',
      'measure func=KEY_CHECK keyrings=.ima|.builtin_trusted_keys template=ima-buf ',
      'measure func=CRITICAL_DATA label=selinux|kernel_info ',
      'appraise func=SETXATTR_CHECK appraise_algos=sha256 ',
      'appraise func=FILE_CHECK appraise_type=sigv3 digest_type=verity ',
      'appraise func=MODULE_CHECK appraise_type=imasig|modsig ',
      '',
    ]);
    // The read-back is itself a policy with the same read-back, but for the kernel's one quirk:
    // a verity rule reads back with appraise_type=sigv3 before the digest_type=verity it needs.
    const back = p.show().split('\n').filter((l) => !l.includes('sigv3')).join('\n');
    expect(ok(back).show()).toBe(back);
    expect(parsePolicy('appraise func=FILE_CHECK appraise_type=sigv3 digest_type=verity').ok).toBe(false);
  });

  it('skips comments, blank lines and suffix comments; tabs separate tokens', () => {
    const p = ok('# a comment\n\n   \t# indented comment\nmeasure\tfunc=BPRM_CHECK   # exec\r\n  dont_measure fsmagic=0x9fa0 #proc\n');
    expect(p.rules.length).toBe(2);
    expect(p.rules[0].line).toBe(4);
    expect(p.show()).toBe('measure func=BPRM_CHECK \ndont_measure fsmagic=0x9fa0 \n');
  });

  const refusals: [string, number, string, RegExp][] = [
    ['measure\ndnt_measure func=FILE_CHECK', 2, 'dnt_measure', /unknown token/],
    ['measure appraise', 1, 'appraise', /one action/],
    ['measure func=FILE_CHECK func=BPRM_CHECK', 1, 'func=BPRM_CHECK', /once/],
    ['measure func=OPEN_CHECK', 1, 'func=OPEN_CHECK', /unknown func/],
    ['measure mask=MAY_RAED', 1, 'mask=MAY_RAED', /MAY_EXEC/],
    ['measure mask=MAY_READ mask=^MAY_EXEC', 1, 'mask=^MAY_EXEC', /once/],
    ['measure fsmagic=xyz', 1, 'fsmagic=xyz', /hexadecimal/],
    ['measure uid=0 euid=0', 1, 'euid=0', /share one condition/],
    ['measure gid=0 egid>0', 1, 'egid>0', /share one condition/],
    ['measure uid=-1', 1, 'uid=-1', /decimal user id/],
    ['measure uid=4294967295', 1, 'uid=4294967295', /decimal user id/],
    ['measure fowner!=0', 1, 'fowner!=0', /unknown token/],
    ['measure fsmagic>1', 1, 'fsmagic>1', /only uid/],
    ['measure fsuuid=1234', 1, 'fsuuid=1234', /UUID/],
    ['appraise pcr=11', 1, 'pcr=11', /only valid in a measure rule/],
    ['measure pcr=64', 1, 'pcr=64', /0 to 63/],
    ['measure appraise_type=imasig', 1, 'appraise_type=imasig', /only valid in an appraise rule/],
    ['appraise appraise_type=sigv3', 1, 'appraise_type=sigv3', /needs digest_type=verity/],
    ['appraise appraise_type=imasig digest_type=verity', 1, 'digest_type=verity', /before appraise_type/],
    ['appraise digest_type=verity', 1, 'appraise', /needs appraise_type=sigv3/],
    ['appraise appraise_algos=sha256,md9', 1, 'appraise_algos=sha256,md9', /unknown hash algorithm "md9"/],
    ['appraise appraise_algos=wp512', 1, 'appraise_algos=wp512', /unavailable hash algorithm/],
    ['template=ima-ng measure', 1, 'template=ima-ng', /only valid after measure/],
    ['measure template=ima-bogus', 1, 'template=ima-bogus', /unknown template/],
    ['measure template=ima-ng template=ima-sig', 1, 'template=ima-sig', /once/],
    ['measure keyrings=.ima', 1, 'keyrings=.ima', /not valid in a rule without func=/],
    ['measure func=KEY_CHECK keyrings=.ima||.evm', 1, 'keyrings=.ima||.evm', /none empty/],
    ['appraise func=KEY_CHECK', 1, 'func=KEY_CHECK', /only measure or dont_measure/],
    ['measure func=KEY_CHECK fowner=0', 1, 'fowner=0', /not valid with func=KEY_CHECK/],
    ['measure func=CRITICAL_DATA obj_type=foo_t', 1, 'func=CRITICAL_DATA', /no LSM condition/],
    ['measure func=KEXEC_CMDLINE mask=MAY_READ', 1, 'mask=MAY_READ', /not valid with func=KEXEC_CMDLINE/],
    ['appraise func=SETXATTR_CHECK', 1, 'func=SETXATTR_CHECK', /needs appraise_algos/],
    ['appraise func=SETXATTR_CHECK appraise_algos=sha256 fowner=0', 1, 'fowner=0', /not valid with func=SETXATTR_CHECK/],
    ['appraise func=MODULE_CHECK digest_type=verity appraise_type=sigv3', 1, 'digest_type=verity', /not valid with func=MODULE_CHECK/],
    ['func=FILE_CHECK', 1, 'func=FILE_CHECK', /no action/],
  ];
  for (const [text, line, token, reason] of refusals) {
    it(`refuses ${JSON.stringify(text)} naming line ${line} and ${token}`, () => {
      const e = bad(text)[0];
      expect(e.line).toBe(line);
      expect(e.token).toBe(token);
      expect(e.reason).toMatch(reason);
    });
  }

  it('changes nothing when any line is bad, and lists the bad lines', () => {
    const r = parsePolicy('measure func=BPRM_CHECK\nmeasure func=NOPE\nappraise fowner=0\nmeasure uid=x');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.line)).toEqual([2, 4]);
  });

  it('bounds rules and line length', () => {
    expect(parsePolicy('measure\nmeasure\nmeasure', { maxRules: 2, maxLine: 100 }).ok).toBe(false);
    const long = bad('measure fsname=' + 'x'.repeat(5000));
    expect(long[0].reason).toMatch(/longer than/);
  });

  it('accepts LSM conditions but never matches them and reads them back as nothing, as an undefined LSM rule in the kernel', () => {
    const p = ok('measure obj_type=bin_t\nmeasure func=FILE_CHECK');
    expect(p.show()).toBe('measure func=FILE_CHECK \n');
    const m = p.match(ctx(), ALL);
    expect(m.action & ACTION.MEASURE).toBe(ACTION.MEASURE);
    expect(m.visited).toBe(2);
  });
});

describe('builtin policies', () => {
  it('tcb is the LTP tcb.policy text, rule for rule', () => {
    const ltp = `dont_measure fsmagic=0x9fa0
dont_measure fsmagic=0x62656572
dont_measure fsmagic=0x64626720
dont_measure fsmagic=0x1021994 func=FILE_CHECK
dont_measure fsmagic=0x1cd1
dont_measure fsmagic=0x42494e4d
dont_measure fsmagic=0x73636673
dont_measure fsmagic=0xf97cff8c
dont_measure fsmagic=0x43415d53
dont_measure fsmagic=0x27e0eb
dont_measure fsmagic=0x63677270
dont_measure fsmagic=0x6e736673
dont_measure fsmagic=0xde5e81e4
measure func=MMAP_CHECK mask=MAY_EXEC
measure func=BPRM_CHECK mask=MAY_EXEC
measure func=FILE_CHECK mask=^MAY_READ euid=0
measure func=FILE_CHECK mask=^MAY_READ uid=0
measure func=MODULE_CHECK
measure func=FIRMWARE_CHECK
measure func=POLICY_CHECK
`;
    const b = builtinPolicy('tcb');
    expect(b.ok).toBe(true);
    if (b.ok) expect(b.policy.show()).toBe(ok(ltp).show());
  });

  it('combines in the kernel order and refuses unknown names', () => {
    const b = builtinPolicy('appraise_tcb|tcb secure_boot');
    if (!b.ok) throw new Error('refused');
    const lines = b.policy.show().split('\n');
    expect(lines[0]).toBe('dont_measure fsmagic=0x9fa0 ');
    expect(lines[20]).toBe('appraise func=MODULE_CHECK appraise_type=imasig ');
    expect(lines[lines.length - 2]).toBe('appraise fowner=0 ');
    expect(builtinPolicy('tcb|bogus').ok).toBe(false);
  });

  it('appraise_tcb appraises root-owned files except on tmpfs', () => {
    const b = builtinPolicy('appraise_tcb');
    if (!b.ok) throw new Error('refused');
    expect(b.policy.match(ctx({ fowner: 0 }), ALL).action & ACTION.APPRAISE).toBe(ACTION.APPRAISE);
    expect(b.policy.match(ctx({ fowner: 0, fsmagic: 0x01021994 }), ALL).action & ACTION.APPRAISE).toBe(0);
    expect(b.policy.match(ctx({ fowner: 1000 }), ALL).action & ACTION.APPRAISE).toBe(0);
  });
});

describe('matching', () => {
  it('takes the first match per action pair', () => {
    const p = ok('dont_measure fsmagic=0x1021994\nmeasure func=FILE_CHECK pcr=11\nmeasure pcr=12\nappraise fowner=0 appraise_type=imasig\nappraise');
    const tmp = p.match(ctx({ fsmagic: 0x1021994 }), ALL);
    expect(tmp.action & ACTION.MEASURE).toBe(0);
    expect(tmp.action & ACTION.APPRAISE).toBe(ACTION.APPRAISE);
    expect(tmp.flags & COND.DIGSIG_REQUIRED).toBe(COND.DIGSIG_REQUIRED);
    const ext = p.match(ctx({ fowner: 5 }), ALL);
    expect(ext.pcr).toBe(11);
    expect(ext.flags & COND.DIGSIG_REQUIRED).toBe(0);
    // Only the wanted pairs are decided.
    expect(p.match(ctx(), ACTION.APPRAISE).action).toBe(ACTION.APPRAISE);
  });

  it('compares masks exactly, or any bit with ^', () => {
    const p = ok('measure mask=MAY_READ\naudit mask=^MAY_EXEC');
    expect(p.match(ctx({ mask: MAY.READ }), ALL).action).toBe(ACTION.MEASURE);
    expect(p.match(ctx({ mask: MAY.READ | MAY.EXEC }), ALL).action).toBe(ACTION.AUDIT);
  });

  it('applies uid, euid (with CAP_SETUID), gid, fowner, fgroup operators and fs conditions', () => {
    const p = ok('measure euid=0');
    expect(p.match(ctx({ euid: 0 }), ALL).action).toBe(ACTION.MEASURE);
    expect(p.match(ctx({ uid: 0 }), ALL).action).toBe(0);
    expect(p.match(ctx({ uid: 0, capSetuid: true }), ALL).action).toBe(ACTION.MEASURE);
    const q = ok('measure uid>999 fowner<1 fgroup=0 gid<2000 fsname=ext4 fsuuid=01234567-89ab-cdef-0123-456789abcdef');
    const fs = { fsuuid: '01234567-89AB-CDEF-0123-456789ABCDEF' };
    expect(q.match(ctx(fs), ALL).action).toBe(ACTION.MEASURE);
    expect(q.match(ctx({ ...fs, uid: 999 }), ALL).action).toBe(0);
    expect(q.match(ctx({ ...fs, fowner: 1 }), ALL).action).toBe(0);
    expect(q.match(ctx({ ...fs, fsname: 'tmpfs' }), ALL).action).toBe(0);
    expect(q.match(ctx(), ALL).action).toBe(0);
  });

  it('matches KEY_CHECK and CRITICAL_DATA only by rules naming them, by keyring and label', () => {
    const p = ok('measure\nmeasure func=KEY_CHECK keyrings=.ima|.evm pcr=13\nmeasure func=CRITICAL_DATA');
    expect(p.match(ctx({ func: FUNC.KEY_CHECK, data: '.evm' }), ALL).pcr).toBe(13);
    expect(p.match(ctx({ func: FUNC.KEY_CHECK, data: '.platform' }), ALL).action).toBe(0);
    expect(p.match(ctx({ func: FUNC.CRITICAL_DATA, data: 'selinux' }), ALL).action).toBe(ACTION.MEASURE);
  });

  it('visits only the rules of the event func and those without func=, however many others there are', () => {
    const others = Array.from({ length: 1000 }, (_, i) => `measure func=${['BPRM_CHECK', 'MODULE_CHECK', 'MMAP_CHECK'][i % 3]} uid=${i}`).join('\n');
    const p = ok(others + '\nappraise func=FILE_CHECK fowner=1\nmeasure fowner=1');
    const m = p.match(ctx({ fowner: 1 }), ALL);
    expect(m.action).toBe(ACTION.MEASURE | ACTION.APPRAISE);
    expect(m.visited).toBe(2);
  });
});

describe('policy parser fuzz', () => {
  const words = ['measure', 'dont_measure', 'appraise', 'audit', 'hash', 'func=FILE_CHECK', 'func=KEY_CHECK', 'mask=^MAY_READ', 'fsmagic=0x9fa0',
    'uid>0', 'euid=0', 'fowner<1', 'pcr=10', 'template=ima-sig', 'appraise_type=imasig', 'digest_type=verity', 'keyrings=.ima', 'label=x',
    'appraise_algos=sha256', 'permit_directio', 'obj_type=t', '#', '=', '^', '\t', '', 'fsuuid=0-0', 'uid=99999999999999999999'];
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);

  it('returns a policy or errors for any text, never throws, and accepted policies read back stably', () => {
    for (let i = 0; i < 3000; i++) {
      let text = '';
      const lines = 1 + rnd(4);
      for (let l = 0; l < lines; l++) {
        const n = rnd(6);
        const toks: string[] = [];
        for (let k = 0; k < n; k++) toks.push(rnd(10) === 0 ? String.fromCharCode(rnd(256)) + words[rnd(words.length)] : words[rnd(words.length)]);
        text += toks.join(rnd(3) === 0 ? '\t' : ' ') + '\n';
      }
      const r = parsePolicy(text);
      if (r.ok) expect(ok(r.policy.show()).show()).toBe(r.policy.show());
      else for (const e of r.errors) expect(e.line).toBeGreaterThan(0);
    }
  });
});
