// What the link offers for its kind of line: a local engine over a plain pty gets big frames and a
// wide window; paced like a UART, the pair settles on the UART defaults. Both ends are real: the
// `imans engine` child, a socat pty pair, serialport.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectEngine, EngineConnection } from '../host/engine-connect.js';
import { LINE_OFFERS } from '../protocol/link.js';

const IMANS = fileURLToPath(new URL('../bin/imans.mjs', import.meta.url));
let conn: EngineConnection | null = null;

afterEach(async () => {
  await conn?.close();
  conn = null;
});

describe('a local engine', () => {
  it('a local engine over a plain pty runs stream-sized frames and window, and both HELLOs say so', async () => {
    conn = await connectEngine('local');
    expect(conn.link.params).toMatchObject(LINE_OFFERS.stream);
    expect(conn.client.engine!.limits).toMatchObject(LINE_OFFERS.stream);
  });

  it('paced like a UART, the pair settles on the UART defaults', async () => {
    conn = await connectEngine('local', { pace: true, baud: 115200 });
    expect(conn.link.params).toMatchObject({ maxFrame: 256, window: 4 });
    expect(conn.client.engine!.limits).toMatchObject({ maxFrame: 256, window: 4 });
  });

  it('closing stops the local engine cleanly with SIGTERM, not by the SIGKILL fallback', async () => {
    const c = await connectEngine('local');
    const child = c.local!.child!;
    await c.close();
    // Exit status 0, not the fallback's SIGKILL.
    expect([child.exitCode, child.signalCode]).toEqual([0, null]);
  });

  it('imans engine refuses an unknown --line', () => {
    const r = spawnSync(process.execPath, [IMANS, 'engine', '--port', '/dev/null', '--line', 'fast'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--line expects uart or stream, got "fast"');
  });
});
