// imans record: live fanotify events as a replayable trace (JSON lines, host/sources/trace.ts).
// Every open is allowed at once: recording observes, it does not enforce.
import { createWriteStream } from 'node:fs';
import { parse, runCommand, UsageError, intOption } from '../../cli/args.js';
import { FanotifySource } from '../sources/fanotify.js';
import { traceLine } from '../sources/trace.js';

const HELP = `usage: imans record --watch DIR [--watch DIR…] [--out FILE] [--count N] [--seconds S]

  Watches the filesystems holding each DIR (every mount of them, in every mount namespace) and writes
  one JSON line per open or exec: the process (pid, mount and user namespace, credentials, comm) and
  the file (path, dev, ino, owner, mode, size, fsmagic, content digests, security.ima as hex).
  Stops after N events, S seconds, or on Ctrl-C.

  --out FILE     write the trace there (default stdout)
  --count N      stop after N events
  --seconds S    stop after S seconds`;

export function run(argv: string[]): Promise<number> {
  return runCommand('record', async () => {
    const p = parse(argv, { watch: { type: 'string', multiple: true }, out: { type: 'string' }, count: { type: 'string' }, seconds: { type: 'string' } }, HELP);
    if (!p) return 0;
    const watch = (p.values.watch as string[] | undefined) ?? [];
    if (watch.length === 0) throw new UsageError('at least one --watch DIR is needed\n\n' + HELP);
    const count = intOption('count', p.values.count, 0);
    const seconds = intOption('seconds', p.values.seconds, 0);
    const out = typeof p.values.out === 'string' ? createWriteStream(p.values.out) : process.stdout;
    const source = new FanotifySource({ watch });
    let n = 0;
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    await source.start({
      event(ev, enf) {
        enf?.answer(true, false);
        if (count && n >= count) return;
        n++;
        out.write(traceLine({ id: n, ...ev }) + '\n');
        if (count && n >= count) finish();
      },
      notice(kind, detail) {
        process.stderr.write(`imans record: ${kind}: ${detail}\n`);
        if (kind === 'helper-exit') finish();
      },
    });
    if (seconds) setTimeout(finish, seconds * 1000).unref();
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    await finished;
    await source.stop();
    if (out !== process.stdout) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(r));
    process.stderr.write(`imans record: ${n} events\n`);
    return 0;
  });
}
