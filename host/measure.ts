// Measure once per file version. The helper hashes a file version (dev, ino, size, mtime, ctime)
// once, from the event fd; this side turns its events into the protocol's FileInfo and keeps one
// FileInfo per version, so every namespace's event for an unchanged file carries the same object
// (which the link interns once) until FAN_MODIFY / FAN_CLOSE_WRITE retires it. It also maps the
// fanotify mask to IMA's func and MAY_ mask, and the helper's violation notes to EVENT_FLAG.
import { FileInfo, FUNC, MAY, EVENT_FLAG } from '../protocol/messages.js';
import { HelperEvent, FAN } from './fanotify.js';

/** statfs f_type values and the names the kernel gives them (policy fsname=). */
const FS_NAMES: { [magic: number]: string } = {
  0x01021994: 'tmpfs',
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlay',
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x73636673: 'securityfs',
  0x858458f6: 'ramfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs',
  0x4d44: 'vfat',
  0x73717368: 'squashfs',
  0x28cd3d45: 'cramfs',
  0x9660: 'isofs',
};

export function fsName(magic: number): string {
  return FS_NAMES[magic] ?? '';
}

/** IMA hook and MAY_ mask of an open. fanotify does not say whether an open is for writing, so
 * every non-exec open is FILE_CHECK with MAY_READ (what IMA's default policies measure). */
export function funcOf(fanMask: number): { func: number; mask: number } {
  if (fanMask & FAN.OPEN_EXEC_PERM) return { func: FUNC.BPRM_CHECK, mask: MAY.EXEC };
  return { func: FUNC.FILE_CHECK, mask: MAY.READ };
}

/** The helper's flags that belong on the wire (its low byte). */
export function eventFlags(helperFlags: number): number {
  return helperFlags & (EVENT_FLAG.TOMTOU | EVENT_FLAG.OPEN_WRITERS);
}

function versionKey(ev: HelperEvent): string {
  return `${ev.dev}:${ev.ino}:${ev.size}:${ev.mtimeSec}.${ev.mtimeNsec}:${ev.ctimeSec}.${ev.ctimeNsec}`;
}

export class FileVersions {
  private byVersion = new Map<string, FileInfo>();
  private byFile = new Map<string, string[]>();
  // Insertion order, for eviction: a queue (with keys already retired skipped on the way), since
  // finding a Map's first key after many deletions walks every deleted entry before it.
  private order: string[] = [];
  private orderHead = 0;
  hits = 0;

  constructor(private readonly max = 16384) {}

  get size(): number {
    return this.byVersion.size;
  }

  /** The FileInfo of this event's file version (the same object for every event of that version). */
  fileInfo(ev: HelperEvent): FileInfo {
    const key = versionKey(ev);
    const known = this.byVersion.get(key);
    // A version seen without digests (too large, unreadable) may be hashed next time: never pin that.
    if (known && known.path === ev.path && known.digests.length === ev.digests.length) {
      this.hits++;
      return known;
    }
    const info: FileInfo = {
      path: ev.path,
      dev: ev.dev,
      ino: ev.ino,
      fsmagic: ev.fsmagic,
      fsname: fsName(ev.fsmagic),
      fsuuid: '',
      uid: ev.fuid,
      gid: ev.fgid,
      mode: ev.mode,
      size: ev.size,
      digests: ev.digests,
      xattr: ev.xattr,
    };
    if (this.byVersion.size >= this.max) this.evictOldest();
    this.byVersion.set(key, info);
    this.order.push(key);
    // Retired keys stay queued until passed: drop them once they outnumber the live ones.
    if (this.order.length - this.orderHead > 2 * this.max) {
      this.order = this.order.slice(this.orderHead).filter((k) => this.byVersion.has(k));
      this.orderHead = 0;
    }
    const fk = `${ev.dev}:${ev.ino}`;
    const list = this.byFile.get(fk);
    if (list) list.push(key);
    else this.byFile.set(fk, [key]);
    return info;
  }

  /** The file changed (FAN_MODIFY / FAN_CLOSE_WRITE): forget every version of it. */
  retire(dev: number, ino: number): void {
    const fk = `${dev}:${ino}`;
    for (const key of this.byFile.get(fk) ?? []) this.byVersion.delete(key);
    this.byFile.delete(fk);
  }

  private evictOldest(): void {
    let oldest = '';
    while (this.orderHead < this.order.length) {
      const k = this.order[this.orderHead++];
      if (this.byVersion.delete(k)) {
        oldest = k;
        break;
      }
    }
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    if (!oldest) return;
    const [dev, ino] = oldest.split(':');
    const fk = `${dev}:${ino}`;
    const rest = (this.byFile.get(fk) ?? []).filter((k) => k !== oldest);
    if (rest.length) this.byFile.set(fk, rest);
    else this.byFile.delete(fk);
  }
}
