// A connected pair of pseudo-terminals from socat, standing in for a serial cable in tests, the
// loopback demo and benchmarks: a process opens one end as it would a UART, another the other.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** Paths of the two ends (symlinks to /dev/pts/N). */
  a: string;
  b: string;
  /** Stop socat (by its pid) and remove the links. */
  close(): Promise<void>;
}

/** The relay: socat, stopped when standard input (a pipe from the owner) reaches EOF; exits with socat's status. */
// (A background job's stdin is /dev/null in a non-interactive shell: the pipe goes to it as fd 3.)
const RELAY = 'exec 3<&0; socat -d -d "$1" "$2" </dev/null 3<&- & p=$!; { read _ <&3; kill $p 2>/dev/null; } & wait $p';

function ptyError(message: string): Error {
  const e = new Error(message) as Error & { code: string };
  e.code = 'PTY_FAILED';
  return e;
}

/** Start `socat` with two raw ptys linked under `dir` (a fresh temp dir by default); resolves once it relays. */
export function createPtyPair(dir?: string, timeoutMs = 5000): Promise<PtyPair> {
  const own = dir === undefined;
  const base = dir ?? mkdtempSync(join(tmpdir(), 'imans-pty-'));
  const a = join(base, 'a');
  const b = join(base, 'b');
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      // socat under a shell that also watches a pipe from this process: when this process ends, by
      // close() or by a crash, the pipe reaches EOF and the relay is stopped. No socat outlives its owner.
      child = spawn('sh', ['-c', RELAY, 'imans-pty', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (err) {
      reject(ptyError(`cannot start socat: ${(err as Error).message}`));
      return;
    }
    let stderr = '';
    let settled = false;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    const cleanup = () => {
      if (own) rmSync(base, { recursive: true, force: true });
    };
    const close = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin!.end();
        await exited;
      }
      cleanup();
    };
    child.stdin!.on('error', () => {});
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void close();
      reject(ptyError(`socat did not start relaying within ${timeoutMs} ms: ${stderr.trim()}`));
    }, timeoutMs);
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      reject(ptyError(`cannot start socat (is it installed?): ${err.message}`));
    });
    child.once('exit', (code) => {
      child.stdin!.destroy();
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      reject(ptyError(code === 127 ? 'cannot start socat (is it installed?)' : `socat exited with ${code}: ${stderr.trim()}`));
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (settled) return;
      stderr += d.toString();
      if (stderr.includes('starting data transfer loop')) {
        settled = true;
        clearTimeout(timer);
        resolve({ a, b, close });
      }
    });
  });
}
