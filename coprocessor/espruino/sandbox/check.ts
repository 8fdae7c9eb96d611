// `npm run check:espruino`: the board guard. Builds the firmware and a bundle of every portable
// module, rejects what the interpreter cannot run (guard.ts), then runs them in the board-shaped
// sandbox: the board platform against Node's crypto, Storage surviving a reset, the protocol
// vectors, and the engine scenario of espruino-scenario.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createHash, createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { buildBundle, buildPortableBundle, Bundle, REPO } from '../build.js';
import { checkBundle, formatProblems } from './guard.js';
import { BoardSandbox, createBoardSandbox } from './board-sandbox.js';
import { CONFIG_FILE } from '../runner.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface GuardReport {
  problems: string[];
  checks: CheckResult[];
  firmwareBytes: number;
}

type Fn = (...a: unknown[]) => unknown;
type Obj = { [k: string]: unknown };

/** Load a bundle into a fresh sandbox (the engine left stopped), sharing `flash` when given. */
export function loadInSandbox(code: string, flash?: { [name: string]: string }): BoardSandbox {
  const sb = createBoardSandbox();
  if (flash) Object.assign(sb.flash, flash);
  if (sb.flash[CONFIG_FILE] === undefined) sb.flash[CONFIG_FILE] = JSON.stringify({ autostart: false });
  sb.run(code, 'bundle.js');
  return sb;
}

function hex(b: ArrayLike<number>): string {
  return Buffer.from(Array.prototype.slice.call(b) as number[]).toString('hex');
}

function platformChecks(fw: Bundle): CheckResult[] {
  const out: CheckResult[] = [];
  const sb = loadInSandbox(fw.code);
  try {
    const u8 = (s: string) => sb.run(`E.toUint8Array(${JSON.stringify(s)})`) as Uint8Array;
    const api = sb.run('IMANS') as Obj;
    const board = (api.boardHandles as Fn)();
    const cfg = (api.loadConfig as Fn)((board as Obj).storage) as Obj;
    cfg.limits = { maxNamespaces: 2, maxRules: 8, maxEntriesInRam: 8, internSlots: 8, maxMessage: 1024 };
    const P = (api.createPlatform as Fn)(board, (api.limitsFor as Fn)(cfg, board)) as Obj;
    const msg = 'The quick brown fox jumps over the lazy dog';
    const want: [string, string, string][] = [
      ['sha1', hex((P.hash as Fn)(2, u8(msg)) as Uint8Array), createHash('sha1').update(msg).digest('hex')],
      ['sha256', hex((P.hash as Fn)(4, u8(msg)) as Uint8Array), createHash('sha256').update(msg).digest('hex')],
      ['hmac-sha256', hex((P.hmacSha256 as Fn)(u8('k'.repeat(70)), u8(msg)) as Uint8Array), createHmac('sha256', 'k'.repeat(70)).update(msg).digest('hex')],
      ['crc32', String((P.crc32 as Fn)(u8(msg))), String(crc32(msg))],
    ];
    for (const w of want) out.push({ name: 'platform ' + w[0], ok: w[1] === w[2], detail: w[1] + (w[1] === w[2] ? '' : ' != ' + w[2]) });
    out.push({ name: 'platform md5 absent', ok: (P.hash as Fn)(1, u8('x')) === null, detail: 'hash(1) is null' });
    const st = P.storage as Obj;
    const rec = sb.run('new Uint8Array([0, 255, 10, 13, 1, 255])');
    (st.append as Fn)('log', rec);
    (st.append as Fn)('log', sb.run('new Uint8Array([255])'));
    (st.replace as Fn)('rec', rec);
    // A record larger than a flash chunk (journal records of a big batch are).
    const big = sb.run('(function () { var b = new Uint8Array(3000); for (var i = 0; i < b.length; i++) b[i] = (i * 7) & 255; return b; })()') as Uint8Array;
    (st.append as Fn)('big', big);
    // A reset: the same flash, a fresh interpreter.
    const sb2 = loadInSandbox(fw.code, sb.flash);
    try {
      const api2 = sb2.run('IMANS') as Obj;
      const b2 = (api2.boardHandles as Fn)();
      const P2 = (api2.createPlatform as Fn)(b2, {}) as Obj;
      const st2 = P2.storage as Obj;
      const log = hex((st2.read as Fn)('log') as Uint8Array);
      const r = hex((st2.read as Fn)('rec') as Uint8Array);
      const names = JSON.stringify((st2.list as Fn)());
      const bigBack = hex((st2.read as Fn)('big') as Uint8Array) === hex(big);
      const ok = log === '00ff0a0d01ffff' && r === '00ff0a0d01ff' && names === '["big","log","rec"]' && bigBack;
      out.push({ name: 'storage survives a reset', ok, detail: `log ${log}, rec ${r}, list ${names}, 3000-byte record ${bigBack ? 'intact' : 'damaged'}` });
    } finally {
      sb2.dispose();
    }
  } catch (e) {
    out.push({ name: 'platform', ok: false, detail: (e as Error).stack ?? String(e) });
  } finally {
    sb.dispose();
  }
  return out;
}

