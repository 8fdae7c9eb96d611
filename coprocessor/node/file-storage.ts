// The engine's Storage as files in a state directory. Durable when a call returns: appends are
// fsynced before returning, replacements go through a fsynced temporary file and a rename, and the
// directory itself is fsynced whenever a name appears or disappears, so an acknowledged verdict's
// journal record survives a power cut.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '../core/platform.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const TMP = '.tmp';

function checkName(name: string): void {
  if (!NAME.test(name) || name.endsWith(TMP)) {
    const e = new Error(`storage: bad record name "${name}" (letters, digits, . _ -, at most 64)`) as Error & { code: string };
    e.code = 'BAD_ARGUMENT';
    throw e;
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

export class FileStorage implements Storage {
  private readonly fds: { [name: string]: number } = {};

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(dir)) if (f.endsWith(TMP)) unlinkSync(join(dir, f));
  }

  private syncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  append(name: string, data: Uint8Array): void {
    checkName(name);
    let fd = this.fds[name];
    if (fd === undefined) {
      const created = !existsSync(join(this.dir, name));
      fd = openSync(join(this.dir, name), 'a', 0o600);
      this.fds[name] = fd;
      if (created) this.syncDir();
    }
    writeAll(fd, data);
    fsyncSync(fd);
  }

  read(name: string): Uint8Array | null {
    checkName(name);
    try {
      return new Uint8Array(readFileSync(join(this.dir, name)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  replace(name: string, data: Uint8Array): void {
    checkName(name);
    this.closeOne(name);
    const tmp = join(this.dir, name + TMP);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, name));
    this.syncDir();
  }

  remove(name: string): void {
    checkName(name);
    this.closeOne(name);
    try {
      unlinkSync(join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    this.syncDir();
  }

  list(): string[] {
    return readdirSync(this.dir)
      .filter((f) => NAME.test(f) && !f.endsWith(TMP))
      .sort();
  }

  private closeOne(name: string): void {
    const fd = this.fds[name];
    if (fd !== undefined) {
      closeSync(fd);
      delete this.fds[name];
    }
  }

  /** Release the open append descriptors (the data is already durable). */
  close(): void {
    for (const name of Object.keys(this.fds)) this.closeOne(name);
  }
}
