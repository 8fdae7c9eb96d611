// The Node end of the native fanotify helper (host/native/imans-fanotify.c, whose header comment
// is the wire format's definition): spawns it, decodes its event frames and sends it verdicts and
// configuration. Node has no fanotify API; the helper holds the fanotify group and, crucially, the
// deadlines, so nothing here can leave an opener blocked for longer than its namespace's deadline.
import { spawn, spawnSync, ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const NATIVE_DIR = fileURLToPath(new URL('./native/', import.meta.url));
export const HELPER_PATH = NATIVE_DIR + 'build/imans-fanotify';

/** Larger than any frame the helper writes (an event: a 64 KiB path, a 64 KiB xattr, 255 digests):
 * a length beyond it means the stream is out of step. */
const MAX_HELPER_FRAME = 1 << 20;
/** Event frames held back while paused before the helper's output is left unread. */
const MAX_HELD_BYTES = 16 << 20;
const R_READY = 1, R_EVENT = 2, R_NOTIFY = 3, R_TIMEOUT = 4, R_REPLY = 5, R_STATS = 6, R_OVERFLOW = 7;
const C_MARK = 1, C_VERDICT = 2, C_NSCONF = 3, C_FLUSH = 4, C_STATS = 5, C_TRUST = 6, C_LIMITS = 7;

/** fanotify event bits the helper reports (linux/fanotify.h). */
export const FAN = { MODIFY: 0x2, CLOSE_WRITE: 0x8, OPEN_PERM: 0x10000, OPEN_EXEC_PERM: 0x40000 } as const;

/** Flags the helper sets on an event. The low byte is protocol EVENT_FLAG; the rest stay on the host. */
export const HELPER_FLAG = {
  TOMTOU: 0x1,
  PROC_GONE: 0x100,
  HASH_ERROR: 0x200,
  HASH_SKIPPED: 0x400,
  XATTR_ERROR: 0x800,
  ALGO_UNSUPPORTED: 0x1000,
  /** Allowed at once (a namespace whose policies cannot deny): forwarded for measurement only. */
  ANSWERED: 0x2000,
} as const;

export interface HelperEvent {
  cookie: number;
  mask: number;
  flags: number;
  pid: number;
  mntns: number;
  userns: number;
  uid: number;
  euid: number;
  suid: number;
  fsuid: number;
  gid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  auid: number;
  ses: number;
  dev: number;
  ino: number;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
  fsmagic: number;
  fuid: number;
  fgid: number;
  mode: number;
  path: string;
  comm: string;
  xattr: Uint8Array | null;
  digests: { algo: number; digest: Uint8Array }[];
}

export interface HelperNotify {
  mask: number;
  pid: number;
  dev: number;
  ino: number;
}

/** The helper's counters, in its `enum counter` order. */
export const STAT_NAMES = [
  'events', 'perm', 'notify', 'cacheHits', 'forwarded', 'verdicts', 'lateVerdicts', 'timeouts', 'allowed', 'denied',
  'overflows', 'dropped', 'hashedBytes', 'hashedFiles', 'digestHits', 'procGone', 'pending', 'maxPending',
  'outBytes', 'maxOut', 'trusted', 'compactions',
] as const;
export type HelperStats = { [K in (typeof STAT_NAMES)[number]]: number };

export class HelperError extends Error {
  constructor(message: string, readonly code: string, readonly errno?: number) {
    super(message);
  }
}

function errnoName(e: number): string {
  const names: { [n: number]: string } = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 20: 'ENOTDIR', 22: 'EINVAL', 38: 'ENOSYS', 95: 'EOPNOTSUPP', 18: 'EXDEV', 16: 'EBUSY', 28: 'ENOSPC' };
  return names[e] ?? `errno ${e}`;
}

/** Build the helper when it is missing or older than its sources (a clone that skipped setup.sh). */
export function ensureHelperBuilt(): string {
  const sources = ['imans-fanotify.c', 'hash.c', 'hash.h'].map((f) => statSync(NATIVE_DIR + f).mtimeMs);
  if (existsSync(HELPER_PATH) && statSync(HELPER_PATH).mtimeMs >= Math.max(...sources)) return HELPER_PATH;
  const r = spawnSync('make', ['-s', '-C', NATIVE_DIR], { encoding: 'utf8' });
  if (r.status !== 0) throw new HelperError(`building the fanotify helper failed (make -C ${NATIVE_DIR}): ${r.stderr || r.error?.message}`, 'HELPER_BUILD');
  return HELPER_PATH;
}