const FRAME_TYPES = ['DATA', 'ACK', 'NACK', 'RST', 'RST_ACK'];

/** protocol/vectors/frames.json through the bundled FrameDecoder, with E.CRC32 as its CRC. */
function frameVectors(sb: BoardSandbox, doc: { vectors: Obj[] }): CheckResult {
  const frame = (sb.run('PORTABLE') as Obj)['protocol/frame'] as Obj;
  const fromHex = ((sb.run('PORTABLE') as Obj)['protocol/bytes'] as Obj).fromHex as Fn;
  const crc = sb.run('(function (b) { return E.CRC32(b); })');
  const failures: string[] = [];
  for (const v of doc.vectors) {
    const got: Obj[] = [];
    const Dec = frame.FrameDecoder as new (...a: unknown[]) => Obj;
    const d = new Dec(v.maxFrame, crc, (f: Uint8Array, len: number, tagged: boolean) => {
      const t = f[0] & 7;
      got.push({ type: FRAME_TYPES[t] ?? t, more: (f[0] & 8) !== 0, seq: f[1], ack: f[2], payload: hex(f.subarray(3, len)), tagged });
    });
    d.tag = parseInt(String(v.tag), 16);
    (d.feed as Fn).call(d, fromHex(v.wire));
    const want = (v.frames as Obj[]).map((f) => ({ type: f.type, more: f.more, seq: f.seq, ack: f.ack, payload: f.payload, tagged: f.tagged }));
    const counters = d.counters as Obj;
    const nz: Obj = {};
    for (const k of Object.keys(counters).sort()) if (counters[k] && k !== 'bytes_received') nz[k] = counters[k];
    const wantCounters: Obj = {};
    for (const k of Object.keys(v.counters as Obj).sort()) wantCounters[k] = (v.counters as Obj)[k];
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${v.name}: frames ${JSON.stringify(got)}`);
    if (JSON.stringify(nz) !== JSON.stringify(wantCounters)) failures.push(`${v.name}: counters ${JSON.stringify(nz)}`);
  }
  return { name: `vectors frames.json (${doc.vectors.length})`, ok: failures.length === 0, detail: failures.join('; ') };
}

/** JSON forms of protocol/vectors/json.ts, computed inside the sandbox so values stay in its realm. */
const REALM_JSON = `(function (P) {
  function fromJson(v) {
    var i, k, o;
    if (Array.isArray(v)) { o = []; for (i = 0; i < v.length; i++) o.push(fromJson(v[i])); return o; }
    if (v !== null && typeof v === 'object') {
      k = Object.keys(v);
      if (k.length === 1 && k[0] === '$bytes') return P['protocol/bytes'].fromHex(v.$bytes);
      o = {}; for (i = 0; i < k.length; i++) o[k[i]] = fromJson(v[k[i]]); return o;
    }
    return v;
  }
  function toJson(v) {
    var i, k, o;
    if (v instanceof Uint8Array) return { $bytes: P['protocol/bytes'].toHex(v) };
    if (Array.isArray(v)) { o = []; for (i = 0; i < v.length; i++) o.push(toJson(v[i])); return o; }
    if (v !== null && typeof v === 'object') { o = {}; k = Object.keys(v); for (i = 0; i < k.length; i++) o[k[i]] = toJson(v[k[i]]); return o; }
    return v;
  }
  return { fromJson: function (s) { return fromJson(JSON.parse(s)); }, toJson: function (v) { return JSON.stringify(toJson(v)); } };
})(PORTABLE)`;

interface MessageStep {
  reset?: number;
  hex?: string;
  message?: unknown;
  encode?: boolean;
  error?: { code: string; err: number; field?: string; offset?: number; req?: number };
}

/** protocol/vectors/messages.json through the bundled wire decoder and encoder (portable codec). */
function messageVectors(sb: BoardSandbox, doc: { vectors: { name: string; slots: number; steps: MessageStep[] }[] }): CheckResult {
  const P = sb.run('PORTABLE') as { [m: string]: Obj };
  const J = sb.run(REALM_JSON) as { fromJson(s: string): unknown; toJson(v: unknown): string };
  const codec = P['protocol/cbor'].createPortableCodec as Fn;
  const W = P['protocol/wire'] as { WireEncoder: new (...a: unknown[]) => Obj; WireDecoder: new (...a: unknown[]) => Obj };
  const fromHex = P['protocol/bytes'].fromHex as Fn;
  const toHex = P['protocol/bytes'].toHex as Fn;
  const failures: string[] = [];
  let steps = 0;
  for (const v of doc.vectors) {
    const dec = new W.WireDecoder(codec(), v.slots);
    const enc = new W.WireEncoder(codec(), v.slots);
    v.steps.forEach((s, i) => {
      const where = `${v.name} step ${i}`;
      steps++;
      try {
        if (s.reset !== undefined) {
          (dec.reset as Fn).call(dec, s.reset);
          (enc.reset as Fn).call(enc, s.reset);
          return;
        }
        const bytes = fromHex(s.hex);
        if (s.error) {
          let got: unknown = 'no error';
          try {
            (dec.decode as Fn).call(dec, bytes);
          } catch (e) {
            const x = e as { code: string; err: number; field?: string; offset: number; req?: number };
            got = { code: x.code, err: x.err, field: x.field, offset: x.offset >= 0 ? x.offset : undefined, req: x.req };
          }
          const want = { field: undefined, offset: undefined, req: undefined, ...s.error };
          if (!isDeepStrictEqual(got, want)) failures.push(`${where}: error ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
          return;
        }
        const got = JSON.parse(J.toJson((dec.decode as Fn).call(dec, bytes)));
        if (!isDeepStrictEqual(got, s.message)) failures.push(`${where}: decoded ${JSON.stringify(got)}`);
        if (s.encode) {
          const hex = toHex((enc.encode as Fn).call(enc, J.fromJson(JSON.stringify(s.message))));
          if (hex !== s.hex) failures.push(`${where}: encoded ${hex}`);
        }
      } catch (e) {
        failures.push(`${where}: threw ${(e as Error).message}`);
      }
    });
  }
  return { name: `vectors messages.json (${doc.vectors.length} vectors, ${steps} steps)`, ok: failures.length === 0, detail: failures.slice(0, 5).join('; ') };
}

