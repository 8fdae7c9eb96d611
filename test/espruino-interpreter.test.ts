// The firmware on the Espruino interpreter's Linux build, linked to this process over a socat pty
// pair as a board on a UART would be: HELLO, PING and the whole engine scenario must give the same
// replies as the Node engine, and the namespaces, policies and lists must come back after a
// restart (from the interpreter's flash file). Skipped where the interpreter is not built
// ($ESPRUINO_BIN or `espruino` on PATH): it is built outside this repository, never committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { buildBundle } from '../coprocessor/espruino/build.js';
import { findInterpreter } from '../coprocessor/espruino/sandbox/memory-model.js';
import { bootScript, removeInterpreterDir, RunningInterpreter, startInterpreter } from '../coprocessor/espruino/sandbox/interpreter.js';
import { decodeTranscript, FIXED_NOW, runOnNode, runOverLink, scenarioTrace, SCENARIO_LIMITS } from '../coprocessor/espruino/sandbox/scenario.js';
import { createPtyPair, PtyPair } from '../protocol/node/transports/pty.js';
import { openSerial } from '../protocol/node/transports/serial.js';
import { Link } from '../protocol/link.js';
import { CONTROL_OP, MSG } from '../protocol/messages.js';
import { spawnSync } from 'node:child_process';

const bin = findInterpreter();

describe.skipIf(!bin)('firmware on the Espruino interpreter over a pty', () => {
  let pty: PtyPair;
  let board: RunningInterpreter | null = null;
  let firmware: string;

  async function boot(dir?: string): Promise<RunningInterpreter> {
    const b = startInterpreter(bin!, bootScript(firmware, { device: 'Serial1', path: pty.a, console: 'USB', delayMs: 0, limits: SCENARIO_LIMITS }, FIXED_NOW), dir);
    await b.waitFor(/FIRMWARE LOADED/);
    return b;
  }

  async function connect(): Promise<{ link: Link; close(): void }> {
    const t = await openSerial(pty.b, 115200);
    const link = new Link(t, { crc32: (b) => crc32(b) });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('link did not come up; board output:\n' + board!.output().slice(-2000))), 15_000);
      link.onUp(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return { link, close: () => link.close() };
  }

  beforeAll(async () => {
    firmware = (await buildBundle()).code;
    pty = await createPtyPair();
    board = await boot();
  });

  afterAll(async () => {
    if (board) {
      await board.stop();
      removeInterpreterDir(board.dir);
    }
    if (pty) await pty.close();
  });

  it('answers the engine scenario exactly as the Node engine does', async () => {
    const trace = scenarioTrace(24);
    const c = await connect();
    try {
      const got = await runOverLink(c.link, trace);
      const want = await runOnNode(trace, SCENARIO_LIMITS);
      expect(decodeTranscript(got)).toEqual(decodeTranscript(want));
      expect(got).toEqual(want);
    } finally {
      c.close();
    }
  });

  it('comes back from a restart with its namespaces, policies and measurement lists', async () => {
    const ask = [
      { type: MSG.HELLO, version: 1, profile: 'host', limits: { maxFrame: 256, maxMessage: 4096, window: 4, internSlots: 64, maxNamespaces: 0, maxRules: 0, maxEntriesInRam: 0 }, algorithms: ['sha256'] },
      { type: MSG.CONTROL, req: 1, op: CONTROL_OP.AGGREGATE, args: { ns: 1 } },
      { type: MSG.CONTROL, req: 2, op: CONTROL_OP.POLICY_SHOW, args: { ns: 1 } },
      { type: MSG.CONTROL, req: 3, op: CONTROL_OP.MEASUREMENTS, args: { ns: 1, bank: 'sha256', format: 'binary', from: 0, max: 1000 } },
      { type: MSG.CONTROL, req: 4, op: CONTROL_OP.NS_LIST, args: {} },
    ] as Parameters<typeof runOverLink>[1];
    let c = await connect();
    const before = await runOverLink(c.link, ask);
    c.close();
    await board!.stop();
    board = await boot(board!.dir);
    c = await connect();
    const after = await runOverLink(c.link, ask);
    c.close();
    expect(decodeTranscript(after)).toEqual(decodeTranscript(before));
    // The scenario's namespaces (host, 1 and 3; 2 was deleted) are back, with their lists.
    const list = decodeTranscript(after)[4][0] as { type: number; value: unknown[] };
    expect(list.type).toBe(MSG.RESULT);
    expect(list.value.length).toBeGreaterThanOrEqual(3);
    const agg = decodeTranscript(after)[1][0] as { type: number; value: { count: number } };
    expect(agg.type).toBe(MSG.RESULT);
    expect(agg.value.count).toBeGreaterThan(1);
    expect((decodeTranscript(after)[3][0] as { type: number }).type).toBe(MSG.RESULT);
  });

  it('serves the real host: imans sim --engine PTY replays the sample trace with the local engine\'s verdicts and aggregates', async () => {
    const own = await createPtyPair();
    const b = startInterpreter(bin!, bootScript(firmware, { device: 'Serial1', path: own.a, console: 'USB', delayMs: 0, limits: { maxNamespaces: 4, maxRules: 16, maxEntriesInRam: 0, internSlots: 64, maxMessage: 1024 } }));
    try {
      await b.waitFor(/FIRMWARE LOADED/);
      const sim = (args: string[]) => {
        const r = spawnSync(process.execPath, ['bin/imans.mjs', 'sim', '--json', '--quiet', ...args], { encoding: 'utf8', timeout: 120_000 });
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
        return JSON.parse(r.stdout) as { verdicts: number; denied: number; lost: number; aggregates: unknown };
      };
      const onBoard = sim(['--engine', own.b]);
      const local = sim([]);
      expect(onBoard.verdicts).toBe(local.verdicts);
      expect(onBoard.lost).toBe(0);
      expect(onBoard.denied).toBe(local.denied);
      expect(onBoard.aggregates).toEqual(local.aggregates);
    } finally {
      await b.stop();
      removeInterpreterDir(b.dir);
      await own.close();
    }
  });
});
