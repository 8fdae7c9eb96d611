// bench:espruino: the engine as board firmware.
// - firmware size and variables at rest;
// - per-event cost of the board build in the board sandbox: wall time in vm (a relative figure: V8
//   runs the code, not the interpreter), Uint8Array allocations and bytes, native hash calls, flash
//   bytes written by the journal;
// - where the interpreter's Linux build is available ($ESPRUINO_BIN or PATH): events/s over a pty
//   pair, unpaced and with the host's writes paced to 115200 baud, and the memory budget that
//   sets the Pico limits.
import { crc32 } from 'node:zlib';
import { buildBundle, buildPortableBundle } from '../coprocessor/espruino/build.js';
import { createBoardSandbox } from '../coprocessor/espruino/sandbox/board-sandbox.js';
import { measureAtRest } from '../coprocessor/espruino/sandbox/at-rest.js';
import { findInterpreter } from '../coprocessor/espruino/sandbox/memory-model.js';
import { eventTrace } from '../coprocessor/espruino/sandbox/scenario.js';
import { distinctEvents, measureBudget } from '../coprocessor/espruino/sandbox/budget.js';
import { bootScript, removeInterpreterDir, startInterpreter } from '../coprocessor/espruino/sandbox/interpreter.js';
import { limitsForMemory, STATE_COST } from '../coprocessor/espruino/platform.js';
import { PlatformLimits } from '../coprocessor/core/platform.js';
import { createPortableCodec } from '../protocol/cbor.js';
import { WireDecoder, WireEncoder } from '../protocol/wire.js';
import { CONTROL_OP, FileEvent, Message, MSG } from '../protocol/messages.js';
import { Link } from '../protocol/link.js';
import { createPtyPair } from '../protocol/node/transports/pty.js';
import { openSerial } from '../protocol/node/transports/serial.js';
import { PacedTransport } from '../protocol/node/transports/paced.js';
import { Transport } from '../protocol/transport.js';

type Obj = { [k: string]: unknown };
type Fn = (...a: unknown[]) => unknown;

const HELLO: Message = { type: MSG.HELLO, version: 1, profile: 'host', limits: { maxFrame: 256, maxMessage: 1024, window: 4, internSlots: 64, maxNamespaces: 0, maxRules: 0, maxEntriesInRam: 0 }, algorithms: ['sha256'] };
const SETUP: Message[] = [
  { type: MSG.CONTROL, req: 1, op: CONTROL_OP.NS_CREATE, args: { mntns: 4026532501 } },
  { type: MSG.CONTROL, req: 2, op: CONTROL_OP.POLICY_LOAD, args: { ns: 1, text: 'measure func=FILE_CHECK mask=MAY_READ\nappraise func=FILE_CHECK fowner=1000\n' } },
];
const BATCH = 4;
/** Limits for the throughput runs: unbounded lists, so that no event is refused. */
const BENCH_LIMITS: PlatformLimits = { maxNamespaces: 4, maxRules: 16, maxEntriesInRam: 0, internSlots: 64, maxMessage: 1024 };
/** Boards: variable blocks and block size (espruino-serial-cbor.md §1.4). */
const BOARDS: [string, number, number][] = [
  ['Pico', 5100, 13],
  ['Espruino WiFi', 8190, 13],
  ['Bangle.js 2', 12000, 14],
  ['ESP32', 16383, 14],
];

function batches(events: FileEvent[], enc: WireEncoder): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < events.length; i += BATCH) out.push(enc.encode({ type: MSG.EVENT, events: events.slice(i, i + BATCH) }));
  return out;
}

