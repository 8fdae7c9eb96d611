// What the engine's state costs in the board's variable blocks, measured on the interpreter's Linux
// build with process.memory() (which collects garbage first): the engine at rest, then one more
// namespace, one more policy rule, one more interned file, one more measurement entry. Messages
// are encoded here by the host's wire encoder and decoded there, as on a board.
//
// Linux blocks are 27 bytes, a Pico's 13: objects and properties take the same number of blocks,
// flat byte data (digests, template data) about twice as many. Each figure is therefore reported
// as a range, `blocks` (same count) to `bytes / 13` (all data), and the Pico limits use the upper end.
import { FileEvent, Message, MSG, CONTROL_OP, FUNC, MAY } from '../../../protocol/messages.js';
import { createPortableCodec } from '../../../protocol/cbor.js';
import { WireEncoder } from '../../../protocol/wire.js';
import { PlatformLimits } from '../../core/platform.js';
import { eventTrace } from './scenario.js';
import { runFromFlash, runOnInterpreter } from './memory-model.js';

const PICO_BLOCK_BYTES = 13;

export interface Cost {
  /** Blocks on the Linux build. */
  blocks: number;
  blocksize: number;
  /** Blocks on a 13-byte-block board, counting every Linux byte (upper bound). */
  picoUpper: number;
}

export interface Budget {
  /** The engine with its host namespace, right after createEngine. */
  engineAtRest: Cost;
  /** One slot of the intern table, empty (the decoder's table is sized at HELLO). */
  perSlot: Cost;
  perNamespace: Cost;
  perRule: Cost;
  perInterned: Cost;
  perEntry: Cost;
  /** Firmware code kept in RAM when it is run from a RAM upload rather than from flash. */
  firmwareCode: Cost;
}

export function distinctEvents(n: number, firstId: number, mntns: number): FileEvent[] {
  const base = eventTrace(1)[0];
  const out: FileEvent[] = [];
  for (let i = 0; i < n; i++) {
    const digest = new Uint8Array(32);
    digest[0] = i & 255;
    digest[1] = i >> 8;
    const sha1 = new Uint8Array(20);
    sha1[0] = i & 255;
    out.push({
      id: firstId + i,
      func: FUNC.FILE_CHECK,
      mask: MAY.READ,
      flags: 0,
      proc: { ...base.proc, mntns },
      file: { ...base.file, path: '/srv/data/file-' + i + '.txt', ino: 5000 + i, xattr: null, digests: [{ algo: 4, digest }, { algo: 2, digest: sha1 }] },
    });
  }
  return out;
}

/** The phases, each a list of messages (hex) the interpreter feeds before printing its memory use. */
function phases(nNs: number, nRules: number, nFiles: number): { label: string; hex: string[] }[] {
  const enc = new WireEncoder(createPortableCodec(), 0);
  let req = 1;
  const hex = (m: Message) => Buffer.from(enc.encode(m)).toString('hex');
  const control = (op: number, args: object): Message => ({ type: MSG.CONTROL, req: req++, op, args: args as { [k: string]: unknown } });
  const hello: Message = { type: MSG.HELLO, version: 1, profile: 'host', limits: { maxFrame: 256, maxMessage: 65536, window: 4, internSlots: 1024, maxNamespaces: 0, maxRules: 0, maxEntriesInRam: 0 }, algorithms: ['sha256'] };
  const out: { label: string; hex: string[] }[] = [];
  out.push({ label: 'hello', hex: [hex(hello)] });
  enc.reset(1024);
  const ns: string[] = [];
  for (let i = 0; i < nNs; i++) ns.push(hex(control(CONTROL_OP.NS_CREATE, { mntns: 4026533000 + i })));
  out.push({ label: 'namespaces', hex: ns });
  out.push({ label: 'policy1', hex: [hex(control(CONTROL_OP.POLICY_LOAD, { ns: 1, text: 'dont_measure fsmagic=0x9fa0\n' }))] });
  const rules: string[] = [];
  for (let i = 0; i < nRules; i++) rules.push(`dont_measure fsmagic=0x${(0x1000 + i).toString(16)}`);
  out.push({ label: 'policyN', hex: [hex(control(CONTROL_OP.POLICY_LOAD, { ns: 1, text: 'dont_measure fsmagic=0x9fa0\n' + rules.join('\n') + '\n' }))] });
  // Files interned while no rule measures them, then the same files (references now) measured.
  out.push({ label: 'clear', hex: [hex(control(CONTROL_OP.POLICY_LOAD, { ns: 1, text: 'dont_measure func=FILE_CHECK\n' }))] });
  const evs = distinctEvents(nFiles, 1, 4026533000);
  const interned: string[] = [];
  for (let i = 0; i < evs.length; i += 4) interned.push(hex({ type: MSG.EVENT, events: evs.slice(i, i + 4) }));
  out.push({ label: 'interned', hex: interned });
  out.push({ label: 'measure', hex: [hex(control(CONTROL_OP.POLICY_LOAD, { ns: 1, text: 'measure func=FILE_CHECK\n' }))] });
  const again = distinctEvents(nFiles, 1 + nFiles, 4026533000);
  const measured: string[] = [];
  for (let i = 0; i < again.length; i += 4) measured.push(hex({ type: MSG.EVENT, events: again.slice(i, i + 4) }));
  out.push({ label: 'measured', hex: measured });
  return out;
}

