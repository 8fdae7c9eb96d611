// The board's limits come from its free memory (limitsForMemory, per-item costs measured by
// bench:espruino), the config can override them, a board too small refuses at boot, and the
// engine on the board build refuses what exceeds them with ERROR CAPACITY.
import { describe, expect, it } from 'vitest';
import { limitsForMemory, STATE_COST, Board } from '../coprocessor/espruino/platform.js';
import { DEFAULT_CONFIG, limitsFor } from '../coprocessor/espruino/runner.js';
import { buildPortableBundle } from '../coprocessor/espruino/build.js';
import { createBoardSandbox } from '../coprocessor/espruino/sandbox/board-sandbox.js';
import { decodeTranscript, runOnBoard, scenarioTrace } from '../coprocessor/espruino/sandbox/scenario.js';
import { ERR, MSG } from '../protocol/messages.js';

function boardWith(free: number, blocksize: number): Board {
  return { E: {} as EspruinoE, crypto: {} as EspruinoCrypto, storage: {} as EspruinoStorage, memory: () => ({ free, usage: 0, total: free, blocksize }) };
}

describe('board limits', () => {
  it('grow with free memory and always keep the host namespace and one entry', () => {
    const small = limitsForMemory(9000, 13);
    const big = limitsForMemory(16000, 14);
    expect(small.maxNamespaces).toBeGreaterThanOrEqual(1);
    expect(small.maxEntriesInRam).toBeGreaterThanOrEqual(1);
    expect(big.maxNamespaces).toBeGreaterThan(small.maxNamespaces);
    expect(big.internSlots).toBeGreaterThan(small.internSlots);
    // What the limits allow fits in what was free (the per-item costs, scaled to the block size).
    const scale = STATE_COST.blocksize / 14;
    const used =
      STATE_COST.engine * scale +
      big.maxNamespaces * (STATE_COST.namespace + big.maxRules * STATE_COST.rule) * scale +
      big.internSlots * STATE_COST.interned * scale +
      big.maxNamespaces * big.maxEntriesInRam * STATE_COST.entry * scale;
    expect(used).toBeLessThanOrEqual(16000);
  });

  it('refuse to start an engine that cannot fit, with a clear error', () => {
    expect(() => limitsForMemory(1500, 13)).toThrow(/needs \d+ free variable blocks on this board, 1500 are free/);
    expect(() => limitsFor({ ...DEFAULT_CONFIG }, boardWith(1500, 13))).toThrow(/NO_MEMORY|free variable blocks/);
  });

  it('take the config over the memory estimate, key by key', () => {
    const l = limitsFor({ ...DEFAULT_CONFIG, limits: { maxNamespaces: 2 } }, boardWith(16000, 14));
    expect(l.maxNamespaces).toBe(2);
    expect(l.internSlots).toBe(limitsForMemory(16000, 14).internSlots);
    const all = { maxNamespaces: 3, maxRules: 4, maxEntriesInRam: 5, internSlots: 6, maxMessage: 512 };
    expect(limitsFor({ ...DEFAULT_CONFIG, limits: all }, boardWith(100, 13))).toEqual(all);
  });

  it('the board build refuses a namespace over its limit with ERROR CAPACITY, and announces its limits in HELLO', async () => {
    const sb = createBoardSandbox();
    try {
      sb.run((await buildPortableBundle()).code);
      const limits = { maxNamespaces: 2, maxRules: 4, maxEntriesInRam: 0, internSlots: 16, maxMessage: 1024 };
      const replies = decodeTranscript(runOnBoard(sb, scenarioTrace(8), limits));
      const hello = replies[0][0] as { type: number; limits: { maxNamespaces: number; maxRules: number; internSlots: number } };
      expect(hello.type).toBe(MSG.HELLO_ACK);
      expect(hello.limits).toMatchObject({ maxNamespaces: 2, maxRules: 4, internSlots: 16 });
      const errors = replies.flat().filter((m) => (m as { type: number }).type === MSG.ERROR) as { code: number; text: string }[];
      expect(errors.some((e) => e.code === ERR.CAPACITY && /namespaces/.test(e.text))).toBe(true);
    } finally {
      sb.dispose();
    }
  });
});
