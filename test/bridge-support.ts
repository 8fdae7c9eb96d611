// Real-system fixtures for the bridge tests: a tmpfs each test mounts and always unmounts, mount
// namespaces held open by a sleeping process, and commands run asynchronously (a synchronous spawn
// would block the very event loop that has to answer the permission events it causes).
import { execFile, spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Tmpfs {
  dir: string;
  cleanup(): Promise<void>;
}

export async function mountTmpfs(size = '64m'): Promise<Tmpfs> {
  const dir = mkdtempSync('/tmp/imans-test-');
  await execFileP('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return {
    dir,
    async cleanup() {
      await execFileP('umount', ['-l', dir]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command without blocking the event loop; never rejects. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(t);
      resolve({ code: -1, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

export const sh = (script: string) => run('sh', ['-c', script]);

export function mntnsOf(pid: number | 'self'): number {
  const m = /^mnt:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/mnt`));
  if (!m) throw new Error(`unexpected /proc/${pid}/ns/mnt`);
  return Number(m[1]);
}

/** A new mount namespace, kept alive by a sleeping process; `sh` runs a script inside it. */
export interface MountNs {
  inode: number;
  holder: ChildProcess;
  sh(script: string): Promise<RunResult>;
  close(): void;
}

export async function newMountNs(): Promise<MountNs> {
  const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '3600'], { stdio: 'ignore' });
  const pid = holder.pid!;
  const host = mntnsOf('self');
  let inode = host;
  for (let i = 0; i < 200 && inode === host; i++) {
    await new Promise((r) => setTimeout(r, 10));
    try {
      inode = mntnsOf(pid);
    } catch {
      /* not yet exec'd */
    }
  }
  if (inode === host) {
    holder.kill('SIGKILL');
    throw new Error('unshare -m did not create a mount namespace');
  }
  return {
    inode,
    holder,
    sh: (script) => run('nsenter', ['-t', String(pid), '-m', 'sh', '-c', script]),
    close: () => {
      holder.kill('SIGKILL');
    },
  };
}

/** Wait until `cond` holds (polling); throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