function u64(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x100000000;
}

function frameError(b: Buffer, what: string): HelperError {
  return new HelperError(`helper event frame of ${b.length} bytes ends inside ${what}`, 'HELPER_FRAME');
}

/** Decode one R_EVENT body (after the type byte). Throws HelperError on a short or inconsistent frame.
 * Fixed offsets, no closures: this runs once per event. */
export function decodeEvent(b: Buffer): HelperEvent {
  const FIXED = 136;
  if (b.length < FIXED + 2) throw frameError(b, 'the fixed fields');
  const ev: HelperEvent = {
    cookie: b.readUInt32LE(0), mask: b.readUInt32LE(4), flags: b.readUInt32LE(8), pid: b.readUInt32LE(12),
    mntns: u64(b, 16), userns: u64(b, 24),
    uid: b.readUInt32LE(32), euid: b.readUInt32LE(36), suid: b.readUInt32LE(40), fsuid: b.readUInt32LE(44),
    gid: b.readUInt32LE(48), egid: b.readUInt32LE(52), sgid: b.readUInt32LE(56), fsgid: b.readUInt32LE(60),
    auid: b.readUInt32LE(64), ses: b.readUInt32LE(68),
    dev: u64(b, 72), ino: u64(b, 80), size: u64(b, 88), mtimeSec: u64(b, 96), mtimeNsec: b.readUInt32LE(104),
    ctimeSec: u64(b, 108), ctimeNsec: b.readUInt32LE(116),
    fsmagic: b.readUInt32LE(120), fuid: b.readUInt32LE(124), fgid: b.readUInt32LE(128), mode: b.readUInt32LE(132),
    path: '', comm: '', xattr: null, digests: [],
  };
  let o = FIXED;
  const plen = b.readUInt16LE(o);
  o += 2;
  if (o + plen + 1 > b.length) throw frameError(b, 'the path');
  ev.path = b.toString('utf8', o, o + plen);
  o += plen;
  const clen = b[o++];
  if (o + clen + 4 > b.length) throw frameError(b, 'the comm');
  ev.comm = b.toString('utf8', o, o + clen);
  o += clen;
  const xlen = b.readInt32LE(o);
  o += 4;
  if (xlen > 0 && o + xlen > b.length) throw frameError(b, 'the xattr');
  if (xlen >= 0) ev.xattr = new Uint8Array(b.subarray(o, o + xlen));
  if (xlen > 0) o += xlen;
  if (o + 1 > b.length) throw frameError(b, 'the digest count');
  const nd = b[o++];
  for (let i = 0; i < nd; i++) {
    if (o + 2 > b.length || o + 2 + b[o + 1] > b.length) throw frameError(b, 'a digest');
    const algo = b[o], len = b[o + 1];
    ev.digests.push({ algo, digest: new Uint8Array(b.subarray(o + 2, o + 2 + len)) });
    o += 2 + len;
  }
  return ev;
}

export interface HelperEvents {
  event: [HelperEvent];
  notify: [HelperNotify];
  timeout: [cookie: number, allowed: boolean];
  overflow: [total: number];
  exit: [code: number | null, signal: string | null];
  error: [Error];
}

/** One running helper. Events arrive in kernel order; answer each `event` with `verdict(cookie, …)`. */
export class FanotifyHelper extends EventEmitter<HelperEvents> {
  readonly pid: number;
  private buf: Buffer = Buffer.alloc(0);
  /** Verdicts given this turn of the event loop, C_VERDICT frames back to back: one write per turn. */
  private vbuf = Buffer.alloc(11 * 512);
  private vlen = 0;
  private paused = false;
  private held: Buffer[] = [];
  private heldHead = 0;
  private heldBytes = 0;
  private nextReq = 1;
  private replies = new Map<number, (v: Buffer) => void>();
  private exited: Promise<void>;
  private stderrTail = '';
  alive = true;