function cost(blocks: number, blocksize: number, per: number): Cost {
  const b = blocks / per;
  return { blocks: round(b), blocksize, picoUpper: round((b * blocksize) / PICO_BLOCK_BYTES) };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Measure on the interpreter; `portable` is the portable bundle, `firmware` the shipped one. */
export function measureBudget(bin: string, portable: string, firmware: string): Budget {
  const N_NS = 3;
  const N_RULES = 32;
  const N_FILES = 64;
  const ph = phases(N_NS, N_RULES, N_FILES);
  const limits: PlatformLimits = { maxNamespaces: 64, maxRules: 1024, maxEntriesInRam: 0, internSlots: 1024, maxMessage: 65536 };
  const script =
    runFromFlash(portable) +
    `
console.log('BUDGET loaded ' + process.memory().usage);
var P = PORTABLE, fromHex = P['protocol/bytes'].fromHex;
var plat = P['coprocessor/espruino/platform'].createEspruinoPlatform({ E: E, crypto: require('crypto'), storage: require('Storage') }, ${JSON.stringify(limits)});
var dec = new P['protocol/wire'].WireDecoder(P['protocol/cbor'].createPortableCodec(), 0);
var eng = P['coprocessor/core/engine/engine'].createEngine(plat);
var PH = ${JSON.stringify(ph)};
function mem() { return process.memory(); }
var m = mem();
console.log('BUDGET blocksize ' + m.blocksize);
console.log('BUDGET engine ' + m.usage);
for (var i = 0; i < PH.length; i++) {
  for (var j = 0; j < PH[i].hex.length; j++) {
    var msg = dec.decode(fromHex(PH[i].hex[j]));
    var r = eng.handle(msg);
    if (msg.type === 0) dec.reset(1024);
    for (var k = 0; k < r.length; k++) if (r[k].type === 7) console.log('BUDGET error ' + PH[i].label + ' ' + r[k].text);
  }
  PH[i].hex = null;
  console.log('BUDGET ' + PH[i].label + ' ' + mem().usage);
}
`;
  const lines = runOnInterpreter(bin, script, 'BUDGET ', 120_000);
  const at: { [k: string]: number } = {};
  let blocksize = 27;
  const errors: string[] = [];
  for (const l of lines) {
    const f = l.split(' ');
    if (f[0] === 'error') errors.push(l);
    else if (f[0] === 'blocksize') blocksize = Number(f[1]);
    else at[f[0]] = Number(f[1]);
  }
  if (errors.length || at.measured === undefined) throw new Error('budget run failed: ' + (errors.join('; ') || lines.join('; ')));
  // The firmware's own code, when it is uploaded to RAM (not saved to flash).
  const fwLines = runOnInterpreter(bin, 'var m0 = process.memory().usage;\n' + 'eval(' + JSON.stringify(firmware) + ');\nconsole.log("BUDGET fw " + (process.memory().usage - m0));\n', 'BUDGET ', 60_000);
  const fw = Number((fwLines[0] ?? 'fw 0').split(' ')[1]);
  return {
    engineAtRest: cost(at.engine - at.loaded, blocksize, 1),
    perSlot: cost(at.hello - at.engine, blocksize, 1024),
    perNamespace: cost(at.namespaces - at.hello, blocksize, N_NS),
    perRule: cost(at.policyN - at.policy1, blocksize, N_RULES),
    perInterned: cost(at.interned - at.clear, blocksize, N_FILES),
    perEntry: cost(at.measured - at.measure, blocksize, N_FILES),
    firmwareCode: cost(fw, blocksize, 1),
  };
}