async function sandboxPerEvent(n: number, distinct: boolean): Promise<void> {
  const portable = await buildPortableBundle();
  const sb = createBoardSandbox();
  try {
    sb.run(portable.code, 'portable.js');
    const P = sb.run('PORTABLE') as { [m: string]: Obj };
    // Count every Uint8Array the board code allocates, and every native hash call.
    const counts = { arrays: 0, bytes: 0, hashes: 0 };
    const RealU8 = sb.run('Uint8Array') as Uint8ArrayConstructor;
    sb.context.Uint8Array = new Proxy(RealU8, {
      construct(target, args) {
        const r = Reflect.construct(target, args) as Uint8Array;
        counts.arrays++;
        counts.bytes += r.length;
        return r;
      },
    });
    const crypto = sb.run('require("crypto")') as { [k: string]: Fn };
    const board = sb.run('({ E: E, crypto: {}, storage: require("Storage") })') as Obj;
    for (const k of Object.keys(crypto)) {
      (board.crypto as Obj)[k] = (d: unknown) => {
        counts.hashes++;
        return crypto[k](d);
      };
    }
    const platform = (P['coprocessor/espruino/platform'].createEspruinoPlatform as Fn)(board, sb.run('(' + JSON.stringify(BENCH_LIMITS) + ')'));
    const engine = (P['coprocessor/core/engine/engine'].createEngine as Fn)(platform) as Obj;
    const W = P['protocol/wire'] as { WireEncoder: new (...a: unknown[]) => Obj; WireDecoder: new (...a: unknown[]) => Obj };
    const codec = P['protocol/cbor'].createPortableCodec as Fn;
    const dec = new W.WireDecoder(codec(), 0);
    const enc = new W.WireEncoder(codec(), 0);
    const toRealm = sb.run('(function (s) { return E.toUint8Array(s); })') as (s: string) => Uint8Array;
    const host = new WireEncoder(createPortableCodec(), 0);
    const feed = (b: Uint8Array) => {
      const msg = (dec.decode as Fn).call(dec, toRealm(Buffer.from(b).toString('latin1'))) as Obj;
      const replies = (engine.handle as Fn).call(engine, msg) as Obj[];
      for (const r of replies) (enc.encode as Fn).call(enc, r);
      return { msg, replies };
    };
    feed(host.encode(HELLO));
    for (const w of [dec, enc]) (w.reset as Fn).call(w, 64);
    host.reset(64);
    for (const m of SETUP) feed(host.encode(m));
    const warm = batches(eventTrace(64, 1), host);
    for (const b of warm) feed(b);
    const events = distinct ? distinctEvents(n, 65, 4026532501) : eventTrace(n, 65);
    const bs = batches(events, host);
    const flashBefore = Object.values(sb.flash).reduce((a, s) => a + s.length, 0);
    counts.arrays = counts.bytes = counts.hashes = 0;
    const t0 = process.hrtime.bigint();
    for (const b of bs) feed(b);
    const ns = Number(process.hrtime.bigint() - t0);
    const flashAfter = Object.values(sb.flash).reduce((a, s) => a + s.length, 0);
    const wire = bs.reduce((a, b) => a + b.length, 0);
    process.stdout.write(
      `sandbox (V8 in a board-shaped vm), ${n} events in batches of ${BATCH}, ` +
        (distinct ? 'every event a new file (each one measured):\n' : '6 distinct files over 3 namespaces, all measured already (steady state):\n') +
        `  ${(ns / n / 1000).toFixed(1)} µs/event; per event: ${(counts.arrays / n).toFixed(1)} Uint8Array allocations, ${(counts.bytes / n).toFixed(0)} bytes allocated, ` +
        `${(counts.hashes / n).toFixed(2)} native hash calls, ${((flashAfter - flashBefore) / n).toFixed(0)} flash bytes written, ${(wire / n).toFixed(1)} wire bytes in\n`,
    );
  } finally {
    sb.dispose();
  }
}

