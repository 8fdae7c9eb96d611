import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { Server } from 'node:net';
import { spawnSync } from 'node:child_process';
import { controlRequest, serveControl, decodeLine, encodeLine } from './control.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function serve(handler: (op: string, args: { [k: string]: unknown }) => Promise<unknown>) {
  const path = mkdtempSync('/tmp/imans-ctl-') + '/sub/control.sock';
  servers.push(await serveControl(path, handler));
  return path;
}

describe('control socket', () => {
  it('is created mode 0600 in a 0700 directory', async () => {
    const path = await serve(async () => null);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path.replace(/\/control.sock$/, '')).mode & 0o777).toBe(0o700);
  });

  it('carries requests, byte strings and typed errors both ways', async () => {
    const path = await serve(async (op, args) => {
      if (op === 'echo') return { got: args.cert, n: 1 };
      const e = new Error('no such namespace 7') as Error & { code: string };
      e.code = 'NO_SUCH_NAMESPACE';
      throw e;
    });
    const cert = new Uint8Array([0, 1, 254, 255]);
    expect(await controlRequest(path, 'echo', { cert })).toEqual({ got: cert, n: 1 });
    await expect(controlRequest(path, 'other')).rejects.toMatchObject({ message: 'no such namespace 7', code: 'NO_SUCH_NAMESPACE' });
  });

  it('says plainly when no bridge listens', async () => {
    await expect(controlRequest('/tmp/imans-nonexistent/control.sock', 'ns.list')).rejects.toThrow(/no bridge is listening there/);
  });

  it('replaces a stale socket but refuses to steal a live one', async () => {
    const dir = mkdtempSync('/tmp/imans-ctl-');
    const path = `${dir}/control.sock`;
    // A bridge that died without cleaning up: its socket file stays, nobody listens.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
    expect(statSync(path).isSocket()).toBe(true);
    servers.push(await serveControl(path, async () => 'fresh'));
    expect(await controlRequest(path, 'x')).toBe('fresh');
    await expect(serveControl(path, async () => null)).rejects.toThrow(/already listening/);
    writeFileSync(`${dir}/file`, '');
    await expect(serveControl(`${dir}/file`, async () => null)).rejects.toThrow(/not a socket/);
  });

  it('answers malformed requests with an error line, never a crash', async () => {
    const path = await serve(async () => 'ok');
    const { createConnection } = await import('node:net');
    const lines = await new Promise<string[]>((resolve) => {
      const s = createConnection(path);
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d) => {
        buf += d;
        if (buf.split('\n').length > 3) {
          s.destroy();
          resolve(buf.trim().split('\n'));
        }
      });
      s.write('not json\n{"id":2}\n{"id":3,"op":"x","args":{"b":{"$base64":"AAE="}}}\n');
    });
    const parsed = lines.map((l) => decodeLine(l) as { id: unknown; ok: boolean });
    expect(parsed.map((p) => p.ok).sort()).toEqual([false, false, true]);
    expect(encodeLine({ b: new Uint8Array([0, 1]) })).toBe('{"b":{"$base64":"AAE="}}\n');
  });
});
