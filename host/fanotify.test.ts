// The native helper against the real kernel: a tmpfs this file mounts (and always unmounts), real
// openers (cat, sh) and real fanotify permission responses.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { FanotifyHelper, HelperEvent, HELPER_FLAG, FAN, ensureHelperBuilt, decodeEvent, HelperError } from './fanotify.js';
import { seededRandom } from '../protocol/node/transports/faulty.js';
import { mountTmpfs, newMountNs, run, sh, until, Tmpfs, MountNs, mntnsOf } from '../test/bridge-support.js';

let fs: Tmpfs;
let helper: FanotifyHelper | null = null;
const namespaces: MountNs[] = [];

beforeAll(async () => {
  ensureHelperBuilt();
  fs = await mountTmpfs();
});
afterEach(async () => {
  await helper?.close();
  helper = null;
  for (const ns of namespaces.splice(0)) ns.close();
});
afterAll(async () => {
  await fs?.cleanup();
});

/** A helper watching the test tmpfs that answers every event with `answer` (or not at all when null). */
async function watch(answer: ((ev: HelperEvent) => { allow: boolean; cache?: boolean } | null) | null) {
  const h = await FanotifyHelper.start();
  helper = h;
  const events: HelperEvent[] = [];
  h.on('event', (ev) => {
    events.push(ev);
    const a = answer?.(ev);
    if (a) h.verdict(ev.cookie, a.allow, a.cache ?? false);
  });
  h.nsConfig(0, false, 2000);
  await h.mark(fs.dir);
  return { h, events };
}

const sha = (alg: string, s: string | Buffer) => createHash(alg).update(s).digest('hex');
const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : null);

