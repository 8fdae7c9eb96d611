// The bridge's control socket: a unix socket, mode 0600 in a 0700 directory (or group-accessible
// when a group is configured), so that no other user can reconfigure a namespace. The protocol is
// JSON lines: {"id":1,"op":"ns.create","args":{…}} answered by {"id":1,"ok":true,"value":…} or
// {"id":1,"ok":false,"error":"…","code":"…"}. Byte strings travel as {"$base64":"…"}.
import { createConnection, createServer, Server, Socket } from 'node:net';
import { chmodSync, chownSync, existsSync, mkdirSync, unlinkSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';

export function defaultControlPath(): string {
  const rt = process.env.XDG_RUNTIME_DIR;
  return rt ? `${rt}/imans/control.sock` : '/run/imans/control.sock';
}

export class ControlError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return { $base64: Buffer.from(v).toString('base64') };
  return v;
}

function reviver(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { $base64?: unknown };
    if (typeof o.$base64 === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o.$base64, 'base64'));
  }
  return v;
}

export function encodeLine(v: unknown): string {
  return JSON.stringify(v, replacer) + '\n';
}

export function decodeLine(line: string): unknown {
  return JSON.parse(line, reviver);
}

export type Handler = (op: string, args: { [k: string]: unknown }) => Promise<unknown>;

const MAX_LINE = 16 << 20;

/** Serve `handler` on `path`. An existing socket nobody answers on is replaced; a live one is an error. */
export async function serveControl(path: string, handler: Handler, opts: { gid?: number } = {}): Promise<Server> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: opts.gid === undefined ? 0o700 : 0o750 });
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) throw new ControlError(`${path} exists and is not a socket`, 'CONTROL_PATH');
    const live = await new Promise<boolean>((resolve) => {
      const s = createConnection(path, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (live) throw new ControlError(`another bridge is already listening on ${path}`, 'CONTROL_BUSY');
    unlinkSync(path);
  }
  const server = createServer((sock) => serveConnection(sock, handler));
  const old = process.umask(opts.gid === undefined ? 0o177 : 0o117);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(old);
  }
  if (opts.gid !== undefined) {
    chownSync(path, process.getuid?.() ?? 0, opts.gid);
    chmodSync(path, 0o660);
  } else chmodSync(path, 0o600);
  server.on('close', () => {
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  });
  return server;
}

function serveConnection(sock: Socket, handler: Handler): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('error', () => {});
  sock.on('data', (d: string) => {
    buf += d;
    if (buf.length > MAX_LINE) {
      sock.end(encodeLine({ id: null, ok: false, error: 'request line too long', code: 'BAD_REQUEST' }));
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) void answer(sock, line, handler);
    }
  });
}

async function answer(sock: Socket, line: string, handler: Handler): Promise<void> {
  let id: unknown = null;
  try {
    const req = decodeLine(line) as { id?: unknown; op?: unknown; args?: unknown };
    if (!req || typeof req !== 'object' || typeof req.op !== 'string') throw new ControlError('a request needs an "op" string', 'BAD_REQUEST');
    id = req.id ?? null;
    const args = req.args && typeof req.args === 'object' ? (req.args as { [k: string]: unknown }) : {};
    const value = await handler(req.op, args);
    if (!sock.destroyed) sock.write(encodeLine({ id, ok: true, value: value ?? null }));
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const code = typeof e.code === 'string' ? e.code : typeof e.code === 'number' ? `E${e.code}` : 'ERROR';
    if (!sock.destroyed) sock.write(encodeLine({ id, ok: false, error: e.message ?? String(err), code }));
  }
}

/** One request to a running bridge. */
export function controlRequest(path: string, op: string, args: { [k: string]: unknown } = {}, timeoutMs = 30_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlError(`no answer from the bridge on ${path} within ${timeoutMs} ms`, 'CONTROL_TIMEOUT'));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(encodeLine({ id: 1, op, args })));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'no bridge is listening there (start one with `imans bridge`)' : e.code === 'EACCES' ? 'permission denied (the socket is for its owner only)' : e.message;
      reject(new ControlError(`control socket ${path}: ${why}`, e.code ?? 'CONTROL'));
    });
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.destroy();
      let res: { ok?: boolean; value?: unknown; error?: string; code?: string };
      try {
        res = decodeLine(buf.slice(0, nl)) as typeof res;
      } catch {
        reject(new ControlError(`control socket ${path}: the answer is not JSON`, 'CONTROL_PROTOCOL'));
        return;
      }
      if (res.ok) resolve(res.value);
      else reject(new ControlError(res.error ?? 'request failed', res.code ?? 'ERROR'));
    });
  });
}