function vectorChecks(portable: Bundle): CheckResult[] {
  const dir = resolve(REPO, 'protocol/vectors');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const out: CheckResult[] = [];
  const sb = loadInSandbox(portable.code);
  try {
    for (const f of files) {
      const doc = JSON.parse(readFileSync(resolve(dir, f), 'utf8'));
      try {
        if (f === 'frames.json') out.push(frameVectors(sb, doc));
        else if (f === 'messages.json') out.push(messageVectors(sb, doc));
        else out.push({ name: `vectors ${f}`, ok: false, detail: 'the board guard has no runner for this vector file' });
      } catch (e) {
        out.push({ name: `vectors ${f}`, ok: false, detail: (e as Error).stack ?? String(e) });
      }
    }
  } finally {
    sb.dispose();
  }
  return out;
}

/** The engine scenario (scenario.ts) on the board build, against the Node engine, reply for reply. */
async function engineScenario(portable: Bundle): Promise<CheckResult> {
  const name = 'engine scenario: same replies as the Node engine';
  if (portable.modules.indexOf('coprocessor/core/engine/engine.ts') < 0) return { name, ok: true, detail: 'skipped: no engine in the core yet' };
  const { runOnBoard, runOnNode, scenarioTrace, SCENARIO_LIMITS } = await import('./scenario.js');
  const trace = scenarioTrace(24);
  const sb = loadInSandbox(portable.code);
  try {
    const board = runOnBoard(sb, trace, SCENARIO_LIMITS);
    const node = await runOnNode(trace, SCENARIO_LIMITS);
    const diffs: string[] = [];
    for (let i = 0; i < trace.length; i++) if (JSON.stringify(board[i]) !== JSON.stringify(node[i])) diffs.push(`message ${i} (type ${trace[i].type})`);
    return { name, ok: diffs.length === 0, detail: diffs.length ? 'replies differ at ' + diffs.join(', ') : `${trace.length} messages` };
  } catch (e) {
    return { name, ok: false, detail: (e as Error).stack ?? String(e) };
  } finally {
    sb.dispose();
  }
}

export async function runGuard(): Promise<GuardReport> {
  const fw = await buildBundle();
  const portable = await buildPortableBundle();
  const problems: string[] = [];
  for (const [name, b] of [['firmware', fw], ['portable', portable]] as [string, Bundle][]) {
    const p = checkBundle(b.code, name + '.min.js');
    if (p.length) problems.push(formatProblems(checkBundle(b.readable), name + '.es5.js') || formatProblems(p, name + '.min.js'));
  }
  const checks = [...platformChecks(fw), ...vectorChecks(portable), await engineScenario(portable)];
  return { problems, checks, firmwareBytes: fw.code.length };
}

async function main(): Promise<number> {
  const r = await runGuard();
  for (const p of r.problems) process.stdout.write(p + '\n');
  for (const c of r.checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail && !c.ok ? ': ' + c.detail : ''}\n`);
  const failed = r.problems.length > 0 || r.checks.some((c) => !c.ok);
  process.stdout.write(`check:espruino: firmware ${r.firmwareBytes} bytes; ${r.problems.length ? 'board-incompatible code found' : 'no board-incompatible code'}; ${r.checks.filter((c) => c.ok).length}/${r.checks.length} sandbox checks pass\n`);
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`check:espruino: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
