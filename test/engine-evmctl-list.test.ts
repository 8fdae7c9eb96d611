// The engine's outputs checked by an independent peer: events go through the engine (a child
// namespace whose policy measures with ima-sig, the host measuring with ima-ng), and
// `evmctl ima_measurement` replays each namespace's exported binary list against the aggregates
// the engine reports (AGGREGATE, and the claims of a verified quote), then verifies the
// signatures the ima-sig entries carry with the signer's certificate.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_OP, EVENT_FLAG, FUNC, MAY } from '../protocol/messages.js';
import { toHex } from '../protocol/bytes.js';
import { verifyQuote } from '../coprocessor/node/quote-verify.js';
import { evmSign, makeKey, tempDir } from './engine-keys.js';
import { fileInfo, Harness, proc } from './engine-harness.js';

const dir = tempDir('imans-engine-evmctl-');

/** A PCR file as evmctl reads it (`PCR-NN: <hex>`), PCR 10 given, zeros elsewhere. */
function pcrFile(name: string, size: number, pcr10: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < 24; i++) lines.push(`PCR-${String(i).padStart(2, '0')}: ${i === 10 ? toHex(pcr10) : '00'.repeat(size)}`);
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function evmctl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('evmctl', ['ima_measurement', ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('evmctl ima_measurement accepts what the engine exports', () => {
  it('each namespace list replays to the aggregate the engine reports and quotes; ima-sig signatures verify', () => {
    const key = makeKey(dir, 'rsa', 'signer');
    const h = new Harness();
    const box = h.nsCreate(4026539001);
    h.policy(0, 'measure func=FILE_CHECK\nmeasure func=BPRM_CHECK\n');
    h.policy(box, 'measure func=FILE_CHECK template=ima-sig\n');
    for (let i = 0; i < 6; i++) {
      const f = join(dir, `tool-${i}`);
      writeFileSync(f, `tool ${i}\n`);
      if (i % 2 === 0) evmSign(f, key, 'sha256');
      h.open(f, i < 4 ? 4026539001 : 1);
    }
    const exe = join(dir, 'exe');
    writeFileSync(exe, '#!/bin/sh\n');
    h.events([{ func: FUNC.BPRM_CHECK, mask: MAY.EXEC, flags: 0, proc: proc(4026539001), file: fileInfo(exe) }]);
    h.events([{ func: FUNC.FILE_CHECK, mask: MAY.READ, flags: EVENT_FLAG.OPEN_WRITERS, proc: proc(4026539001), file: fileInfo(join(dir, 'tool-1')) }]);

    for (const ns of [0, box]) {
      const a = h.aggregate(ns);
      const nonce = new Uint8Array([ns, 1, 2, 3]);
      const claims = verifyQuote(h.attest(ns, nonce), { publicKey: h.platform.publicKey, nonce });
      expect(claims.sha256).toEqual(a.sha256);
      const list = join(dir, `binary_runtime_measurements-${ns}`);
      writeFileSync(list, h.control(CONTROL_OP.MEASUREMENTS, { ns, bank: 'sha1', format: 'binary', from: 0, max: 1000 }).data);
      const pcrs = ['--pcrs', 'sha1,' + pcrFile(`pcrs-sha1-${ns}`, 20, claims.sha1), '--pcrs', 'sha256,' + pcrFile(`pcrs-sha256-${ns}`, 32, claims.sha256)];
      const ok = evmctl(['--ignore-violations', ...pcrs, list]);
      expect(ok.status, ok.out).toBe(0);
      expect(ok.out).toContain('Matched per TPM bank calculated digest(s)');
      // a wrong aggregate is caught
      const bad = claims.sha256.slice();
      bad[0] ^= 1;
      expect(evmctl(['--ignore-violations', '--pcrs', 'sha256,' + pcrFile(`bad-${ns}`, 32, bad), list]).status).not.toBe(0);
    }
    // the child's ima-sig entries carry the files' security.ima: evmctl verifies them
    const childList = join(dir, `binary_runtime_measurements-${box}`);
    const sigs = evmctl(['-v', '--ignore-violations', '--verify-sig', '--key', key.certDer, '--pcrs', 'sha256,' + pcrFile('child-sha256', 32, h.aggregate(box).sha256), childList]);
    expect(sigs.status, sigs.out).toBe(0);
    expect(sigs.out).toContain(`${join(dir, 'tool-0')}: verification is OK`);
    expect(sigs.out).toContain(`${join(dir, 'tool-2')}: verification is OK`);
    expect(sigs.out).not.toContain('verification failed');
  });
});
