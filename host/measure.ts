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

/** A file's identity as a Map key: a number when dev and ino allow (the common case), else text. */
function fileKey(dev: number, ino: number): number | string {
  return dev < 2097152 && ino < 4294967296 ? dev * 4294967296 + ino : `${dev}:${ino}`;
}

interface Known {
  key: number | string;
  info: FileInfo;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
}

export class FileVersions {
  /** The current version of each file: one entry per (dev, ino), replaced when the version changes. */
  private byFile = new Map<number | string, Known>();
  // Insertion order, for eviction: a queue (entries since replaced or retired are skipped on the
  // way), since finding a Map's first key after many deletions walks every deleted entry before it.
  private order: Known[] = [];
  private orderHead = 0;
  hits = 0;

  constructor(private readonly max = 16384) {}

  get size(): number {
    return this.byFile.size;
  }

  /** The FileInfo of this event's file version (the same object for every event of that version). */
  fileInfo(ev: HelperEvent): FileInfo {
    const key = fileKey(ev.dev, ev.ino);
    const k = this.byFile.get(key);
    // A version seen without digests (too large, unreadable) may be hashed next time: never pin that.
    if (
      k && k.size === ev.size && k.mtimeSec === ev.mtimeSec && k.mtimeNsec === ev.mtimeNsec && k.ctimeSec === ev.ctimeSec &&
      k.ctimeNsec === ev.ctimeNsec && k.info.path === ev.path && k.info.digests.length === ev.digests.length
    ) {
      this.hits++;
      return k.info;
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
    const entry: Known = { key, info, size: ev.size, mtimeSec: ev.mtimeSec, mtimeNsec: ev.mtimeNsec, ctimeSec: ev.ctimeSec, ctimeNsec: ev.ctimeNsec };
    if (!k && this.byFile.size >= this.max) this.evictOldest();
    this.byFile.set(key, entry);
    this.order.push(entry);
    // Entries replaced or retired stay queued until passed: drop them once they outnumber the live ones.
    if (this.order.length - this.orderHead > 2 * this.max) {
      this.order = this.order.slice(this.orderHead).filter((e) => this.byFile.get(e.key) === e);
      this.orderHead = 0;
    }
    return info;
  }

  /** The file changed (FAN_MODIFY / FAN_CLOSE_WRITE): forget it. */
  retire(dev: number, ino: number): void {
    this.byFile.delete(fileKey(dev, ino));
  }

  private evictOldest(): void {
    while (this.orderHead < this.order.length) {
      const e = this.order[this.orderHead++];
      if (this.byFile.get(e.key) === e) {
        this.byFile.delete(e.key);
        break;
      }
    }
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
  }
}
