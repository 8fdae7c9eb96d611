// The bridge's own logic (failure modes, deadlines, late delivery, audit) with the real fanotify
// helper on a tmpfs this file mounts, and an in-process stand-in for the engine client whose
// verdicts and link state the test steers. The real engine over a pty is test/e2e-enforce.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { CONTROL_OP, EVENT_FLAG, FileEvent, VERDICT, Verdict } from '../protocol/messages.js';
import { Bridge, EngineClient, VerdictSink } from '../host/bridge.js';
import { FanotifySource } from '../host/sources/fanotify.js';
import { AuditLog } from '../host/audit-log.js';
import { mountTmpfs, newMountNs, run, until, Tmpfs, MountNs } from './bridge-support.js';

/** Stands in for host/engine-client.ts: `decide` gives each verdict; `up` toggles the link. */
class SteeredClient extends EventEmitter implements EngineClient {
  up = true;
  submitted: FileEvent[] = [];
  stalled: (() => void)[] = [];
  namespaces: { ns: number; parent: number; mntns: number; userns: number; fail: string; deadlineMs: number }[] = [
    { ns: 0, parent: -1, mntns: 0, userns: 0, fail: 'closed', deadlineMs: 0 },
  ];
  constructor(public decide: (ev: FileEvent) => Verdict | 'stall') {
    super();
  }
  send(ev: FileEvent, to: VerdictSink): void {
    if (!this.up) return to.failed(new Error('link down'));
    this.submitted.push(structuredClone(ev));
    const v = this.decide(ev);
    if (v === 'stall') this.stalled.push(() => to.verdict({ id: ev.id, code: 0, statuses: [], audit: [] }));
    // Asynchronously, as a verdict from a real engine arrives.
    else queueMicrotask(() => to.verdict(v));
  }
  async control(op: number, args: { [k: string]: unknown }): Promise<unknown> {
    if (!this.up) throw new Error('link down');
    if (op === CONTROL_OP.NS_LIST) return this.namespaces;
    if (op === CONTROL_OP.POLICY_SHOW) return { text: '' };
    if (op === CONTROL_OP.POLICY_LOAD) return { rules: 1 };
    if (op === CONTROL_OP.NS_CREATE) {
      const ns = this.namespaces.length;
      this.namespaces.push({ ns, parent: 0, mntns: Number(args.mntns), userns: 0, fail: String(args.fail ?? 'closed'), deadlineMs: 500 });
      return { ns };
    }
    throw new Error('unsupported');
  }
  async query(): Promise<unknown> {
    return {};
  }
  setUp(up: boolean) {
    this.up = up;
    this.emit(up ? 'up' : 'down');
  }
}

const allow = (ev: FileEvent): Verdict => ({ id: ev.id, code: VERDICT.CACHEABLE, statuses: [], audit: [] });

let fs: Tmpfs;
let bridge: Bridge | null = null;
const namespaces: MountNs[] = [];

beforeAll(async () => {
  fs = await mountTmpfs();
  writeFileSync(`${fs.dir}/f.txt`, 'content');
});
afterEach(async () => {
  await bridge?.stop();
  bridge = null;
  for (const ns of namespaces.splice(0)) ns.close();
});
afterAll(async () => {
  await fs?.cleanup();
});

async function start(client: SteeredClient, audit?: AuditLog, maxInflight?: number, engineWaitMs?: number) {
  const source = new FanotifySource({ watch: [fs.dir] });
  bridge = new Bridge({ client, sources: [source], audit, maxInflight, engineWaitMs });
  await bridge.start();
  return { bridge, source };
}

