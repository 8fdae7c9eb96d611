// The link over real byte streams: node-serialport on both ends of a socat pty pair, TCP on
// loopback, and the paced wrapper standing in for a 115200-baud UART. Real timers.
import { afterEach, describe, expect, it } from 'vitest';
import { crc32 as zcrc } from 'node:zlib';
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Link } from '../protocol/link.js';
import type { Transport } from '../protocol/transport.js';
import { createPtyPair, type PtyPair } from '../protocol/node/transports/pty.js';
import { openSerial } from '../protocol/node/transports/serial.js';
import { connectTcp, listenTcp } from '../protocol/node/transports/tcp.js';
import { memoryPair } from '../protocol/node/transports/memory.js';
import { PacedTransport } from '../protocol/node/transports/paced.js';

const crc32 = (b: Uint8Array) => zcrc(b);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function event(i: number, len: number): Uint8Array {
  const m = new Uint8Array(len);
  new DataView(m.buffer).setUint32(0, i, true);
  for (let k = 4; k < len; k++) m[k] = (i + k) & 255;
  return m;
}

/** A sends `n` events to B, B echoes each; resolves with what each side received. */
function exchange(ta: Transport, tb: Transport, n: number, size: (i: number) => number, opts = {}): Promise<{ atB: Uint8Array[]; atA: Uint8Array[]; a: Link; b: Link }> {
  const a = new Link(ta, { crc32, ...opts });
  const b = new Link(tb, { crc32, ...opts });
  cleanups.push(() => {
    a.close();
    b.close();
  });
  const atB: Uint8Array[] = [];
  const atA: Uint8Array[] = [];
  b.onMessage((m) => {
    atB.push(m);
    b.send(m);
  });
  return new Promise((resolve) => {
    a.onMessage((m) => {
      atA.push(m);
      if (atA.length === n) resolve({ atA, atB, a, b });
    });
    let i = 0;
    const feed = () => {
      while (i < n) if (!a.send(event(i, size(i++)))) break;
    };
    a.onDrain(feed);
    feed();
  });
}

function inOrder(ms: Uint8Array[], n: number, size: (i: number) => number): boolean {
  if (ms.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const e = event(i, size(i));
    if (ms[i].length !== e.length || Buffer.compare(Buffer.from(ms[i]), Buffer.from(e)) !== 0) return false;
  }
  return true;
}

describe('link over real transports', () => {
  it('runs over node-serialport on a socat pty pair, both ways', async () => {
    const pty: PtyPair = await createPtyPair();
    cleanups.push(() => pty.close());
    expect(existsSync(pty.a) && existsSync(pty.b)).toBe(true);
    const sa = await openSerial(pty.a, 115200);
    const sb = await openSerial(pty.b, 115200);
    const size = (i: number) => 4 + (i % 40) + (i % 500 === 0 ? 3000 : 0);
    const r = await exchange(sa, sb, 5000, size, { maxFrame: 256, window: 8 });
    expect(inOrder(r.atB, 5000, size)).toBe(true);
    expect(inOrder(r.atA, 5000, size)).toBe(true);
    expect(r.a.counters.crc_errors + r.b.counters.crc_errors).toBe(0);
    expect(r.a.counters.data_frames_sent).toBeLessThan(5000);
  });

  it('closes the pty pair: socat is gone and the links are removed', async () => {
    const pty = await createPtyPair();
    await pty.close();
    expect(existsSync(pty.a) || existsSync(pty.b)).toBe(false);
    await expect(openSerial(pty.a)).rejects.toMatchObject({ code: 'SERIAL_OPEN' });
  });

  it('leaves no socat behind when the process that made the pair is killed', async () => {
    const script = `import { createPtyPair } from ${JSON.stringify(fileURLToPath(new URL('../protocol/node/transports/pty.ts', import.meta.url)))};
const p = await createPtyPair(); process.stdout.write(p.a + '\\n'); setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const link = await new Promise<string>((resolve) => owner.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
    const relays = () => spawnSync('pgrep', ['-f', `socat .*${link}`]).stdout.toString().trim();
    expect(relays()).not.toBe('');
    owner.kill('SIGKILL');
    for (let i = 0; i < 100 && relays() !== ''; i++) await new Promise((r) => setTimeout(r, 50));
    expect(relays()).toBe('');
  });

  it('runs over TCP on loopback', async () => {
    const server = await listenTcp(0);
    cleanups.push(() => server.close());
    const accepted = new Promise<Transport>((res) => server.onConnection(res));
    const client = await connectTcp(server.port);
    const size = (i: number) => 4 + (i % 100);
    const r = await exchange(client, await accepted, 3000, size, { maxFrame: 1024, window: 16 });
    expect(inOrder(r.atB, 3000, size)).toBe(true);
    expect(inOrder(r.atA, 3000, size)).toBe(true);
    await expect(connectTcp(1, '127.0.0.1')).rejects.toMatchObject({ code: 'TCP_CONNECT' });
  });

  it('runs over a line paced to 115200 baud, and a bounded line buffer counts what it drops', async () => {
    const [ma, mb] = memoryPair();
    const pa = new PacedTransport(ma, { baud: 115200 });
    const pb = new PacedTransport(mb, { baud: 115200 });
    const size = () => 16;
    const r = await exchange(pa, pb, 300, size);
    expect(inOrder(r.atA, 300, size)).toBe(true);
    // Paced bytes never pass synchronously; over the cap they are dropped and counted.
    const [mc] = memoryPair();
    const small = new PacedTransport(mc, { baud: 9600, bufferBytes: 100 });
    cleanups.push(() => small.close());
    small.write(new Uint8Array(80));
    small.write(new Uint8Array(80));
    expect(small.backlog).toBe(100);
    expect(small.counters.overruns).toBe(60);
  });
});