async function interpreterEventsPerSecond(bin: string, n: number, baud: number | null): Promise<number> {
  const firmware = (await buildBundle()).code;
  const pty = await createPtyPair();
  const board = startInterpreter(bin, bootScript(firmware, { device: 'Serial1', path: pty.a, console: 'USB', delayMs: 0, limits: BENCH_LIMITS }));
  try {
    await board.waitFor(/FIRMWARE LOADED/);
    const serial = await openSerial(pty.b, 115200);
    const t: Transport = baud ? new PacedTransport(serial, { baud }) : serial;
    const link = new Link(t, { crc32: (b) => crc32(b) });
    await new Promise<void>((r) => link.onUp(() => r()));
    const enc = new WireEncoder(createPortableCodec(), 0);
    const dec = new WireDecoder(createPortableCodec(), 0);
    let verdicts = 0;
    let replies = 0;
    let done: (() => void) | null = null;
    let target = 0;
    link.onMessage((b) => {
      const m = dec.decode(b);
      replies++;
      if (m && m.type === MSG.HELLO_ACK) {
        dec.reset(m.limits.internSlots);
        enc.reset(m.limits.internSlots);
      }
      if (m && m.type === MSG.VERDICT) verdicts += m.verdicts.length;
      if (done && (verdicts >= target || replies >= target)) done();
    });
    const waitFor = (count: number, which: 'replies' | 'verdicts') =>
      new Promise<void>((resolve, reject) => {
        target = count;
        const timer = setTimeout(() => reject(new Error(`timeout waiting for ${which}: ${which === 'replies' ? replies : verdicts}/${count}`)), 300_000);
        done = () => {
          if ((which === 'replies' ? replies : verdicts) >= count) {
            clearTimeout(timer);
            done = null;
            resolve();
          }
        };
      });
    let w = waitFor(1, 'replies');
    link.send(enc.encode(HELLO));
    await w;
    w = waitFor(1 + SETUP.length, 'replies');
    for (const m of SETUP) link.send(enc.encode(m));
    await w;
    const bs = batches(eventTrace(n, 1), enc);
    w = waitFor(n, 'verdicts');
    const t0 = Date.now();
    for (const b of bs) link.send(b);
    await w;
    const ms = Date.now() - t0;
    link.close();
    return (n / ms) * 1000;
  } finally {
    await board.stop();
    removeInterpreterDir(board.dir);
    await pty.close();
  }
}

async function main(): Promise<void> {
  const fw = await buildBundle();
  const rest = measureAtRest(fw.code);
  const restText = rest.interpreter
    ? `${rest.interpreter.usage} blocks of ${rest.interpreter.blocksize} bytes on the interpreter (run from flash)`
    : `>= ${rest.sandboxBlocks} blocks (sandbox estimate of what IMANS reaches; closures unseen)`;
  process.stdout.write(`firmware: ${fw.code.length} bytes minified, ${fw.modules.length} modules; at rest: ${restText}\n`);
  await sandboxPerEvent(400, false);
  await sandboxPerEvent(400, true);
  const bin = findInterpreter();
  if (!bin) {
    process.stdout.write('interpreter: not available (set ESPRUINO_BIN to a Linux build of Espruino for events/s and the memory budget)\n');
    return;
  }
  const raw = await interpreterEventsPerSecond(bin, 400, null);
  const paced = await interpreterEventsPerSecond(bin, 200, 115200);
  process.stdout.write(`interpreter (Espruino Linux build, x86 host; a board is 10-50x slower): ${raw.toFixed(0)} events/s over an unpaced pty, ${paced.toFixed(0)} events/s with the host's writes paced to 115200 baud\n`);
  const budget = measureBudget(bin, (await buildPortableBundle()).code, fw.code);
  const f = (c: { blocks: number; blocksize: number; picoUpper: number }) => `${c.blocks} blocks (${c.blocksize} B) ≈ ${c.picoUpper} Pico blocks at most`;
  process.stdout.write(
    `memory (interpreter, process.memory()):\n  engine with its host namespace ${f(budget.engineAtRest)}\n  per intern slot (empty) ${f(budget.perSlot)}\n  per namespace ${f(budget.perNamespace)}\n  per policy rule ${f(budget.perRule)}\n` +
      `  per interned file ${f(budget.perInterned)}\n  per measurement entry ${f(budget.perEntry)}\n  firmware code if run from RAM ${f(budget.firmwareCode)} (0 when saved to flash as .bootcde)\n`,
  );
  process.stdout.write(`  (platform STATE_COST, used for the limits: ${JSON.stringify(STATE_COST)})\n`);
  const atRest = rest.interpreter ? rest.interpreter.usage : 0;
  for (const [name, total, bs] of BOARDS) {
    let text: string;
    try {
      text = JSON.stringify(limitsForMemory(total - atRest, bs));
    } catch (e) {
      text = (e as Error).message;
    }
    process.stdout.write(`  ${name} (${total} blocks of ${bs} B, ${atRest} taken by the firmware at rest): ${text}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench:espruino: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
