// The loopback demo end to end: `imans sim` starts a real engine process on one end of a socat
// pty pair and replays the sample trace through serialport, the link and both codecs.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/imans.mjs', import.meta.url));

function sim(args: string[]): { status: number | null; json: Record<string, any>; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'sim', '--json', ...args], { encoding: 'utf8', timeout: 60_000 });
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`sim printed no JSON (exit ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, json, stderr: r.stderr };
}

describe('imans sim', () => {
  it('replays the sample trace with nothing lost and repeated files costing a few bytes each', () => {
    const r = sim(['--repeat', '5']);
    expect(r.status).toBe(0);
    expect(r.json.events).toBe(3000);
    expect(r.json.verdicts).toBe(3000);
    expect(r.json.lost).toBe(0);
    // Intern table and batching: the repeats cost a handful of bytes, verdicts included.
    expect(r.json.bytes_per_event).toBeLessThan(16);
    expect(r.json.wire_bytes).toBeGreaterThan(0);
    for (const k of ['events_per_s', 'retransmits', 'crc_errors']) expect(typeof r.json[k]).toBe('number');
  });

  it('talks to an engine already listening on TCP', async () => {
    const state = mkdtempSync(join(tmpdir(), 'imans-sim-'));
    const engine = spawn(process.execPath, [BIN, 'engine', '--listen', '127.0.0.1:0', '--state', state], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let err = '';
        engine.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /listening on [^:]+:(\d+)/.exec(err);
          if (m) resolve(Number(m[1]));
        });
        engine.once('exit', (code) => reject(new Error(`engine exited ${code}: ${err}`)));
      });
      const setup = join(state, 'setup.json');
      writeFileSync(setup, JSON.stringify({ namespaces: [{ name: 'app', mntns: 4026532301 }] }));
      const r = sim(['--engine', `tcp://127.0.0.1:${port}`, '--setup', setup]);
      expect(r.status).toBe(0);
      expect(r.json.verdicts).toBe(600);
      expect(r.json.lost).toBe(0);
      expect(r.json.aggregates.app.count).toBeGreaterThanOrEqual(1);
    } finally {
      engine.kill('SIGTERM');
    }
  });

  it('takes its local engine along when it is killed', async () => {
    // Paced to 300 baud the replay takes minutes: kill it while it runs.
    const child = spawn(process.execPath, [BIN, 'sim', '--baud', '300', '--repeat', '100'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /local Node engine \(pid (\d+)\)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error('sim ended before it started its engine: ' + out)));
    });
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    child.kill('SIGKILL');
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
  });

  it('explains bad options', () => {
    const r = spawnSync(process.execPath, [BIN, 'sim', '--engine', 'tcp:nowhere'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('tcp://HOST:PORT');
    const h = spawnSync(process.execPath, [BIN, 'sim', '--help'], { encoding: 'utf8' });
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('--engine');
  });
});
