// `imans sim`: the loopback demo. A Node engine on one end of a pty pair (or an engine already
// running elsewhere: a board, the Espruino interpreter on a pty, a TCP service), the host's
// protocol client on the other; namespaces and policies from a setup file, then a recorded trace
// replayed through the real link, verdicts printed, and a summary of what crossed the wire.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, runCommand, intOption, UsageError } from '../../cli/args.js';
import { APPRAISAL, CONTROL_OP, FileEvent, FUNC, Hello, VERDICT, Verdict } from '../../protocol/messages.js';
import { toHex } from '../../protocol/bytes.js';
import { parseTraceLine } from '../sources/trace.js';
import { connectEngine } from '../engine-connect.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SAMPLE = join(HERE, '..', 'traces', 'sample.jsonl');

const HELP = `usage: imans sim [--engine local|PATH|tcp://HOST:PORT] [--trace FILE] [--setup FILE]
                 [--baud N] [--repeat N] [--json] [--quiet]

The loopback demo: replays a recorded event trace through the real protocol stack (CBOR, intern
table, COBS+CRC frames, reliable link, serialport over a pty pair) to a modeling engine, prints
each verdict and a summary.

  --engine E     local (default): start a Node engine on one end of a socat pty pair;
                 PATH: an engine already running on a serial device or pty (a board, the
                 Espruino interpreter); tcp://HOST:PORT: an engine served over TCP
  --trace FILE   JSON-lines trace (one FileEvent per line, as \`imans record\` writes);
                 default: the sample shipped in host/traces/sample.jsonl
  --setup FILE   namespaces and policies to configure first (JSON); default: the trace's
                 sibling FILE.setup.json when it exists
  --baud N       pace the host's output to a UART of N baud (8N1), as a real line would;
                 with --engine PATH also the device's baud rate (default 115200)
  --repeat N     replay the trace N times (default 1)
  --json         print one JSON object: events, verdicts, lost, denied, wire_bytes,
                 bytes_per_event, events_per_s, retransmits, crc_errors, and more
  --quiet        no per-verdict lines
`;

interface SetupNs {
  name: string;
  mntns: number;
  userns?: number;
  parent?: string;
  fail?: 'closed' | 'open';
  deadlineMs?: number;
  policy?: string[];
}

interface Setup {
  namespaces?: SetupNs[];
  host?: { policy?: string[] };
}

