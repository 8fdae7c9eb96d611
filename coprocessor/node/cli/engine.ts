// `imans engine`: the Node engine alone, on a serial device, one end of a pty pair, or TCP.
import { parse, runCommand, intOption, UsageError } from '../../../cli/args.js';
import { LINE_OFFERS, LineKind } from '../../../protocol/link.js';
import { openSerial } from '../../../protocol/node/transports/serial.js';
import { listenTcp } from '../../../protocol/node/transports/tcp.js';
import { createEngine } from '../../core/engine/engine.js';
import { createNodePlatform } from '../platform.js';
import { serveOn, ServedLink } from '../runner.js';

const HELP = `usage: imans engine --port PATH [--baud N] [--state DIR]
       imans engine --listen [HOST:]PORT [--state DIR]

Runs the modeling engine as a Node process and serves the imans protocol (protocol/SPEC.md).

  --port PATH       a serial device (/dev/ttyACM0, /dev/ttyUSB0) or one end of a pty pair
  --baud N          line speed for --port (default 115200; a pty ignores it)
  --listen ADDR     serve over TCP on [HOST:]PORT; HOST defaults to 127.0.0.1 (loopback only)
  --line KIND       what the link offers: uart (256-byte frames, window 4) or stream (4096-byte
                    frames, window 32; for a pty or TCP, where bytes are neither lost nor paced).
                    Default: uart with --port, stream with --listen. The peer's offer caps it.
  --state DIR       keep namespaces, policies, keys and measurement lists in DIR (journal,
                    fsync'd before each reply) and the quote-signing key; without it the
                    engine forgets everything when it stops
  --quiet           no status lines on stderr
  --exit-with-stdin stop when standard input ends: a parent that starts the engine with a pipe
                    there (imans bridge/sim --engine local) takes it along when it dies
`;

export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--listen expects [HOST:]PORT, got "${v}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`--listen port must be at most 65535, got ${port}`);
  return { host: m[1] ?? '127.0.0.1', port };
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('engine', async () => {
    const a = parse(argv, { port: { type: 'string' }, baud: { type: 'string' }, listen: { type: 'string' }, state: { type: 'string' }, line: { type: 'string' }, quiet: { type: 'boolean' }, 'exit-with-stdin': { type: 'boolean' } }, HELP);
    if (!a) return 0;
    const v = a.values;
    if ((v.port === undefined) === (v.listen === undefined)) throw new UsageError('give exactly one of --port PATH or --listen [HOST:]PORT\n\n' + HELP.trimEnd());
    const baud = intOption('baud', v.baud, 115200, 50, 4_000_000);
    const line = (v.line ?? (v.port !== undefined ? 'uart' : 'stream')) as string;
    if (line !== 'uart' && line !== 'stream') throw new UsageError(`--line expects uart or stream, got "${line}"`);
    const offer = LINE_OFFERS[line as LineKind];
    const say = (s: string) => {
      if (!v.quiet) process.stderr.write(`imans engine: ${s}\n`);
    };
    const lifeline = new Promise<void>((resolve) => {
      if (!v['exit-with-stdin']) return;
      process.stdin.on('end', resolve);
      process.stdin.on('close', resolve);
      process.stdin.on('error', () => resolve());
      process.stdin.resume();
    });
    const platform = createNodePlatform({ stateDir: v.state as string | undefined });
    const engine = createEngine(platform);
    const links: ServedLink[] = [];
    let stop: () => Promise<void>;
    if (typeof v.port === 'string') {
      const t = await openSerial(v.port, baud);
      links.push(serveOn(t, engine, platform, offer));
      say(`serving on ${v.port} at ${baud} baud`);
      stop = async () => t.close();
      await new Promise<void>((resolve) => {
        t.onClose((err) => {
          if (err) say(`device closed: ${err.message}`);
          resolve();
        });
        const quit = () => resolve();
        process.once('SIGTERM', quit);
        process.once('SIGINT', quit);
        void lifeline.then(quit);
      });
    } else {
      const { host, port } = parseListen(v.listen as string);
      const server = await listenTcp(port, host);
      server.onConnection((t) => {
        links.push(serveOn(t, engine, platform, offer));
        say(`connection ${links.length}`);
      });
      say(`listening on ${server.host}:${server.port}`);
      stop = () => server.close();
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
        void lifeline.then(resolve);
      });
    }
    for (const l of links) l.link.close();
    await stop();
    platform.close();
    // The lifeline's reader would keep the process alive after a SIGTERM: let go of it.
    if (v['exit-with-stdin']) process.stdin.destroy();
    return 0;
  });
}
