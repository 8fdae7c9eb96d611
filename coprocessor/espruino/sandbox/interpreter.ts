// The Espruino interpreter's Linux build running the firmware on one end of a pty pair, for tests
// and benchmarks on the real interpreter (optional: found through $ESPRUINO_BIN or PATH; the
// interpreter is never part of this repository). Its standard input is kept open (`sleep |`):
// at end of input its console fills the shared event queue and Serial1 starves.
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoardConfig, CONFIG_FILE, DEFAULT_CONFIG } from '../runner.js';

export interface RunningInterpreter {
  /** Working directory: its fake flash (espruino.flash) survives a restart there. */
  dir: string;
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Stop the interpreter (its process group, which this module started). */
  stop(): Promise<void>;
}

/**
 * Script that stores the board config, then runs the firmware, as a board booting would.
 * `nowMs` pins Date.now (audit records carry the time) so replies compare with another engine's.
 */
export function bootScript(firmware: string, cfg: Partial<BoardConfig>, nowMs?: number): string {
  const full = { ...DEFAULT_CONFIG, ...cfg };
  const pin = nowMs === undefined ? '' : `Date.now = function () { return ${nowMs}; };\n`;
  return `${pin}require("Storage").write(${JSON.stringify(CONFIG_FILE)}, ${JSON.stringify(JSON.stringify(full))});\n${firmware}\nsetInterval(function () {}, 60000);\nconsole.log("FIRMWARE LOADED");\n`;
}

export function startInterpreter(bin: string, script: string, dir?: string): RunningInterpreter {
  const cwd = dir ?? mkdtempSync(join(tmpdir(), 'imans-espruino-'));
  writeFileSync(join(cwd, 'boot.js'), script);
  const child: ChildProcess = spawn('sh', ['-c', `sleep 3600 | exec "$0" boot.js`, bin], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return {
    dir: cwd,
    output: () => out,
    waitFor(re: RegExp, timeoutMs = 20_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const tick = setInterval(() => {
          if (re.test(out)) {
            clearInterval(tick);
            resolve();
          } else if (Date.now() - t0 > timeoutMs || child.exitCode !== null) {
            clearInterval(tick);
            reject(new Error(`interpreter: no ${re} within ${timeoutMs} ms; output:\n${out.slice(-2000)}`));
          }
        }, 20);
      });
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await exited;
      }
    },
  };
}

export function removeInterpreterDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
