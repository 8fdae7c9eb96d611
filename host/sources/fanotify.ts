// The enforcing source: live open/exec permission events from the native helper on the watched
// filesystems, answered with the engine's verdicts (or by the helper's deadline).
import { FanotifyHelper, HelperEvent, HELPER_FLAG } from '../fanotify.js';
import { FileVersions, eventFlags, funcOf } from '../measure.js';
import { Enforcement, Source, SourceSink, SourceEvent } from '../bridge.js';

export interface FanotifySourceOptions {
  /** Directories whose filesystems are watched (every mount of each, in every mount namespace). */
  watch: string[];
  /** Files larger than this are not hashed (their events carry no digest). Default 1 GiB. */
  maxHashBytes?: number;
  /** Processes never blocked on themselves (default: this one, which runs the bridge). */
  trust?: number[];
  helperPath?: string;
}

/** The protocol event of one helper event (FileInfo shared per file version through `versions`). */
export function sourceEvent(ev: HelperEvent, versions: FileVersions): SourceEvent {
  const { func, mask } = funcOf(ev.mask);
  return {
    func,
    mask,
    flags: eventFlags(ev.flags),
    proc: {
      pid: ev.pid,
      mntns: ev.mntns,
      userns: ev.userns,
      uid: ev.uid,
      euid: ev.euid,
      suid: ev.suid,
      gid: ev.gid,
      egid: ev.egid,
      sgid: ev.sgid,
      auid: ev.auid,
      ses: ev.ses,
      comm: ev.comm,
    },
    file: versions.fileInfo(ev),
  };
}

/** The kernel's question behind one helper event (an object, not a closure per event). */
class HelperQuestion implements Enforcement {
  constructor(
    private readonly pending: Set<number>,
    private readonly helper: FanotifyHelper,
    private readonly cookie: number,
  ) {}

  answer(allow: boolean, cacheable: boolean): boolean {
    // Gone from `pending`: the helper's deadline answered first.
    if (!this.pending.delete(this.cookie)) return false;
    this.helper.verdict(this.cookie, allow, cacheable);
    return true;
  }
}

export class FanotifySource implements Source {
  readonly name = 'fanotify';
  helper: FanotifyHelper | null = null;
  readonly versions = new FileVersions();
  /** Cookies awaiting an answer, of the current helper: each helper numbers its events from 1. */
  private pending = new Set<number>();
  /** Namespace settings, kept to be applied to a helper that starts (or restarts) later. */
  private nsSettings = new Map<number, [boolean, number, boolean]>();
  private stopping = false;
  private paused = false;
  private restartDelayMs = 250;
  private restartTimer: NodeJS.Timeout | null = null;
  overflows = 0;
  procGone = 0;
  /** Helpers started again (and marking) after one died. */
  restarts = 0;

  constructor(private readonly opts: FanotifySourceOptions) {}

  async start(sink: SourceSink): Promise<void> {
    this.stopping = false;
    await this.launch(sink);
  }

  /** Start a helper with every mark and setting so far. A helper that dies is started again (after
   * 250 ms, doubling to 5 s while starts keep failing): while none runs the kernel lets opens
   * through unwatched, so enforcement must come back by itself. */
  private async launch(sink: SourceSink): Promise<void> {
    const h = await FanotifyHelper.start(this.opts.helperPath);
    // A set of its own: a late answer for a dead helper's event must not take a new helper's cookie.
    const pending = new Set<number>();
    this.helper = h;
    this.pending = pending;
    h.on('event', (ev) => {
      pending.add(ev.cookie);
      if (ev.flags & HELPER_FLAG.PROC_GONE) this.procGone++;
      sink.event(sourceEvent(ev, this.versions), new HelperQuestion(pending, h, ev.cookie));
    });
    h.on('timeout', (cookie) => pending.delete(cookie));
    h.on('notify', (n) => this.versions.retire(n.dev, n.ino));
    h.on('overflow', (total) => {
      this.overflows = total;
      sink.notice('overflow', `the kernel's fanotify queue overflowed (${total} so far): events were lost`);
    });
    h.on('error', (e) => sink.notice('helper', e.message));
    h.on('exit', (code, signal) => {
      pending.clear();
      if (this.stopping || this.helper !== h) return;
      sink.notice('helper-exit', `fanotify helper exited (${signal ?? code}): ${h.stderr.trim()}; starting it again`);
      this.relaunch(sink);
    });
    for (const [mntns, [failAllow, deadlineMs, awaitVerdict]] of this.nsSettings) h.nsConfig(mntns, failAllow, deadlineMs, !awaitVerdict);
    for (const pid of this.opts.trust ?? [process.pid]) await h.trust(pid);
    if (this.opts.maxHashBytes !== undefined) await h.limits(this.opts.maxHashBytes);
    for (const dir of this.opts.watch) await h.mark(dir);
    if (this.paused) h.pause();
    this.restartDelayMs = 250;
  }

  private relaunch(sink: SourceSink): void {
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(delay * 2, 5000);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.launch(sink).then(() => {
        this.restarts++;
      }, (e: Error) => {
        sink.notice('helper-start', `fanotify helper did not start again: ${e.message}; retrying in ${this.restartDelayMs} ms`);
        const failed = this.helper;
        this.helper = null;
        if (failed?.alive) void failed.close();
        this.relaunch(sink);
      });
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    await this.helper?.close();
  }

  pause(): void {
    this.paused = true;
    this.helper?.pause();
  }

  resume(): void {
    this.paused = false;
    this.helper?.resume();
  }

  configure(mntns: number, failAllow: boolean, deadlineMs: number, awaitVerdict: boolean): void {
    this.nsSettings.set(mntns, [failAllow, deadlineMs, awaitVerdict]);
    this.helper?.nsConfig(mntns, failAllow, deadlineMs, !awaitVerdict);
  }

  async flush(): Promise<void> {
    if (this.helper?.alive) await this.helper.flush();
  }

  async stats(): Promise<{ [name: string]: number }> {
    const s = this.helper?.alive ? await this.helper.stats() : null;
    return { ...(s ?? {}), versions: this.versions.size, versionHits: this.versions.hits, awaiting: this.pending.size, restarts: this.restarts };
  }
}
