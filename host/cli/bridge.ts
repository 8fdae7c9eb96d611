// imans bridge: the host bridge. fanotify events from the watched filesystems go to the engine; its
// verdicts answer the kernel; other imans commands reach it through its control socket.
import { parse, runCommand, UsageError, intOption } from '../../cli/args.js';
import { Bridge } from '../bridge.js';
import { connectEngine } from '../engine-connect.js';
import { FanotifySource } from '../sources/fanotify.js';
import { TraceSource } from '../sources/trace.js';
import { AuditLog } from '../audit-log.js';
import { serveControl, defaultControlPath } from '../control.js';

const HELP = `usage: imans bridge --engine local|DEVICE|tcp://HOST:PORT --watch DIR [--watch DIR…]
                    [--state DIR] [--control SOCKET] [--audit FILE] [--audit-stdout] [--replay TRACE]

  --engine SPEC      local: start a Node engine as a child over a pty pair; DEVICE: a board on a serial
                     port (e.g. /dev/ttyACM0); tcp://HOST:PORT: an engine listening there
  --watch DIR        watch the filesystem holding DIR (every mount of it, in every mount namespace);
                     never the root filesystem of a machine you need
  --state DIR        the local engine's state (journal, keys), kept across restarts
  --control SOCKET   control socket (default ${defaultControlPath()}), mode 0600
  --control-group G  make the socket usable by group G (numeric gid), mode 0660
  --audit FILE       append integrity audit records (kernel format) to FILE
  --audit-stdout     also print them on stdout
  --replay TRACE     also feed a recorded trace (imans record) to the engine
  --max-hash BYTES   do not hash files larger than this (default 1 GiB; their events carry no digest)
  --max-inflight N   events sent to the engine and not yet answered before the bridge stops taking
                     more from the helper until half are answered (default 4096): bounds memory
                     under a flood; the helper keeps the rest and still answers each deadline

  Without a verdict in time (default 500 ms, per namespace) an open is denied in namespaces that
  appraise (fail-closed) and allowed in the others, unless \`imans ns create --fail\` says otherwise.
  Events answered without a verdict reach the engine later, flagged LATE.`;

export function run(argv: string[]): Promise<number> {
  return runCommand('bridge', async () => {
    const p = parse(
      argv,
      {
        engine: { type: 'string' },
        watch: { type: 'string', multiple: true },
        state: { type: 'string' },
        control: { type: 'string' },
        'control-group': { type: 'string' },
        audit: { type: 'string' },
        'audit-stdout': { type: 'boolean' },
        replay: { type: 'string' },
        'max-hash': { type: 'string' },
        'max-inflight': { type: 'string' },
      },
      HELP,
    );
    if (!p) return 0;
    const v = p.values;
    const spec = v.engine as string | undefined;
    if (!spec) throw new UsageError('--engine is required\n\n' + HELP);
    const watch = (v.watch as string[] | undefined) ?? [];
    if (watch.length === 0 && !v.replay) throw new UsageError('at least one --watch DIR (or --replay TRACE) is needed\n\n' + HELP);
    for (const w of watch) if (w === '/' || w.replace(/\/+$/, '') === '') throw new UsageError('refusing to watch the root filesystem');
    const maxHash = v['max-hash'] === undefined ? undefined : intOption('max-hash', v['max-hash'], 0, 0, Number.MAX_SAFE_INTEGER);
    const controlGroup = v['control-group'] === undefined ? undefined : intOption('control-group', v['control-group'], 0);
    const maxInflight = intOption('max-inflight', v['max-inflight'], 4096, 2, 1 << 20);

    const log = (line: string) => process.stderr.write(`imans bridge: ${line}\n`);
    const conn = await connectEngine(spec, { stateDir: v.state as string | undefined, log });
    const client = conn.client;
    const sources = [];
    if (watch.length) sources.push(new FanotifySource({ watch, maxHashBytes: maxHash }));
    if (v.replay) sources.push(new TraceSource(v.replay as string));
    const audit = new AuditLog((v.audit as string | undefined) ?? null, v['audit-stdout'] ? process.stdout : null);
    const bridge = new Bridge({ client, sources, audit, maxInflight });
    bridge.on('notice', (kind, detail) => log(`${kind}: ${detail}`));
    client.on('down', () => log('engine link down: events are answered by their namespace failure mode and kept'));
    client.on('up', () => log('engine link up'));
    const controlPath = (v.control as string | undefined) ?? defaultControlPath();
    let server;
    try {
      await bridge.start();
      server = await serveControl(controlPath, (op, args) => bridge.handle(op, args), { gid: controlGroup });
    } catch (e) {
      // Not started after all (a path that cannot be marked, a socket in use): take the engine and
      // the helper down with us rather than leave them running.
      await bridge.stop().catch(() => undefined);
      await conn.close();
      throw e;
    }
    log(`watching ${watch.join(', ') || '(nothing)'}; control socket ${controlPath}`);

    const tty = process.stderr.isTTY;
    const ticker = tty
      ? setInterval(() => {
          const c = bridge.counters;
          process.stderr.write(
            `\r\x1b[Kevents ${c.events}  verdicts ${c.verdicts}  denied ${c.denied + c.failDenied}  late ${c.lateVerdicts}  queued ${c.queued}  inflight ${c.inflight}  ${client.up ? 'up' : 'DOWN'}`,
          );
        }, 500)
      : null;
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    if (ticker) clearInterval(ticker);
    if (tty) process.stderr.write('\n');
    server.close();
    await bridge.stop();
    await conn.close();
    return 0;
  });
}
