// Same answers on both: one event trace through the Node engine (Node platform) and through the
// board build (the portable bundle on the board platform, in the board-shaped sandbox). Every reply
// (verdicts, binary and ascii measurement lists, aggregates, errors) must be the same bytes.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPortableBundle } from '../coprocessor/espruino/build.js';
import { createBoardSandbox } from '../coprocessor/espruino/sandbox/board-sandbox.js';
import { decodeTranscript, runOnBoard, runOnNode, scenarioTrace, SCENARIO_LIMITS, Transcript } from '../coprocessor/espruino/sandbox/scenario.js';
import { CONTROL_OP, ERR, Message, MSG, VERDICT } from '../protocol/messages.js';

describe('same answers on Node and on the board build', () => {
  let trace: Message[];
  let node: Transcript;
  let board: Transcript;

  beforeAll(async () => {
    const bundle = await buildPortableBundle();
    trace = scenarioTrace(48);
    node = await runOnNode(trace, SCENARIO_LIMITS);
    const sb = createBoardSandbox();
    try {
      sb.run(bundle.code, 'portable.js');
      board = runOnBoard(sb, trace, SCENARIO_LIMITS);
    } finally {
      sb.dispose();
    }
  });

  it('gives byte-identical replies to every message', () => {
    expect(board.length).toBe(trace.length);
    const nodeMsgs = decodeTranscript(node);
    const boardMsgs = decodeTranscript(board);
    for (let i = 0; i < trace.length; i++) {
      // Decoded first, for a readable difference; then the bytes themselves.
      expect({ i, type: trace[i].type, replies: boardMsgs[i] }).toEqual({ i, type: trace[i].type, replies: nodeMsgs[i] });
      expect({ i, hex: board[i] }).toEqual({ i, hex: node[i] });
    }
  });

  it('the trace exercises verdicts (denied, measured, appraised), measurement exports, aggregates and errors', () => {
    const msgs = decodeTranscript(node);
    const verdicts = msgs.flat().filter((m) => (m as Message).type === MSG.VERDICT).flatMap((m) => (m as { verdicts: { code: number }[] }).verdicts);
    expect(verdicts.length).toBe(48);
    expect(verdicts.some((v) => v.code & VERDICT.DENY)).toBe(true);
    expect(verdicts.some((v) => v.code & VERDICT.MEASURED)).toBe(true);
    expect(verdicts.some((v) => v.code & VERDICT.APPRAISED && !(v.code & VERDICT.DENY))).toBe(true);
    const exports = trace
      .map((m, i) => ({ m, r: msgs[i][0] as { type: number; value?: { data?: Uint8Array; entries?: number } } }))
      .filter((x) => x.m.type === MSG.CONTROL && (x.m as { op: number }).op === CONTROL_OP.MEASUREMENTS && x.r.type === MSG.RESULT);
    expect(exports.length).toBe(6);
    expect(exports.every((x) => x.r.value!.data!.length > 0)).toBe(true);
    const errors = msgs.flat().filter((m) => (m as Message).type === MSG.ERROR) as { code: number }[];
    expect(errors.map((e) => e.code)).toEqual(expect.arrayContaining([ERR.POLICY_INVALID, ERR.CAPACITY, ERR.NO_SUCH_NAMESPACE]));
  });
});
