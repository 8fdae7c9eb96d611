// Files signed by the real `evmctl ima_sign` (RSA-2048 and ECDSA P-256 keys made with openssl,
// certificates with subjectKeyIdentifier=hash; sha256 and sha512) appraised by `imans appraise`
// and by the engine API, then broken in every way the kernel names.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { APPRAISAL, QUERY_OP, VERDICT } from '../protocol/messages.js';
import { evmHash, evmSign, getXattr, makeKey, removeXattr, setXattr, tempDir, TestKey } from './engine-keys.js';
import { fileInfo, Harness } from './engine-harness.js';
import { run } from '../coprocessor/node/cli/appraise.js';

const BIN = fileURLToPath(new URL('../bin/imans.mjs', import.meta.url));
const dir = tempDir('imans-evmctl-');
let rsa: TestKey;
let p256: TestKey;

beforeAll(() => {
  rsa = makeKey(dir, 'rsa', 'rsa');
  p256 = makeKey(dir, 'ecdsa-p256', 'p256');
});

/** `imans appraise --json` in-process: exit code and the JSON object it printed. */
async function appraise(args: string[]): Promise<{ code: number; out: any; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  let code: number;
  try {
    code = await run([...args, '--json']);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  return { code, out: stdout ? JSON.parse(stdout) : null, stderr };
}

function signed(name: string, k: TestKey, algo: string, content = `signed by ${name}\n`): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  evmSign(f, k, algo);
  return f;
}