  private constructor(private child: ChildProcessByStdio<Writable, Readable, Readable>) {
    super();
    this.pid = child.pid!;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.alive = false;
        for (const [, cb] of this.replies) cb(Buffer.alloc(0));
        this.replies.clear();
        this.emit('exit', code, signal);
        resolve();
      });
    });
    child.stdin.on('error', () => {});
    child.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
  }

  /** Start the helper; resolves once it has its fanotify group (needs CAP_SYS_ADMIN). */
  static start(binary = ensureHelperBuilt()): Promise<FanotifyHelper> {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const h = new FanotifyHelper(child);
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new HelperError(`fanotify helper exited at start: ${h.stderrTail.trim() || 'no message'}`, 'HELPER_START'));
      child.once('exit', onExit);
      child.once('error', (e) => reject(new HelperError(`cannot run ${binary}: ${e.message}`, 'HELPER_START')));
      child.stdout.on('data', (d: Buffer) => {
        h.onData(d, () => {
          child.off('exit', onExit);
          resolve(h);
        });
      });
    });
  }

  get stderr(): string {
    return this.stderrTail;
  }

  private onData(d: Buffer, ready: () => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let o = 0;
    while (this.buf.length - o >= 4) {
      const n = this.buf.readUInt32LE(o);
      if (n < 1 || n > MAX_HELPER_FRAME) {
        // Nothing after this can be trusted to be framed: stop the helper (it answers what is
        // pending by each namespace's fail response) rather than act on misread bytes.
        this.buf = Buffer.alloc(0);
        this.child.stdout.removeAllListeners('data');
        this.kill('SIGTERM');
        this.emit('error', new HelperError(`helper frame length ${n} at stream offset ${o}: the stream is out of step; stopping the helper`, 'HELPER_FRAME'));
        return;
      }
      if (this.buf.length - o - 4 < n) break;
      const body = this.buf.subarray(o + 5, o + 4 + n);
      const type = this.buf[o + 4];
      o += 4 + n;
      try {
        this.frame(type, body, ready);
      } catch (err) {
        this.emit('error', err as Error);
      }
    }
    this.buf = o === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(o);
  }

  private frame(type: number, b: Buffer, ready: () => void): void {
    switch (type) {
      case R_READY:
        ready();
        return;
      case R_EVENT:
        if (this.paused || this.heldHead < this.held.length) this.hold(b);
        else this.emit('event', decodeEvent(b));
        return;
      case R_NOTIFY:
        this.emit('notify', { mask: b.readUInt32LE(0), pid: b.readUInt32LE(4), dev: u64(b, 8), ino: u64(b, 16) });
        return;
      case R_TIMEOUT:
        this.emit('timeout', b.readUInt32LE(0), b[4] === 1);
        return;
      case R_OVERFLOW:
        this.emit('overflow', u64(b, 0));
        return;
      case R_REPLY:
      case R_STATS: {
        const req = b.readUInt32LE(0);
        const cb = this.replies.get(req);
        this.replies.delete(req);
        cb?.(b.subarray(4));
        return;
      }
      default:
        throw new HelperError(`helper sent unknown frame type ${type}`, 'HELPER_FRAME');
    }
  }

  private send(type: number, body: Buffer): void {
    if (!this.alive) return;
    const head = Buffer.alloc(5);
    head.writeUInt32LE(body.length + 1, 0);
    head[4] = type;
    this.child.stdin.write(Buffer.concat([head, body]));
  }

  private request(type: number, body: Buffer): Promise<Buffer> {
    if (!this.alive) return Promise.reject(new HelperError('fanotify helper is not running', 'HELPER_GONE'));
    const req = this.nextReq++;
    const b = Buffer.alloc(4 + body.length);
    b.writeUInt32LE(req, 0);
    body.copy(b, 4);
    return new Promise((resolve, reject) => {
      this.replies.set(req, (v) => (v.length ? resolve(v) : reject(new HelperError('fanotify helper exited', 'HELPER_GONE'))));
      this.send(type, b);
    });
  }

  private async simple(type: number, body: Buffer, what: string): Promise<void> {
    const r = await this.request(type, body);
    const err = r.readInt32LE(0);
    if (err) throw new HelperError(`${what}: ${errnoName(err)}`, errnoName(err), err);
  }

  /** Watch the whole filesystem holding `path` (FAN_MARK_FILESYSTEM: every mount of it, in every mount namespace). */
  mark(path: string): Promise<void> {
    return this.simple(C_MARK, Buffer.concat([Buffer.from([1]), Buffer.from(path)]), `fanotify mark of ${path}`);
  }

  unmark(path: string): Promise<void> {
    return this.simple(C_MARK, Buffer.concat([Buffer.from([2]), Buffer.from(path)]), `fanotify unmark of ${path}`);
  }

  /** Answer an event; `cacheable` lets the helper answer the same file version, namespace and credentials itself next time.
   * Verdicts given in one turn of the event loop reach the helper in one write. */
  verdict(cookie: number, allow: boolean, cacheable: boolean): void {
    if (!this.alive) return;
    if (this.vlen === 0) process.nextTick(() => this.flushVerdicts());
    if (this.vlen + 11 > this.vbuf.length) {
      const bigger = Buffer.alloc(this.vbuf.length * 2);
      this.vbuf.copy(bigger, 0, 0, this.vlen);
      this.vbuf = bigger;
    }
    const b = this.vbuf;
    const o = this.vlen;
    b.writeUInt32LE(7, o);
    b[o + 4] = C_VERDICT;
    b.writeUInt32LE(cookie, o + 5);
    b[o + 9] = allow ? 1 : 2;
    b[o + 10] = cacheable ? 1 : 0;
    this.vlen += 11;
  }

  private flushVerdicts(): void {
    // A copy: the write may complete after the next turn has begun filling the buffer again.
    const all = Buffer.from(this.vbuf.subarray(0, this.vlen));
    this.vlen = 0;
    if (this.alive) this.child.stdin.write(all);
  }

  /** Failure response and deadline for openers in mount namespace `mntns` (0: everyone else). `nowait`: no policy
   * there can deny, so opens are allowed at once and the events forwarded for measurement only. Flushes the verdict cache. */
  nsConfig(mntns: number, failAllow: boolean, deadlineMs: number, nowait = false): void {
    const b = Buffer.alloc(13);
    b.writeUInt32LE(mntns % 0x100000000, 0);
    b.writeUInt32LE(Math.floor(mntns / 0x100000000), 4);
    b[8] = (failAllow ? 1 : 2) | (nowait ? 4 : 0);
    b.writeUInt32LE(deadlineMs, 9);
    this.send(C_NSCONF, b);
  }

  /** Forget every cached verdict (policy, keys or namespaces changed). */
  flush(): Promise<void> {
    return this.simple(C_FLUSH, Buffer.alloc(0), 'flush');
  }

  /** Never block this process (the bridge itself): its opens are allowed at once and not forwarded. */
  trust(pid: number): Promise<void> {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(pid, 0);
    return this.simple(C_TRUST, b, 'trust');
  }

  /** Files larger than this are not hashed (the event carries HASH_SKIPPED and no digest). */
  limits(maxHashBytes: number): Promise<void> {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(maxHashBytes % 0x100000000, 0);
    b.writeUInt32LE(Math.floor(maxHashBytes / 0x100000000), 4);
    return this.simple(C_LIMITS, b, 'limits');
  }

  async stats(): Promise<HelperStats> {
    const r = await this.request(C_STATS, Buffer.alloc(0));
    const n = r.readUInt32LE(0);
    const s = {} as HelperStats;
    STAT_NAMES.forEach((name, i) => {
      s[name] = i < n ? u64(r, 4 + 8 * i) : 0;
    });
    return s;
  }

  /** Close our end: the helper answers what is pending by its fail responses and exits, removing its marks. */
  async close(): Promise<void> {
    if (this.alive) this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }

  /** Hold events back (the bridge is behind) until `resume`. Their frames are kept as bytes, cheap
   * beside decoded events; past MAX_HELD_BYTES the helper's output is not read at all, so it keeps
   * the rest (its deadlines still answer the kernel). Replies and notifications keep flowing. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    while (!this.paused && this.heldHead < this.held.length) {
      const b = this.held[this.heldHead++];
      this.heldBytes -= b.length;
      try {
        this.emit('event', decodeEvent(b));
      } catch (err) {
        this.emit('error', err as Error);
      }
    }
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
    }
    if (!this.paused && this.child.stdout.isPaused()) this.child.stdout.resume();
  }

  private hold(b: Buffer): void {
    this.held.push(b);
    this.heldBytes += b.length;
    if (this.heldBytes > MAX_HELD_BYTES) this.child.stdout.pause();
  }

  /** Signal the helper. SIGTERM: it answers what is pending by fail responses and exits. SIGKILL: the kernel
   * drops the group and lets its pending events through (fanotify's own behaviour on release). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }
}
