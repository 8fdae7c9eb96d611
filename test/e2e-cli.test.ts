// The commands as an operator runs them: `imans bridge` as its own process (local engine over a pty),
// the other commands against its control socket, `imans record` on a tmpfs this file mounts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseTraceLine } from '../host/sources/trace.js';
import { mountTmpfs, newMountNs, run, until, MountNs, Tmpfs } from './bridge-support.js';

const IMANS = fileURLToPath(new URL('../bin/imans.mjs', import.meta.url));
const imans = (...args: string[]) => run(process.execPath, [IMANS, ...args]);

let fs: Tmpfs;
let work: string;
let bridge: ChildProcess | null = null;
let bridgeErr = '';
let box: MountNs | null = null;

beforeAll(async () => {
  fs = await mountTmpfs();
  work = mkdtempSync('/tmp/imans-cli-');
});

afterAll(async () => {
  if (bridge && bridge.exitCode === null) {
    bridge.kill('SIGKILL');
    await new Promise((r) => bridge!.once('exit', r));
  }
  box?.close();
  await fs?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('imans bridge and its commands', () => {
  it('runs, answers the other commands over its 0600 control socket, and stops cleanly on SIGTERM', async () => {
    const sock = `${work}/ctl/control.sock`;
    bridge = spawn(process.execPath, [IMANS, 'bridge', '--engine', 'local', '--watch', fs.dir, '--control', sock, '--audit', `${work}/audit.log`, '--state', `${work}/state`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    bridge.stderr!.on('data', (d) => (bridgeErr += d));
    await until('the control socket', () => existsSync(sock) || bridge!.exitCode !== null, 40_000);
    expect(bridgeErr).not.toMatch(/Error/);
    expect(statSync(sock).mode & 0o777).toBe(0o600);

    box = await newMountNs();
    const created = await imans('ns', 'create', '--pid', String(box.holder.pid), '--fail', 'open', '--control', sock);
    expect(created.stderr).toBe('');
    const id = Number(created.stdout);
    const list = await imans('ns', 'list', '--json', '--control', sock);
    const rows = JSON.parse(list.stdout) as { ns: number; mntns: number }[];
    expect(rows.find((r) => r.ns === id)?.mntns).toBe(box.inode);
    const table = await imans('ns', 'list', '--control', sock);
    expect(table.stdout.split('\n')[0]).toMatch(/^NS\s+PARENT\s+MNTNS/);

    writeFileSync(`${fs.dir}/seen.txt`, 'seen\n');
    writeFileSync(`${work}/policy`, 'measure func=FILE_CHECK\n');
    expect((await imans('policy', 'load', '--ns', String(id), `${work}/policy`, '--control', sock)).code).toBe(0);
    expect((await imans('policy', 'show', '--ns', String(id), '--control', sock)).stdout).toContain('measure func=FILE_CHECK');
    expect((await box.sh(`cat ${fs.dir}/seen.txt`)).stdout).toBe('seen\n');
    await until('the measurement', async () => (await imans('measurements', '--ns', String(id), '--control', sock)).stdout.includes(`${fs.dir}/seen.txt`));
    const agg = JSON.parse((await imans('aggregate', '--ns', String(id), '--json', '--control', sock)).stdout) as { count: number; sha256: string };
    expect(agg.count).toBeGreaterThanOrEqual(1);
    expect(agg.sha256).toMatch(/^[0-9a-f]{64}$/);

    const bad = await imans('policy', 'load', '--ns', '999', `${work}/policy`, '--control', sock);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^imans policy: /);

    bridge.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => bridge!.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(existsSync(sock)).toBe(false);
    // Its fanotify group is gone with it: nothing blocks opens on the tmpfs any more.
    expect((await run('cat', [`${fs.dir}/seen.txt`])).stdout).toBe('seen\n');
    const missing = await imans('ns', 'list', '--control', sock);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no bridge is listening there');
  });

  it('exits with the reason, taking its engine along, when a watched path cannot be marked', async () => {
    const r = await run(process.execPath, [IMANS, 'bridge', '--engine', 'local', '--watch', `${fs.dir}/no/such/dir`, '--control', `${work}/never.sock`], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/fanotify mark of .*no\/such\/dir: ENOENT/);
    const pid = Number(/engine process (\d+) exited/.exec(r.stderr)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('refuses to watch the root filesystem', async () => {
    const r = await imans('bridge', '--engine', 'local', '--watch', '/');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refusing to watch the root filesystem');
  });

  it('records live events as a trace that parses back', async () => {
    writeFileSync(`${fs.dir}/rec.txt`, 'rec\n');
    const out = `${work}/trace.jsonl`;
    const rec = spawn(process.execPath, [IMANS, 'record', '--watch', fs.dir, '--count', '2', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    rec.stderr!.on('data', (d) => (err += d));
    const done = new Promise<number | null>((r) => rec.once('exit', (c) => r(c)));
    // The recorder is ready once its helper has marked the filesystem: keep opening until two events are in.
    for (let i = 0; i < 400 && rec.exitCode === null; i++) {
      await run('cat', [`${fs.dir}/rec.txt`]);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await done).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const ev = parseTraceLine(lines[0], out, 1);
    expect(ev.file.path).toBe(`${fs.dir}/rec.txt`);
    expect(ev.proc.comm).toBe('cat');
    expect(ev.file.digests.map((d) => [d.algo, Buffer.from(d.digest).toString('hex')])).toEqual([[4, createHash('sha256').update('rec\n').digest('hex')]]);
    expect(err).toContain('2 events');
  });

  it('attests a namespace; the quote verifies with the engine key and the exported list replays to it, and tampering fails', async () => {
    const sock = `${work}/ctl2/control.sock`;
    const state = `${work}/state2`;
    const b = spawn(process.execPath, [IMANS, 'bridge', '--engine', 'local', '--watch', fs.dir, '--control', sock, '--state', state], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    b.stderr!.on('data', (d) => (err += d));
    try {
      await until('the control socket', () => existsSync(sock) || b.exitCode !== null, 40_000);
      const ns2 = await newMountNs();
      try {
        const id = Number((await imans('ns', 'create', '--pid', String(ns2.holder.pid), '--control', sock)).stdout);
        writeFileSync(`${work}/measure`, 'measure func=FILE_CHECK\n');
        expect((await imans('policy', 'load', '--ns', String(id), `${work}/measure`, '--control', sock)).code).toBe(0);
        for (const f of ['q1', 'q2', 'q3']) {
          writeFileSync(`${fs.dir}/${f}`, f);
          expect((await ns2.sh(`cat ${fs.dir}/${f}`)).stdout).toBe(f);
        }
        await until('three measurements', async () => (await imans('measurements', '--ns', String(id), '--control', sock)).stdout.split('\n').filter((l) => l.includes(`${fs.dir}/q`)).length === 3);
        const nonce = 'a1'.repeat(16);
        const quote = `${work}/quote.json`;
        const att = await imans('attest', '--ns', String(id), '--nonce', nonce, '--out', quote, '--control', sock);
        expect(att.stderr).toBe('');
        const list = `${work}/list.bin`;
        const m = spawn(process.execPath, [IMANS, 'measurements', '--ns', String(id), '--format', 'binary', '--control', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
        const chunks: Buffer[] = [];
        m.stdout!.on('data', (d: Buffer) => chunks.push(d));
        await new Promise((r) => m.once('exit', r));
        writeFileSync(list, Buffer.concat(chunks));
        const key = `${state}/engine-key.pem`;
        const ok = await imans('verify', quote, '--key', key, '--nonce', nonce, '--list', list, '--json');
        expect(ok.stderr).toBe('');
        const claims = JSON.parse(ok.stdout);
        // The namespace's list opens with its boot_aggregate entry, as the kernel's does.
        expect(claims).toMatchObject({ ok: true, ns: id, count: 4, violations: 0, nonceChecked: true, listChecked: true });
        // The list is the engine's, the aggregate is what `imans list` replays too.
        const replay = await imans('list', 'aggregate', list, '--bank', 'sha256');
        expect(replay.stdout).toContain(claims.sha256);

        // A wrong nonce, a changed claim, a list with an entry less, a key the engine does not hold: each fails.
        const wrongNonce = await imans('verify', quote, '--key', key, '--nonce', 'b2'.repeat(16));
        expect([wrongNonce.code, wrongNonce.stderr]).toEqual([1, expect.stringContaining('nonce does not match')]);
        const doc = JSON.parse(readFileSync(quote, 'utf8'));
        const claimBytes = Buffer.from(doc.claims, 'hex');
        claimBytes[claimBytes.length - 2] ^= 1;
        writeFileSync(`${work}/forged.json`, JSON.stringify({ ...doc, claims: claimBytes.toString('hex') }));
        const forged = await imans('verify', `${work}/forged.json`, '--key', key);
        expect([forged.code, forged.stderr]).toEqual([1, expect.stringContaining('signature does not verify')]);
        const bytes = readFileSync(list);
        const first = 4 + 20 + 4 + bytes.readUInt32LE(24);
        const firstLen = first + 4 + bytes.readUInt32LE(first);
        writeFileSync(`${work}/short.bin`, bytes.subarray(firstLen));
        const short = await imans('verify', quote, '--key', key, '--list', `${work}/short.bin`);
        expect([short.code, short.stderr]).toEqual([1, expect.stringContaining('entry count 3 in the list, 4 quoted')]);
        const other = await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${work}/other.pem`]);
        expect(other.code).toBe(0);
        const stranger = await imans('verify', quote, '--key', `${work}/other.pem`);
        expect(stranger.code).toBe(1);
        const otherNs = await imans('verify', quote, '--key', key, '--ns', String(id + 1));
        expect([otherNs.code, otherNs.stderr]).toEqual([1, expect.stringContaining(`for namespace ${id}, not ${id + 1}`)]);
        const untrusted = await imans('verify', quote);
        expect([untrusted.code, untrusted.stderr]).toEqual([2, expect.stringContaining('give the key you trust')]);
      } finally {
        ns2.close();
      }
    } finally {
      b.kill('SIGTERM');
      await new Promise((r) => b.once('exit', r));
    }
    expect(err).not.toMatch(/Error/);
  });
});