describe('bridge core with the real fanotify helper', () => {
  it('enforces the engine verdict and writes its audit records', async () => {
    const auditPath = mkdtempSync('/tmp/imans-audit-') + '/audit.log';
    const rec = 'type=1800 msg=audit(1.000:1): pid=1 op=appraise_data cause=invalid-hash comm="cat" res=0 errno=0';
    const client = new SteeredClient((ev) =>
      ev.file.path.endsWith('/bad.txt') ? { id: ev.id, code: VERDICT.DENY | VERDICT.APPRAISED, statuses: [], audit: [rec + '\nforged'] } : allow(ev),
    );
    writeFileSync(`${fs.dir}/bad.txt`, 'bad');
    await start(client, new AuditLog(auditPath));
    // Only a policy that appraises makes opens wait for the verdict.
    await bridge!.policyLoad(0, 'appraise fsmagic=0x01021994\n');
    expect((await run('cat', [`${fs.dir}/f.txt`])).stdout).toBe('content');
    const r = await run('cat', [`${fs.dir}/bad.txt`]);
    expect(r.stderr).toContain('Operation not permitted');
    expect(readFileSync(auditPath, 'utf8')).toBe(rec + ' forged\n');
    const s = await bridge!.stats();
    expect(s.bridge.denied).toBe(1);
    expect(client.submitted.map((e) => e.file.path)).toEqual([`${fs.dir}/f.txt`, `${fs.dir}/bad.txt`]);
    expect(client.submitted[0].file.fsname).toBe('tmpfs');
  });

  it('with the engine down: fail-closed namespace denies, host (no appraisal) allows, all delivered LATE and in order later', async () => {
    const client = new SteeredClient(allow);
    const ns = await newMountNs();
    namespaces.push(ns);
    await start(client);
    await bridge!.nsCreate({ mntns: ns.inode, fail: 'closed' });
    client.setUp(false);
    const inside = await ns.sh(`cat ${fs.dir}/f.txt`);
    expect(inside.stderr).toContain('Operation not permitted');
    expect((await run('cat', [`${fs.dir}/f.txt`])).stdout).toBe('content');
    await until('both events to be queued', () => bridge!.counters.queued === 2);
    expect(client.submitted).toHaveLength(0);
    expect([bridge!.counters.failDenied, bridge!.counters.failAllowed]).toEqual([1, 1]);
    client.setUp(true);
    for (let i = 0; i < 100 && client.submitted.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(client.submitted.map((e) => [e.proc.mntns, e.flags & EVENT_FLAG.LATE])).toEqual([
      [ns.inode, EVENT_FLAG.LATE],
      [expect.any(Number), EVENT_FLAG.LATE],
    ]);
    expect(client.submitted[0].id).toBeLessThan(client.submitted[1].id);
    expect(bridge!.counters.queued).toBe(0);
  });

  it('answers at once where no policy can deny, and still forwards the event', async () => {
    const client = new SteeredClient(() => 'stall');
    await start(client);
    expect((await run('cat', [`${fs.dir}/f.txt`])).stdout).toBe('content');
    await until('the event to be forwarded', () => client.submitted.length > 0);
    expect(client.submitted.map((e) => e.file.path)).toEqual([`${fs.dir}/f.txt`]);
    const src = (await bridge!.stats()).sources.fanotify;
    expect([src.timeouts, src.allowed, src.forwarded]).toEqual([0, 1, 1]);
  });

  it('a control operation waits for an engine link coming back, and fails with ENGINE_DOWN when it does not', async () => {
    const client = new SteeredClient(allow);
    await start(client, undefined, undefined, 400);
    client.setUp(false);
    const listed = bridge!.nsList();
    setTimeout(() => client.setUp(true), 100);
    expect(await listed).toEqual([expect.objectContaining({ ns: 0 })]);
    client.setUp(false);
    await expect(bridge!.nsList()).rejects.toMatchObject({ code: 'ENGINE_DOWN', message: expect.stringContaining('waited 400 ms') });
  });

  it('with the engine behind, stops taking events at its in-flight limit and takes the rest, in order, as verdicts return', async () => {
    const client = new SteeredClient(() => 'stall');
    await start(client, undefined, 8);
    const files = Array.from({ length: 40 }, (_, i) => `${fs.dir}/bp-${i}`);
    for (const f of files) writeFileSync(f, f);
    // No policy appraises: the opens are answered at once, their events wait in the helper.
    expect((await run('cat', files)).code).toBe(0);
    await until('the limit', () => client.submitted.length === 8);
    await new Promise((r) => setTimeout(r, 200));
    expect(client.submitted).toHaveLength(8);
    expect(bridge!.counters.pauses).toBe(1);
    // Verdicts return: each batch of four frees room for more, until every event is through.
    while (client.submitted.length < files.length) {
      for (const release of client.stalled.splice(0)) release();
      await until('more events', () => client.stalled.length > 0 || client.submitted.length === files.length);
    }
    for (const release of client.stalled.splice(0)) release();
    await until('all answered', () => bridge!.counters.inflight === 0);
    expect(bridge!.counters.maxInflight).toBe(8);
    expect(client.submitted.map((e) => e.file.path)).toEqual(files);
  });

  it('with the engine stalled: the helper deadline answers by the fail mode, the verdict counts as late', async () => {
    const client = new SteeredClient(() => 'stall');
    const ns = await newMountNs();
    namespaces.push(ns);
    await start(client);
    const opened = await bridge!.nsCreate({ mntns: ns.inode, fail: 'open', deadlineMs: 100 });
    await bridge!.policyLoad(opened.ns, 'appraise fowner=0\n');
    expect((await ns.sh(`cat ${fs.dir}/f.txt`)).stdout).toBe('content');
    await bridge!.nsCreate({ mntns: (await newMountNsKept()).inode, fail: 'closed', deadlineMs: 100 });
    const closedNs = namespaces[namespaces.length - 1];
    expect((await closedNs.sh(`cat ${fs.dir}/f.txt`)).stderr).toContain('Operation not permitted');
    // The helper's stats reply follows its deadline notices on the same stream: once it counts both,
    // the bridge has heard of both, and the verdicts released now are late.
    await until('both deadline answers', async () => (await bridge!.stats()).sources.fanotify.timeouts === 2);
    for (const release of client.stalled) release();
    await until('both verdicts counted late', () => bridge!.counters.lateVerdicts === 2);
  });
});

async function newMountNsKept(): Promise<MountNs> {
  const ns = await newMountNs();
  namespaces.push(ns);
  return ns;
}
