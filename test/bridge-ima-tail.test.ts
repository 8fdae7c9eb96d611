// Tailing a kernel measurement list as it grows, on a copy of a real one (the securityfs file of a
// machine with IMA is read the same way): every entry becomes an event exactly once, in order, even
// when a read ends inside an entry. The list parser is the engine's (passed in, as cli/ does).
import { describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseBinaryList } from '../coprocessor/core/ima/parse-list.js';
import { splitFields } from '../coprocessor/core/ima/template.js';
import { hashAlgoByName } from '../coprocessor/core/ima/hash-algo.js';
import { FUNC, MAY } from '../protocol/messages.js';
import { ImaChunk, ImaTailSource } from '../host/sources/ima.js';
import { SourceEvent } from '../host/bridge.js';

const VECTOR = fileURLToPath(new URL('../../shared/vectors/embrave-binary_runtime_measurements', import.meta.url));

function latin1(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1');
}

/** ima-ng entries → events: d-ng is "<algo>:\0<digest>", n-ng the NUL-terminated path. */
function parseChunk(bytes: Uint8Array): ImaChunk {
  const list = parseBinaryList(bytes, { width: 20 });
  const truncated = list.error !== null && list.error.code === 'LIST_TRUNCATED';
  const consumed = list.error ? list.error.entryOffset : bytes.length - list.trailing;
  const events: SourceEvent[] = list.entries.map((e) => {
    const f = splitFields(e.data, -1) ?? [];
    const d = f[0] ?? new Uint8Array(0);
    const colon = d.indexOf(0x3a);
    const algo = colon > 0 ? hashAlgoByName(latin1(d.subarray(0, colon))) : 2;
    const name = latin1(f[1] ?? new Uint8Array(0)).replace(/\0$/, '');
    return {
      func: FUNC.FILE_CHECK,
      mask: MAY.READ,
      flags: 0,
      proc: { pid: 0, mntns: 0, userns: 0, uid: 0, euid: 0, suid: 0, gid: 0, egid: 0, sgid: 0, auid: 4294967295, ses: 4294967295, comm: '' },
      file: { path: name, dev: 0, ino: 0, fsmagic: 0, fsname: '', fsuuid: '', uid: 0, gid: 0, mode: 0, size: 0, digests: [{ algo, digest: d.subarray(colon + 2) }], xattr: null },
    };
  });
  return { consumed, events, error: list.error && !truncated ? list.error.message : undefined };
}

describe.skipIf(!existsSync(VECTOR))('IMA list tail', () => {
  it('reads a growing list incrementally from the last complete entry', async () => {
    const full = readFileSync(VECTOR);
    const all = parseChunk(new Uint8Array(full)).events.map((e) => e.file.path);
    expect(all).toHaveLength(922);
    const path = mkdtempSync('/tmp/imans-ima-') + '/binary_runtime_measurements';
    const cuts = [0, 1000, 1001, 50_000, 50_037, 120_000, full.length];
    writeFileSync(path, '');
    const seen: string[] = [];
    const src = new ImaTailSource({ path, parse: parseChunk, intervalMs: 3_600_000 });
    const sink = { event: (e: SourceEvent) => seen.push(e.file.path), notice: (k: string, d: string) => seen.push(`!${k}:${d}`) };
    await src.start(sink);
    for (let i = 1; i < cuts.length; i++) {
      appendFileSync(path, full.subarray(cuts[i - 1], cuts[i]));
      await src.poll(sink);
      // Never past the bytes written, never inside an entry already emitted.
      expect(src.offset).toBeLessThanOrEqual(cuts[i]);
    }
    await src.stop();
    expect(seen).toEqual(all);
    expect(seen[0]).toBe('boot_aggregate');
    expect(src.offset).toBe(full.length);
  });

  it('starts from the end when asked, then reports only new entries', async () => {
    const full = readFileSync(VECTOR);
    const path = mkdtempSync('/tmp/imans-ima-') + '/binary_runtime_measurements';
    writeFileSync(path, full.subarray(0, 60_000));
    const seen: string[] = [];
    const sink = { event: (e: SourceEvent) => seen.push(e.file.path), notice: () => {} };
    const src = new ImaTailSource({ path, parse: parseChunk, intervalMs: 3_600_000, fromEnd: true });
    await src.start(sink);
    expect(seen).toEqual([]);
    appendFileSync(path, full.subarray(60_000));
    await src.poll(sink);
    await src.stop();
    const before = parseChunk(new Uint8Array(full.subarray(0, 60_000))).events.length;
    expect(src.entries).toBe(922);
    expect(seen).toHaveLength(922 - before);
    expect(seen[0]).toBe(parseChunk(new Uint8Array(full)).events[before].file.path);
  });

  it('stops with a notice on a malformed entry instead of looping on it', async () => {
    const full = readFileSync(VECTOR);
    const path = mkdtempSync('/tmp/imans-ima-') + '/binary_runtime_measurements';
    const broken = Buffer.from(full.subarray(0, 20_000));
    broken.writeUInt32LE(0xffff, 24); // the first entry's template name length: no kernel writes that
    writeFileSync(path, broken);
    const notices: string[] = [];
    const src = new ImaTailSource({ path, parse: parseChunk, intervalMs: 3_600_000 });
    let events = 0;
    await src.start({ event: () => events++, notice: (_k, d) => notices.push(d) });
    await src.stop();
    expect(events).toBe(0);
    expect(src.offset).toBe(0);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/tailing stopped/);
  });
});
