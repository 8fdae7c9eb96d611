// End to end with every real part: the fanotify helper on a tmpfs this file mounts, a mount
// namespace from `unshare -m`, the bridge, the engine client, the link over a socat pty pair, and
// `imans engine` as a child process with a state directory; files hashed by evmctl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Server } from 'node:net';
import { Bridge } from '../host/bridge.js';
import { FanotifySource } from '../host/sources/fanotify.js';
import { AuditLog } from '../host/audit-log.js';
import { controlRequest, serveControl } from '../host/control.js';
import { connectEngine, EngineConnection } from '../host/engine-connect.js';
import { mountTmpfs, newMountNs, run, until, MountNs, Tmpfs } from './bridge-support.js';

const IMANS = fileURLToPath(new URL('../bin/imans.mjs', import.meta.url));
const OWNER = 1000;

let fs: Tmpfs;
let conn: EngineConnection | null = null;
let bridge: Bridge | null = null;
let server: Server | null = null;
let work: string;
let sock: string;
let auditPath: string;
const namespaces: MountNs[] = [];

async function ns(): Promise<MountNs> {
  const n = await newMountNs();
  namespaces.push(n);
  return n;
}

const ask = (op: string, args: { [k: string]: unknown } = {}) => controlRequest(sock, op, args);

async function measuredPaths(nsId: number): Promise<string> {
  const r = (await ask('measurements', { ns: nsId, bank: 'sha1', format: 'ascii', from: 0, max: 100_000 })) as { data: Uint8Array };
  return Buffer.from(r.data).toString('utf8');
}

beforeAll(async () => {
  work = mkdtempSync('/tmp/imans-e2e-');
  sock = `${work}/run/control.sock`;
  auditPath = `${work}/audit.log`;
  fs = await mountTmpfs();
  conn = await connectEngine('local', { stateDir: `${work}/state`, keepaliveMs: 250 });
  bridge = new Bridge({ client: conn.client, sources: [new FanotifySource({ watch: [fs.dir] })], audit: new AuditLog(auditPath) });
  await bridge.start();
  server = await serveControl(sock, (op, args) => bridge!.handle(op, args));
}, 60_000);

afterAll(async () => {
  server?.close();
  await bridge?.stop();
  await conn?.close();
  for (const n of namespaces) n.close();
  await fs?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('enforcement end to end', () => {
  it('denies a changed file inside the appraising namespace with EPERM and an invalid-hash audit record, not on the host', async () => {
    const box = await ns();
    const file = `${fs.dir}/file`;
    writeFileSync(file, 'hello\n');
    chownSync(file, OWNER, OWNER);
    const hashed = await run('evmctl', ['ima_hash', '-a', 'sha256', file]);
    expect(hashed.code).toBe(0);

    // Configured the way an operator does it: the CLI, over the control socket.
    const created = await run(process.execPath, [IMANS, 'ns', 'create', '--mntns', String(box.inode), '--control', sock]);
    expect(created.stderr).toBe('');
    const id = Number(created.stdout.trim());
    expect(id).toBeGreaterThan(0);
    writeFileSync(`${work}/policy`, `appraise fsmagic=0x01021994 fowner=${OWNER}\n`);
    const loaded = await run(process.execPath, [IMANS, 'policy', 'load', '--ns', String(id), `${work}/policy`, '--control', sock]);
    expect(loaded.code).toBe(0);

    const first = await box.sh(`cat ${file}`);
    expect(first.stdout).toBe('hello\n');
    expect(first.code).toBe(0);

    expect((await box.sh(`echo foo > ${file}`)).code).toBe(0);
    const denied = await box.sh(`cat ${file}`);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Operation not permitted');

    await until('the audit record', () => {
      try {
        return readFileSync(auditPath, 'utf8').includes('invalid-hash');
      } catch {
        return false;
      }
    });
    const records = readFileSync(auditPath, 'utf8').trim().split('\n');
    const rec = records.find((r) => r.includes('cause=invalid-hash'))!;
    expect(rec).toMatch(/^type=1800 msg=audit\(\d+\.\d{3}:\d+\): /);
    expect(rec).toMatch(/ op="?appraise_data"? /);
    expect(rec).toContain(' comm="cat" ');
    expect(rec).toContain(` name="${file}" `);
    expect(rec).toContain(` mnt_ns=${box.inode} `);
    expect(rec).toMatch(/ res=0( |$)/);

    // The host namespace's policy does not appraise: the same file still opens there.
    const host = await run('cat', [file]);
    expect(host.stdout).toBe('foo\n');

    // Re-hashing by its owner makes it valid again (the bridge never rewrites security.ima itself).
    expect((await run('evmctl', ['ima_hash', '-a', 'sha256', file])).code).toBe(0);
    expect((await box.sh(`cat ${file}`)).stdout).toBe('foo\n');
  });

  it('keeps failing safe while the engine is down and delivers every event once it is back', async () => {
    const closedBox = await ns();
    const openBox = await ns();
    const closed = (await ask('ns.create', { mntns: closedBox.inode, fail: 'closed' })) as { ns: number };
    const open = (await ask('ns.create', { mntns: openBox.inode, fail: 'open' })) as { ns: number };
    for (const n of [closed.ns, open.ns]) await ask('policy.load', { ns: n, text: 'measure func=FILE_CHECK\n' });
    for (let i = 0; i < 6; i++) writeFileSync(`${fs.dir}/down-${i}.txt`, `down ${i}\n`);
    expect((await closedBox.sh(`cat ${fs.dir}/down-0.txt`)).code).toBe(0);

    await conn!.local!.stop('SIGKILL');
    // While the engine is gone (before and after the link notices): no open hangs, each namespace
    // answers by its failure mode.
    for (let i = 1; i < 6; i++) {
      const c = await closedBox.sh(`cat ${fs.dir}/down-${i}.txt`);
      expect(c.stderr).toContain('Operation not permitted');
      const o = await openBox.sh(`cat ${fs.dir}/down-${i}.txt`);
      expect(o.stdout).toBe(`down ${i}\n`);
    }
    await until('the link to go down', () => !conn!.client.up);
    expect(bridge!.counters.queued).toBeGreaterThanOrEqual(10);

    conn!.local!.start();
    await until('the engine to come back and the queue to drain', () => conn!.client.up && bridge!.counters.queued === 0 && bridge!.counters.inflight === 0, 40_000);
    const openList = await measuredPaths(open.ns);
    const closedList = await measuredPaths(closed.ns);
    for (let i = 1; i < 6; i++) {
      expect(openList).toContain(`${fs.dir}/down-${i}.txt`);
      expect(closedList).toContain(`${fs.dir}/down-${i}.txt`);
    }
    expect(closedList).toContain(`${fs.dir}/down-0.txt`);
    // And the engine enforces again.
    expect((await closedBox.sh(`cat ${fs.dir}/down-0.txt`)).code).toBe(0);
    const list = (await ask('ns.list')) as { ns: number }[];
    expect(list.map((n) => n.ns)).toEqual(expect.arrayContaining([0, closed.ns, open.ns]));
  });
});