describe('evmctl ima_sign signatures appraise as passed with the matching certificate', () => {
  for (const kind of ['rsa', 'ecdsa-p256'] as const) {
    for (const algo of ['sha256', 'sha512']) {
      it(`${kind} ${algo}: imans appraise passes, then fails once the file or the xattr changes`, async () => {
        const k = kind === 'rsa' ? rsa : p256;
        const f = signed(`${kind}-${algo}`, k, algo);
        const x = getXattr(f)!;
        expect(x[2]).toBe(algo === 'sha256' ? 4 : 6);

        const ok = await appraise([f, '--cert', k.cert]);
        expect(ok.code).toBe(0);
        expect(ok.out).toMatchObject({ status: 'pass', cause: '', xattr: 'sig', algo });
        expect(ok.out.keyid).toBe(Buffer.from(x.subarray(3, 7)).toString('hex'));

        // DER certificate, engine API, a container namespace holding the key
        const h = new Harness();
        const ns = h.nsCreate(4026530001);
        h.policy(ns, 'appraise func=FILE_CHECK appraise_type=imasig\n');
        h.addCert(ns, k.certDer);
        const v = h.open(f, 4026530001);
        expect(v.code & VERDICT.DENY).toBe(0);
        expect(v.code & VERDICT.APPRAISED).toBe(VERDICT.APPRAISED);
        expect(v.statuses[0]).toEqual({ ns, measured: false, appraisal: APPRAISAL.PASS, cause: '' });

        // the xattr changes: one signature byte flipped
        const bad = x.slice();
        bad[bad.length - 5] ^= 0x01;
        const g = f + '.badsig';
        copyFileSync(f, g);
        setXattr(g, bad);
        const r1 = await appraise([g, '--cert', k.cert]);
        expect(r1.code).toBe(1);
        expect(r1.out).toMatchObject({ status: 'fail', cause: 'invalid-signature' });
        expect(h.open(g, 4026530001).statuses[0].cause).toBe('invalid-signature');

        // the content changes under the same xattr
        appendFileSync(f, 'tampered\n');
        const r2 = await appraise([f, '--cert', k.cert]);
        expect(r2.out).toMatchObject({ status: 'fail', cause: 'invalid-signature' });
        const v2 = h.open(f, 4026530001);
        expect(v2.code & VERDICT.DENY).toBe(VERDICT.DENY);
        expect(v2.audit[0]).toMatch(/^type=1800 msg=audit\(\d+\.\d{3}:\d+\): pid=\d+ .* op=appraise_data cause=invalid-signature comm="cat" name="[^"]+" mnt_ns=4026530001 dev="\d+:\d+" ino=\d+ res=0 errno=0$/);
      });
    }
  }

  it('the other key, or no key at all: invalid-signature as the kernel says, unknown-key as the engine explains', async () => {
    const f = signed('unknown-key', rsa, 'sha256');
    const r = await appraise([f, '--cert', p256.cert]);
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ status: 'fail', cause: 'invalid-signature', reason: 'unknown-key' });
    const none = await appraise([f]);
    expect(none.out).toMatchObject({ status: 'fail', cause: 'invalid-signature', reason: 'unknown-key' });
    const h = new Harness();
    h.policy(0, 'appraise func=FILE_CHECK appraise_type=imasig\n');
    const v = h.open(f, 1);
    expect(v.statuses[0].cause).toBe('unknown-key');
    expect(v.audit[0]).toContain(' cause=invalid-signature ');
    const q = h.query(QUERY_OP.IS_SIGNED, { ns: 0, file: fileInfo(f) });
    expect(q).toEqual({ signed: false, cause: 'unknown-key', keyid: Buffer.from(getXattr(f)!.subarray(3, 7)).readUInt32BE(0) });
  });

  it('without security.ima: IMA-signature-required under imasig, missing-hash otherwise', async () => {
    const f = join(dir, 'plain');
    writeFileSync(f, 'no xattr here\n');
    expect((await appraise([f, '--cert', rsa.cert])).out).toMatchObject({ status: 'fail', cause: 'IMA-signature-required', xattr: 'none' });
    const pol = join(dir, 'digest.policy');
    writeFileSync(pol, '# digests are enough\nappraise func=FILE_CHECK\n');
    expect((await appraise([f, '--policy', pol])).out).toMatchObject({ status: 'fail', cause: 'missing-hash' });
  });

  it('evmctl ima_hash digests: refused where a signature is required, compared otherwise', async () => {
    const pol = join(dir, 'digest2.policy');
    writeFileSync(pol, 'appraise func=FILE_CHECK\n');
    for (const algo of ['sha256', 'sha512', 'sha1']) {
      const f = join(dir, 'hashed-' + algo);
      writeFileSync(f, 'hashed content ' + algo + '\n');
      evmHash(f, algo);
      expect(getXattr(f)![0]).toBe(algo === 'sha1' ? 0x01 : 0x04);
      expect((await appraise([f])).out).toMatchObject({ status: 'fail', cause: 'IMA-signature-required' });
      const ok = await appraise([f, '--policy', pol]);
      expect(ok.code).toBe(0);
      expect(ok.out).toMatchObject({ status: 'pass', xattr: 'digest', algo });
      appendFileSync(f, 'x');
      expect((await appraise([f, '--policy', pol])).out).toMatchObject({ status: 'fail', cause: 'invalid-hash' });
    }
  });

  it('malformed xattrs fail with the kernel’s cause, never pass', async () => {
    const f = signed('malformed', rsa, 'sha256');
    const good = getXattr(f)!;
    const pol = join(dir, 'any.policy');
    writeFileSync(pol, 'appraise func=FILE_CHECK\n');
    const sha = createHash('sha256').update('signed by malformed\n').digest();
    const cases: [string, Uint8Array, string][] = [
      ['short signature header', good.subarray(0, 5), 'invalid-signature'],
      ['header only', good.subarray(0, 9), 'invalid-signature'],
      ['sig_size one too big', Uint8Array.from([...good.subarray(0, 7), good[7], good[8] + 1, ...good.subarray(9)]), 'invalid-signature'],
      ['truncated signature', good.subarray(0, good.length - 1), 'invalid-signature'],
      ['unknown hash_algo 99', Uint8Array.from([3, 2, 99, ...good.subarray(3)]), 'invalid-signature'],
      ['signature over sha1 claimed', Uint8Array.from([3, 2, 2, ...good.subarray(3)]), 'invalid-signature'],
      ['signature version 1', Uint8Array.from([3, 1, ...good.subarray(2)]), 'invalid-signature'],
      ['signature version 9', Uint8Array.from([3, 9, ...good.subarray(2)]), 'invalid-signature-version'],
      ['type byte 0x07', Uint8Array.from([7, ...good.subarray(1)]), 'unknown-ima-data'],
      ['EVM HMAC type in security.ima', Uint8Array.from([2, ...sha.subarray(0, 20)]), 'unknown-ima-data'],
      ['0x04 without a digest', Uint8Array.from([4, 4]), 'invalid-hash'],
      ['0x04 short digest', Uint8Array.from([4, 4, ...sha.subarray(0, 31)]), 'invalid-hash'],
      ['0x04 unknown algorithm', Uint8Array.from([4, 200, ...sha]), 'invalid-hash'],
      ['0x04 right digest, wrong algorithm byte', Uint8Array.from([4, 6, ...sha, ...sha]), 'invalid-hash'],
      ['lone type byte', Uint8Array.from([3]), 'invalid-signature'],
    ];
    for (const [what, value, cause] of cases) {
      const g = join(dir, 'malformed-' + what.replace(/\W+/g, '_'));
      copyFileSync(f, g);
      setXattr(g, value);
      const r = await appraise([g, '--cert', rsa.cert, '--policy', pol]);
      expect(r.code, what).toBe(1);
      expect(r.out.cause, what).toBe(cause);
    }
    // and the well-formed value still passes, under both policies
    expect((await appraise([f, '--cert', rsa.cert, '--policy', pol])).code).toBe(0);
    expect((await appraise([f, '--cert', rsa.cert])).code).toBe(0);
  });

  it('reference digests stand in for the xattr where no signature is required', async () => {
    const f = join(dir, 'referenced');
    writeFileSync(f, 'known good content\n');
    const list = join(dir, 'refs.sha256sum');
    writeFileSync(list, createHash('sha256').update('known good content\n').digest('hex') + '  /usr/bin/whatever\n\n# comment\n' + 'ab'.repeat(20) + '  sha1-entry\n');
    const pol = join(dir, 'ref.policy');
    writeFileSync(pol, 'appraise func=FILE_CHECK\n');
    expect((await appraise([f, '--reference', list, '--policy', pol])).out).toMatchObject({ status: 'pass' });
    expect((await appraise([f, '--reference', list])).out).toMatchObject({ status: 'fail', cause: 'IMA-signature-required' });
    appendFileSync(f, 'changed\n');
    expect((await appraise([f, '--reference', list, '--policy', pol])).out).toMatchObject({ status: 'fail', cause: 'missing-hash' });
    const badList = join(dir, 'bad.sha256sum');
    writeFileSync(badList, 'zz  /x\n');
    const r = await appraise([f, '--reference', badList]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.sha256sum:1:');
  });

  it('a policy that does not appraise the file says "not appraised", which is not a pass', async () => {
    const f = signed('not-appraised', rsa, 'sha256');
    const pol = join(dir, 'bprm.policy');
    writeFileSync(pol, 'appraise func=BPRM_CHECK appraise_type=imasig\n');
    const r = await appraise([f, '--cert', rsa.cert, '--policy', pol]);
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ status: 'not-appraised', cause: '' });
    const badPol = join(dir, 'bad.policy');
    writeFileSync(badPol, 'measure func=FILE_CHECK\nappraise func=NOT_A_HOOK\n');
    const b = await appraise([f, '--policy', badPol]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/line 2: 'func=NOT_A_HOOK'/);
  });

  it('the installed command: exit status and text output', () => {
    const f = signed('cli', p256, 'sha256');
    const ok = spawnSync(process.execPath, [BIN, 'appraise', f, '--cert', p256.cert], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(`${f}: pass\n`);
    removeXattr(f);
    const bad = spawnSync(process.execPath, [BIN, 'appraise', f, '--cert', p256.cert], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe(`${f}: fail (IMA-signature-required)\n`);
    const usage = spawnSync(process.execPath, [BIN, 'appraise'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
  });
});
