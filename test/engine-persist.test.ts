// State survives an engine restart: namespaces, policies, keys, references and measurement lists
// come back from the journal in the state directory, byte for byte, and a torn journal tail
// (a crash mid-append) costs only the record being written.
import { describe, expect, it } from 'vitest';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CONTROL_OP, EVENT_FLAG, FUNC, MAY, QUERY_OP, VERDICT } from '../protocol/messages.js';
import { evmSign, makeKey, tempDir } from './engine-keys.js';
import { fileInfo, Harness, proc } from './engine-harness.js';

const dir = tempDir('imans-persist-');

function snapshot(h: Harness) {
  const nss = h.control(CONTROL_OP.NS_LIST, {});
  return {
    nss,
    lists: nss.filter((n: any) => !n.deleted).map((n: any) => [h.list(n.ns, 'binary'), h.list(n.ns, 'binary', 'sha256'), h.list(n.ns, 'ascii')]),
    aggregates: nss.map((n: any) => h.aggregate(n.ns)),
    policies: nss.filter((n: any) => !n.deleted).map((n: any) => h.control(CONTROL_OP.POLICY_SHOW, { ns: n.ns }).text),
  };
}

describe('persistence', () => {
  it('namespaces, policies, keys, references and lists are rebuilt after a restart', () => {
    const state = tempDir('imans-state-');
    const key = makeKey(dir, 'ecdsa-p256', 'p');
    const signedFile = join(dir, 'signed');
    writeFileSync(signedFile, 'signed content\n');
    evmSign(signedFile, key, 'sha256');
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'plain content\n');

    let h = new Harness({ stateDir: state });
    const a = h.nsCreate(1001, 0, { fail: 'open', deadlineMs: 50 });
    const b = h.nsCreate(1002, a);
    const gone = h.nsCreate(1003);
    h.policy(0, 'measure func=FILE_CHECK\n');
    h.policy(a, 'appraise func=FILE_CHECK appraise_type=imasig\nmeasure func=FILE_CHECK template=ima-sig\n');
    h.policy(b, 'appraise func=FILE_CHECK\n');
    h.addCert(a, key.cert);
    h.control(CONTROL_OP.REFS_ADD, { ns: b, digests: [[4, new Uint8Array(createHash('sha256').update('plain content\n').digest())]] });
    h.policy(gone, 'measure func=FILE_CHECK\n');
    h.open(plain, 1003);
    h.control(CONTROL_OP.NS_DELETE, { ns: gone });
    expect(h.open(signedFile, 1002).code & VERDICT.DENY).toBe(0);
    h.events([{ func: FUNC.FILE_CHECK, mask: MAY.READ, flags: EVENT_FLAG.TOMTOU, proc: proc(1001), file: fileInfo(plain) }]);
    const before = snapshot(h);
    const quoteKey = h.platform.publicKey;

    h = h.restart();
    expect(snapshot(h)).toEqual(before);
    expect(h.query(QUERY_OP.STATS, {}).replayed).toBeGreaterThan(10);
    expect(h.platform.publicKey).toEqual(quoteKey);
    // the key came back: the signed file still passes in b (a's key counts there); the reference too
    const v = h.open(signedFile, 1002);
    expect(v.code & VERDICT.DENY).toBe(0);
    expect(v.statuses.map((s) => s.cause)).toEqual(['', '', '']);
    // no duplicate entries for files measured before the restart
    const count = h.aggregate(0).count;
    h.open(plain, 1);
    expect(h.aggregate(0).count).toBe(count);
    // new work after the restart is journaled too
    const more = join(dir, 'more');
    writeFileSync(more, 'after restart\n');
    h.open(more, 1);
    const after = snapshot(h);
    h = h.restart();
    expect(snapshot(h)).toEqual(after);
    h.platform.close();
  });

  it('a torn record at the end of the journal is dropped, the rest replays', () => {
    const state = tempDir('imans-state-');
    let h = new Harness({ stateDir: state });
    const ns = h.nsCreate(2001);
    h.policy(ns, 'measure func=FILE_CHECK\n');
    const f = join(dir, 'torn');
    writeFileSync(f, 'torn\n');
    h.open(f, 2001);
    const before = snapshot(h);
    h.platform.close();
    appendFileSync(join(state, 'store', 'journal'), Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 0x82]));
    h = h.restart();
    expect(snapshot(h)).toEqual(before);
    h.policy(0, 'measure func=BPRM_CHECK\n');
    h = h.restart();
    expect(h.control(CONTROL_OP.POLICY_SHOW, { ns: 0 }).text).toContain('BPRM_CHECK');
    expect(h.query(QUERY_OP.STATS, {}).replayFailed).toBe(0);
    h.platform.close();
  });
});