function loadSetup(file: string): Setup {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not a readable JSON setup (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object') throw new UsageError(`${file}: expected a JSON object with "namespaces" and "host"`);
  return v as Setup;
}

function loadTrace(file: string): FileEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read trace ${file}: ${(e as Error).message}`);
  }
  const out: FileEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l === '' || l.startsWith('#')) continue;
    out.push(parseTraceLine(l, file, i + 1));
  }
  return out;
}

const FUNC_NAMES: { [n: number]: string } = {};
for (const k of Object.keys(FUNC) as (keyof typeof FUNC)[]) FUNC_NAMES[FUNC[k]] = k;

function describeVerdict(v: Verdict, nsLabel: (ns: number) => string): string {
  const words = [v.code & VERDICT.DENY ? 'DENY ' : 'allow'];
  if (v.code & VERDICT.MEASURED) words.push('measured');
  words.push(v.code & VERDICT.APPRAISED ? 'appraised' : 'not-appraised');
  for (const s of v.statuses) if (s.appraisal === APPRAISAL.FAIL) words.push(`${nsLabel(s.ns)}:${s.cause}`);
  return words.join(' ');
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('sim', async () => {
    const a = parse(
      argv,
      { engine: { type: 'string' }, trace: { type: 'string' }, setup: { type: 'string' }, baud: { type: 'string' }, repeat: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' } },
      HELP,
    );
    if (!a) return 0;
    const v = a.values;
    if (a.positionals.length) throw new UsageError(`unexpected argument "${a.positionals[0]}"\n\n${HELP.trimEnd()}`);
    const traceFile = (v.trace as string | undefined) ?? SAMPLE;
    const setupFile = (v.setup as string | undefined) ?? traceFile.replace(/\.jsonl$/, '') + '.setup.json';
    const repeat = intOption('repeat', v.repeat, 1, 1, 100_000);
    const paced = v.baud !== undefined;
    const baud = intOption('baud', v.baud, 115200, 300, 4_000_000);
    const json = v.json === true;
    const quiet = json || v.quiet === true;
    const out = (s: string) => {
      if (!quiet) process.stdout.write(s + '\n');
    };

    const trace = loadTrace(traceFile);
    const setup = v.setup !== undefined || existsSync(setupFile) ? loadSetup(setupFile) : {};
    const spec = (v.engine as string | undefined) ?? 'local';
    if (spec !== 'local' && !spec.startsWith('/') && !/^tcp:\/\/.+:\d+$/.test(spec)) throw new UsageError(`--engine expects local, a device path or tcp://HOST:PORT, got "${spec}"`);
    const conn = await connectEngine(spec, { baud, pace: paced, log: quiet ? undefined : (l) => process.stderr.write(l + '\n') });
    const { client, link } = conn;
    const describe = spec === 'local' ? `local Node engine (pid ${conn.local?.child?.pid}) over a socat pty pair` : `engine at ${spec}`;
    try {
      const hello = conn.client.engine as Hello;
      out(`imans sim: ${describe}${paced ? `, host output paced to ${baud} baud` : ''}`);
      out(`engine: profile ${hello.profile}, protocol ${hello.version}, intern slots ${hello.limits.internSlots}, max frame ${hello.limits.maxFrame}`);

      // Namespaces and policies.
      const nsIds: { [name: string]: number } = { host: 0 };
      const nsName: { [id: number]: string } = { 0: 'host' };
      const nsOfMntns: { [mntns: number]: string } = {};
      const loadPolicy = async (ns: number, lines: string[] | undefined) => {
        if (!lines || lines.length === 0) return;
        await client.control(CONTROL_OP.POLICY_LOAD, { ns, text: lines.join('\n') + '\n' });
      };
      await loadPolicy(0, setup.host?.policy);
      for (const n of setup.namespaces ?? []) {
        const parent = nsIds[n.parent ?? 'host'];
        if (parent === undefined) throw new UsageError(`${setupFile}: namespace "${n.name}" names parent "${n.parent}", which is not defined before it`);
        const args: { [k: string]: unknown } = { mntns: n.mntns, parent };
        if (n.userns !== undefined) args.userns = n.userns;
        if (n.fail) args.fail = n.fail;
        if (n.deadlineMs !== undefined) args.deadlineMs = n.deadlineMs;
        const r = (await client.control(CONTROL_OP.NS_CREATE, args)) as { ns: number };
        nsIds[n.name] = r.ns;
        nsName[r.ns] = n.name;
        nsOfMntns[n.mntns] = n.name;
        await loadPolicy(r.ns, n.policy);
        out(`namespace ${n.name}: id ${r.ns}, mntns ${n.mntns}, ${n.fail ?? 'default'} on failure, ${n.policy?.length ?? 0} policy rules`);
      }

      // Replay: keep a bounded number of events in flight, as the bridge's queue would.
      const before = { ...link.counters };
      const total = trace.length * repeat;
      const window = 512;
      let sent = 0;
      let verdicts = 0;
      let denied = 0;
      let failed = 0;
      const t0 = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        const pump = () => {
          while (sent < total && sent - verdicts - failed < window) {
            const ev = trace[sent % trace.length];
            sent++;
            client.submit(ev).then(
              (vd) => {
                verdicts++;
                if (vd.code & VERDICT.DENY) denied++;
                out(`#${String(ev.id).padStart(5)} ${(nsOfMntns[ev.proc.mntns] ?? 'host').padEnd(4)} pid ${ev.proc.pid} ${(FUNC_NAMES[ev.func] ?? String(ev.func)).padEnd(10)} ${ev.file.path}  ${describeVerdict(vd, (id) => nsName[id] ?? `ns${id}`)}`);
                for (const line of vd.audit) out(`  audit: ${line}`);
                done();
              },
              (e: Error) => {
                failed++;
                out(`#${ev.id} no verdict: ${e.message}`);
                done();
              },
            );
          }
        };
        const done = () => {
          if (verdicts + failed === total) resolve();
          else pump();
        };
        pump();
        if (total === 0) resolve();
      });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = link.counters;
      const wire = c.bytes_sent - before.bytes_sent + (c.bytes_received - before.bytes_received);
      const aggregates: { [name: string]: { count: number; sha1: string; sha256: string } } = {};
      for (const name of Object.keys(nsIds)) {
        const ag = (await client.control(CONTROL_OP.AGGREGATE, { ns: nsIds[name] })) as { count: number; sha1: Uint8Array; sha256: Uint8Array };
        aggregates[name] = { count: ag.count, sha1: toHex(ag.sha1), sha256: toHex(ag.sha256) };
      }
      const summary = {
        engine: describe,
        trace: traceFile,
        events: total,
        verdicts,
        denied,
        lost: total - verdicts,
        wire_bytes: wire,
        bytes_per_event: total ? Math.round((wire / total) * 100) / 100 : 0,
        events_per_s: seconds > 0 ? Math.round(total / seconds) : 0,
        seconds: Math.round(seconds * 1000) / 1000,
        retransmits: c.retransmits - before.retransmits,
        crc_errors: c.crc_errors - before.crc_errors,
        frames_sent: c.frames_sent - before.frames_sent,
        frames_received: c.frames_received - before.frames_received,
        baud: paced ? baud : null,
        aggregates,
      };
      if (json) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        out('');
        out(`events ${summary.events}, verdicts ${verdicts}, denied ${denied}, lost ${summary.lost}`);
        out(`wire ${wire} bytes (${summary.bytes_per_event} per event), ${summary.events_per_s} events/s, retransmits ${summary.retransmits}, crc errors ${summary.crc_errors}`);
        for (const name of Object.keys(aggregates)) out(`aggregate ${name}: ${aggregates[name].count} entries, sha256 ${aggregates[name].sha256}`);
      }
      return summary.lost === 0 ? 0 : 1;
    } finally {
      await conn.close();
    }
  });
}