describe('native fanotify helper', () => {
  it('reports an open with the opener, the file version, the xattr and the content digest read from the fd', async () => {
    const file = `${fs.dir}/a.txt`;
    writeFileSync(file, 'hello\n');
    spawnSync('chown', ['1234:4321', file]);
    const xattr = '0404' + sha('sha256', 'hello\n');
    spawnSync('setfattr', ['-n', 'security.ima', '-v', '0x' + xattr, file]);
    const { events } = await watch(() => ({ allow: true }));
    const r = await run('cat', [file]);
    expect(r.stdout).toBe('hello\n');
    const ev = events.find((e) => e.path === file)!;
    const st = statSync(file);
    expect(ev).toBeDefined();
    expect(ev.comm).toBe('cat');
    expect(ev.mask & FAN.OPEN_PERM).toBeTruthy();
    expect(ev.mntns).toBe(mntnsOf('self'));
    expect([ev.uid, ev.euid, ev.gid, ev.egid]).toEqual([0, 0, 0, 0]);
    expect([ev.dev, ev.ino, ev.size, ev.mode]).toEqual([st.dev, st.ino, 6, st.mode]);
    expect([ev.fuid, ev.fgid]).toEqual([1234, 4321]);
    expect(ev.fsmagic).toBe(0x01021994);
    expect(hex(ev.xattr)).toBe(xattr);
    expect(ev.digests.map((d) => [d.algo, hex(d.digest)])).toEqual([[4, sha('sha256', 'hello\n')]]);
  });

  it("reports a non-root opener's real, effective, saved and fs ids and its comm", async () => {
    const file = `${fs.dir}/creds.txt`;
    writeFileSync(file, 'ids\n', { mode: 0o644 });
    const { events } = await watch(() => ({ allow: true }));
    const r = await run('setpriv', ['--reuid', '1234', '--regid', '4321', '--clear-groups', 'cat', file]);
    expect(r.stdout).toBe('ids\n');
    const evs = events.filter((e) => e.path === file);
    expect(evs).toHaveLength(1);
    expect([evs[0].uid, evs[0].euid, evs[0].suid, evs[0].fsuid]).toEqual([1234, 1234, 1234, 1234]);
    expect([evs[0].gid, evs[0].egid, evs[0].sgid, evs[0].fsgid]).toEqual([4321, 4321, 4321, 4321]);
    expect(evs[0].comm).toBe('cat');
  });

  it('denies with EPERM when told to, and the opener sees it', async () => {
    const file = `${fs.dir}/deny.txt`;
    writeFileSync(file, 'secret');
    await watch((ev) => (ev.path === file ? { allow: false } : { allow: true }));
    const r = await run('cat', [file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Operation not permitted');
    expect((await run('cat', [`${fs.dir}/a.txt`])).code).toBe(0);
  });

  it('also hashes with the algorithm the xattr names, and passes any xattr bytes through', async () => {
    const f1 = `${fs.dir}/sha512.txt`;
    const f2 = `${fs.dir}/sig-sha1.txt`;
    const f3 = `${fs.dir}/junk.txt`;
    writeFileSync(f1, 'five twelve');
    writeFileSync(f2, 'one');
    writeFileSync(f3, 'junk');
    spawnSync('setfattr', ['-n', 'security.ima', '-v', '0x0406' + sha('sha512', 'x'), f1]);
    spawnSync('setfattr', ['-n', 'security.ima', '-v', '0x030202aabbccdd0004deadbeef', f2]);
    const junk = '04' + Buffer.alloc(4000, 0xff).toString('hex');
    expect(spawnSync('setfattr', ['-n', 'security.ima', '-v', '0x' + junk, f3]).status).toBe(0);
    const { events } = await watch(() => ({ allow: true }));
    for (const f of [f1, f2, f3]) expect((await run('cat', [f])).code).toBe(0);
    const by = (f: string) => events.find((e) => e.path === f)!;
    expect(by(f1).digests.map((d) => [d.algo, hex(d.digest)])).toEqual([
      [4, sha('sha256', 'five twelve')],
      [6, sha('sha512', 'five twelve')],
    ]);
    expect(by(f2).digests.map((d) => [d.algo, hex(d.digest)])).toEqual([
      [4, sha('sha256', 'one')],
      [2, sha('sha1', 'one')],
    ]);
    expect(hex(by(f3).xattr)).toBe(junk);
    // hash_algo 0xff is no algorithm: only sha256, and the event says why.
    expect(by(f3).digests.map((d) => d.algo)).toEqual([4]);
    expect(by(f3).flags & HELPER_FLAG.ALGO_UNSUPPORTED).toBeTruthy();
  });

  it('answers by the namespace fail response when no verdict comes, and says so', async () => {
    const file = `${fs.dir}/late.txt`;
    writeFileSync(file, 'late');
    const { h } = await watch(null);
    const timeouts: [number, boolean][] = [];
    h.on('timeout', (c, allowed) => timeouts.push([c, allowed]));
    h.nsConfig(0, false, 150);
    const denied = await run('cat', [file]);
    expect(denied.stderr).toContain('Operation not permitted');
    h.nsConfig(0, true, 150);
    const allowed = await run('cat', [file]);
    expect(allowed.stdout).toBe('late');
    expect(timeouts.map((t) => t[1])).toEqual([false, true]);
    expect((await h.stats()).timeouts).toBe(2);
  });

  it('answers a cacheable verdict itself until the file changes', async () => {
    const file = `${fs.dir}/cached.txt`;
    writeFileSync(file, 'v1');
    const { h, events } = await watch(() => ({ allow: true, cache: true }));
    const notes: number[] = [];
    h.on('notify', (n) => notes.push(n.mask));
    for (let i = 0; i < 3; i++) expect((await run('cat', [file])).stdout).toBe('v1');
    expect(events.filter((e) => e.path === file)).toHaveLength(1);
    expect((await h.stats()).cacheHits).toBe(2);
    await sh(`echo v2 > ${file}`);
    expect((await run('cat', [file])).stdout).toBe('v2\n');
    const seen = events.filter((e) => e.path === file);
    // The writer's open still sees version 1, so the cache answers it too.
    expect(seen).toHaveLength(2);
    expect(hex(seen[1].digests[0].digest)).toBe(sha('sha256', 'v2\n'));
    expect(notes.some((m) => m & FAN.CLOSE_WRITE)).toBe(true);
  });

  it('sees openers in another mount namespace through the filesystem mark, with that namespace inode', async () => {
    const file = `${fs.dir}/ns.txt`;
    writeFileSync(file, 'ns');
    const ns = await newMountNs();
    namespaces.push(ns);
    const { events } = await watch(() => ({ allow: true }));
    expect((await ns.sh(`cat ${file}`)).stdout).toBe('ns');
    const ev = events.find((e) => e.path === file)!;
    expect(ev.mntns).toBe(ns.inode);
    expect(ev.mntns).not.toBe(mntnsOf('self'));
  });

  it('flags a read while a writer is mid-write (ToMToU) and does not cache it', async () => {
    const file = `${fs.dir}/tomtou.txt`;
    writeFileSync(file, '');
    const { events } = await watch(() => ({ allow: true, cache: true }));
    const writer = sh(`exec 3>>${file}; echo x >&3; sleep 0.5; echo y >&3`);
    await new Promise((r) => setTimeout(r, 200));
    await run('cat', [file]);
    await writer;
    await run('cat', [file]);
    const reads = events.filter((e) => e.path === file && e.comm === 'cat');
    expect(reads).toHaveLength(2);
    expect(reads[0].flags & HELPER_FLAG.TOMTOU).toBeTruthy();
    expect(reads[1].flags & HELPER_FLAG.TOMTOU).toBe(0);
  });

  it('allows at once in a nowait namespace, forwards the event anyway, and caches a later allow', async () => {
    const file = `${fs.dir}/nowait.txt`;
    writeFileSync(file, 'nw');
    const { h, events } = await watch(null);
    h.nsConfig(0, false, 60_000, true);
    expect((await run('cat', [file])).stdout).toBe('nw');
    // The open was answered first; its event follows.
    await until('the event', () => events.some((e) => e.path === file));
    const ev = events.find((e) => e.path === file)!;
    expect(ev.flags & HELPER_FLAG.ANSWERED).toBeTruthy();
    h.verdict(ev.cookie, true, true);
    await h.stats(); // a round trip through the helper: the verdict before it has been taken
    expect((await run('cat', [file])).stdout).toBe('nw');
    expect(events.filter((e) => e.path === file)).toHaveLength(1);
    const s = await h.stats();
    expect([s.cacheHits, s.timeouts, s.pending]).toEqual([1, 0, 0]);
  });

  it('keeps its output stream framed while the bridge reads it late and in pieces', async () => {
    // The bridge's event loop busy in slices while opens are allowed at once: each slice produces
    // more output than a socket's worth drained in between, so the backlog grows, is written in
    // pieces, and the buffer is compacted while a frame is being built.
    const files = 4000;
    const passes = 3;
    mkdirSync(`${fs.dir}/busy`);
    for (let i = 0; i < files; i++) writeFileSync(`${fs.dir}/busy/file-with-a-longish-name-${i}`, `${i}\n`);
    const { h, events } = await watch(null);
    h.nsConfig(0, true, 60_000, true);
    let done = false;
    const opener = sh(`for i in $(seq ${passes}); do for f in ${fs.dir}/busy/*; do read x < $f; done; done`).finally(() => (done = true));
    while (!done) {
      const busyUntil = Date.now() + 150;
      while (Date.now() < busyUntil);
      await new Promise((r) => setImmediate(r));
    }
    expect((await opener).code).toBe(0);
    await until('every event', () => events.length === files * passes, 10_000);
    expect((await h.stats()).compactions).toBeGreaterThan(0);
    const cookies = events.map((e) => e.cookie);
    expect(cookies).toEqual(cookies.map((_, i) => cookies[0] + i));
    expect(events.filter((e) => e.path === `${fs.dir}/busy/file-with-a-longish-name-17`)).toHaveLength(passes);
  });

  it('hashes a file unlinked while its opener waits, from the event fd, and reports the name the kernel gives it', async () => {
    const file = `${fs.dir}/doomed.txt`;
    writeFileSync(file, 'last words\n');
    const { h, events } = await watch(() => ({ allow: true }));
    // Stopped, the helper cannot read the event before the file is gone.
    process.kill(h.pid, 'SIGSTOP');
    const reader = run('cat', [file]);
    await new Promise((r) => setTimeout(r, 200));
    spawnSync('rm', [file]);
    process.kill(h.pid, 'SIGCONT');
    expect((await reader).stdout).toBe('last words\n');
    const ev = events.find((e) => e.path.startsWith(file))!;
    expect(ev.path).toBe(`${file} (deleted)`);
    expect(hex(ev.digests[0].digest)).toBe(sha('sha256', 'last words\n'));
  });

  it('skips hashing beyond the size limit and says so', async () => {
    const file = `${fs.dir}/big.bin`;
    writeFileSync(file, Buffer.alloc(100_000, 7));
    const { h, events } = await watch(() => ({ allow: true }));
    await h.limits(50_000);
    expect((await run('cat', [file])).code).toBe(0);
    const ev = events.find((e) => e.path === file)!;
    expect(ev.digests).toEqual([]);
    expect(ev.flags & HELPER_FLAG.HASH_SKIPPED).toBeTruthy();
  });

  it('hashes a file larger than its buffer correctly', async () => {
    const file = `${fs.dir}/multi.bin`;
    const data = Buffer.alloc(300_001);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
    writeFileSync(file, data);
    const { events } = await watch(() => ({ allow: true }));
    expect((await run('cat', [file])).code).toBe(0);
    expect(hex(events.find((e) => e.path === file)!.digests[0].digest)).toBe(sha('sha256', data));
  });

  it('answers pending events by their fail response when the bridge closes its end, and exits', async () => {
    const file = `${fs.dir}/closing.txt`;
    writeFileSync(file, 'c');
    const { h, events } = await watch(null);
    h.nsConfig(0, false, 60_000);
    const reader = run('cat', [file]);
    while (!events.some((e) => e.path === file)) await new Promise((r) => setTimeout(r, 10));
    await h.close();
    const r = await reader;
    expect(r.stderr).toContain('Operation not permitted');
    expect(h.alive).toBe(false);
    // With the group gone nothing watches the filesystem any more.
    expect((await run('cat', [file])).stdout).toBe('c');
  });

  it('refuses to mark a path that does not exist, with a readable error', async () => {
    const h = await FanotifyHelper.start();
    helper = h;
    await expect(h.mark(`${fs.dir}/no/such/dir`)).rejects.toThrow(/fanotify mark of .*: ENOENT/);
  });
});

/** An R_EVENT body as the helper writes it (imans-fanotify.c handle_perm). */
function eventBody(path: string, comm: string, xattr: Buffer | null, digests: [number, Buffer][]): Buffer {
  const fixed = Buffer.alloc(16 + 16 + 40 + 24 + 12 + 12 + 16);
  let o = 0;
  for (const v of [7, FAN.OPEN_PERM, 0, 4242]) o = fixed.writeUInt32LE(v, o);
  for (const v of [4026531841, 4026531837]) o = fixed.writeBigUInt64LE(BigInt(v), o);
  for (let i = 0; i < 10; i++) o = fixed.writeUInt32LE(1000 + i, o);
  for (const v of [64, 123456, 6, 1700000000]) o = fixed.writeBigUInt64LE(BigInt(v), o);
  o = fixed.writeUInt32LE(5, o);
  o = fixed.writeBigUInt64LE(1700000001n, o);
  o = fixed.writeUInt32LE(9, o);
  for (const v of [0x01021994, 0, 0, 0o100644]) o = fixed.writeUInt32LE(v, o);
  const p = Buffer.from(path);
  const c = Buffer.from(comm);
  const parts: Buffer[] = [fixed, Buffer.from([p.length & 255, p.length >> 8]), p, Buffer.from([c.length]), c];
  const xl = Buffer.alloc(4);
  xl.writeInt32LE(xattr ? xattr.length : -1);
  parts.push(xl);
  if (xattr) parts.push(xattr);
  parts.push(Buffer.from([digests.length]));
  for (const [algo, d] of digests) parts.push(Buffer.from([algo, d.length]), d);
  return Buffer.concat(parts);
}

describe('helper event frames', () => {
  it('decodes every field the helper writes', () => {
    const ev = decodeEvent(eventBody('/t/a b', 'cat', Buffer.from('0404aa', 'hex'), [[4, Buffer.alloc(32, 1)]]));
    expect(ev).toMatchObject({ cookie: 7, pid: 4242, mntns: 4026531841, userns: 4026531837, uid: 1000, fsgid: 1007, auid: 1008, ses: 1009 });
    expect(ev).toMatchObject({ dev: 64, ino: 123456, size: 6, mtimeSec: 1700000000, mtimeNsec: 5, ctimeNsec: 9, fsmagic: 0x01021994, mode: 0o100644 });
    expect([ev.path, ev.comm, hex(ev.xattr)]).toEqual(['/t/a b', 'cat', '0404aa']);
    expect(ev.digests.map((d) => [d.algo, hex(d.digest)])).toEqual([[4, '01'.repeat(32)]]);
    expect(decodeEvent(eventBody('/x', '', null, [])).xattr).toBeNull();
  });

  it('fuzz: a truncated or corrupted frame is a HelperError naming what it ends in, never another exception', () => {
    const r = seededRandom(5);
    const good = eventBody('/some/file', 'sh', Buffer.alloc(40, 3), [[4, Buffer.alloc(32, 2)], [8, Buffer.alloc(64, 9)]]);
    for (let n = 0; n < good.length; n++) expect(() => decodeEvent(good.subarray(0, n))).toThrow(HelperError);
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(good);
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      const cut = r() < 0.3 ? b.subarray(0, Math.floor(r() * b.length)) : b;
      try {
        const ev = decodeEvent(cut);
        for (const d of ev.digests) expect(d.digest.length).toBeLessThanOrEqual(255);
      } catch (e) {
        expect(e).toBeInstanceOf(HelperError);
      }
    }
  });
});

describe('helper stream out of step', () => {
  it('stops a helper whose output loses its framing, and says why', async () => {
    // A stand-in process speaking the helper's framing: READY, then a length no frame can have.
    const script = `${fs.dir}/bad-helper.sh`;
    writeFileSync(script, "#!/bin/sh\nprintf '\\011\\000\\000\\000\\001\\001\\000\\000\\000\\000\\000\\000\\000'\nsleep 0.3\nprintf '\\377\\377\\377\\177junk'\nexec sleep 30\n", { mode: 0o755 });
    const h = await FanotifyHelper.start(script);
    const err = new Promise<Error>((resolve) => h.once('error', resolve));
    const exited = new Promise<void>((resolve) => h.once('exit', () => resolve()));
    expect((await err).message).toMatch(/frame length 2147483647 .* out of step/);
    await exited;
    expect(h.alive).toBe(false);
  });
});
