// The enforcing source around the real helper: a helper that dies is started again with its marks
// and namespace settings, so enforcement comes back by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { FanotifySource } from './fanotify.js';
import { ensureHelperBuilt } from '../fanotify.js';
import type { Enforcement, SourceEvent } from '../bridge.js';
import { mountTmpfs, run, until, Tmpfs } from '../../test/bridge-support.js';

let fs: Tmpfs;
beforeAll(async () => {
  ensureHelperBuilt();
  fs = await mountTmpfs();
});
afterAll(async () => {
  await fs?.cleanup();
});

describe('FanotifySource', () => {
  it('starts a helper that was killed again, with its marks and settings: opens are enforced again', async () => {
    const file = `${fs.dir}/again.txt`;
    writeFileSync(file, 'again\n');
    const events: SourceEvent[] = [];
    const notices: string[] = [];
    const source = new FanotifySource({ watch: [fs.dir] });
    // Everyone waits for a verdict, and is denied without one.
    source.configure(0, false, 2000, true);
    await source.start({
      event: (ev, enf) => {
        events.push(ev);
        enf?.answer(ev.file.path !== file, false);
      },
      notice: (kind) => notices.push(kind),
    });
    try {
      expect((await run('cat', [file])).code).not.toBe(0);
      const first = source.helper!;
      first.kill('SIGKILL');
      await until('a new helper, marking', async () => source.helper !== first && (await source.stats()).restarts === 1);
      const before = events.length;
      const r = await run('cat', [file]);
      expect(r.stderr).toContain('Operation not permitted');
      expect(events.length).toBeGreaterThan(before);
      expect(notices).toContain('helper-exit');
    } finally {
      await source.stop();
    }
  });

  it("does not let a late answer for a dead helper's event take the new helper's event of the same cookie", async () => {
    const a = `${fs.dir}/late-a.txt`;
    const b = `${fs.dir}/late-b.txt`;
    writeFileSync(a, 'a');
    writeFileSync(b, 'b');
    const questions = new Map<string, Enforcement>();
    const source = new FanotifySource({ watch: [fs.dir] });
    // Everyone waits; without an answer, allowed after 3 s.
    source.configure(0, true, 3000, true);
    await source.start({ event: (ev, enf) => void questions.set(ev.file.path, enf!), notice: () => {} });
    try {
      const readerA = run('cat', [a]);
      await until('the question for a', () => questions.has(a));
      const first = source.helper!;
      first.kill('SIGKILL'); // the kernel lets a through
      expect((await readerA).stdout).toBe('a');
      await until('a new helper, marking', async () => source.helper !== first && (await source.stats()).restarts === 1);
      const readerB = run('cat', [b]);
      await until('the question for b', () => questions.has(b));
      // Both events were each helper's first: the same cookie.
      expect(questions.get(a)!.answer(true, false)).toBe(false);
      expect(questions.get(b)!.answer(false, false)).toBe(true);
      expect((await readerB).stderr).toContain('Operation not permitted');
    } finally {
      await source.stop();
    }
  });
});
