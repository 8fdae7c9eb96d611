// Reading security.ima from Node, which has no xattr API: `getfattr` from the attr package
// (`getfattr --absolute-names -n security.ima -e hex FILE`), parsed from its hex output.
// Absent attribute → null; a missing getfattr or an unreadable file → a coded error.
import { execFileSync } from 'node:child_process';

export function readImaXattr(path: string): Uint8Array | null {
  let out: string;
  try {
    out = execFileSync('getfattr', ['--absolute-names', '-n', 'security.ima', '-e', 'hex', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer; status?: number };
    const stderr = e.stderr ? e.stderr.toString() : '';
    if (/No such attribute|Operation not supported/.test(stderr)) return null;
    const x = new Error(e.code === 'ENOENT' ? 'getfattr not found (install the attr package)' : `getfattr ${path}: ${stderr.trim() || e.message}`) as Error & { code: string };
    x.code = 'XATTR_READ';
    throw x;
  }
  const m = /^security\.ima=0x([0-9a-fA-F]*)$/m.exec(out);
  if (!m) return null;
  return new Uint8Array(Buffer.from(m[1], 'hex'));
}
