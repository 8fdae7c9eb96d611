// The whole firmware (main.ts: config, device, console, link, served engine) booted in the board
// sandbox on its Bluetooth UART, whose XON/XOFF flow control inserts 0x13/0x11 into what the board
// sends: the host still gets exactly the Node engine's replies. This is the CI-side twin of the
// interpreter test, which needs a local build of the interpreter.
import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { buildBundle } from '../coprocessor/espruino/build.js';
import { createBoardSandbox } from '../coprocessor/espruino/sandbox/board-sandbox.js';
import { decodeTranscript, FIXED_NOW, runOnNode, runOverLink, scenarioTrace, SCENARIO_LIMITS } from '../coprocessor/espruino/sandbox/scenario.js';
import { CONFIG_FILE, DEFAULT_CONFIG } from '../coprocessor/espruino/runner.js';
import { Link } from '../protocol/link.js';
import { Transport } from '../protocol/transport.js';

/** Chance per byte that the UART inserts a flow-control byte before it: rare, as XOFF comes only when the board's input queue fills. */
const RATE = 0.002;

describe('firmware booted in the board sandbox', () => {
  it('serves the engine over Bluetooth with XON/XOFF bytes in its output, as the Node engine does', async () => {
    const firmware = (await buildBundle()).code;
    const sb = createBoardSandbox({ devices: ['Serial1', 'USB', 'Bluetooth'] });
    let inserted = 0;
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    try {
      sb.flash[CONFIG_FILE] = JSON.stringify({ ...DEFAULT_CONFIG, device: 'Bluetooth', console: 'USB', delayMs: 0, limits: SCENARIO_LIMITS });
      sb.run(`Date.now = function () { return ${FIXED_NOW}; };`);
      sb.run(firmware, 'imans-engine.js');
      const bt = sb.serial.Bluetooth;
      let receiver: ((b: Uint8Array) => void) | null = null;
      bt.onWrite = (bytes) => {
        // The board's UART flow control: XOFF (0x13) and later XON (0x11) anywhere in the stream.
        const out: number[] = [];
        for (const b of bytes) {
          if (rand() < RATE) {
            out.push(rand() < 0.5 ? 0x13 : 0x11);
            inserted++;
          }
          out.push(b);
        }
        setImmediate(() => receiver && receiver(new Uint8Array(out)));
      };
      const host: Transport = {
        write: (b) => setImmediate(() => bt.feed(new Uint8Array(b))),
        onData: (cb) => {
          receiver = cb;
        },
        close: () => undefined,
      };
      const link = new Link(host, { crc32: (b) => crc32(b) });
      await new Promise<void>((resolve) => link.onUp(() => resolve()));
      expect(sb.consoleDevice).toEqual({ device: 'USB', force: true });
      const trace = scenarioTrace(24);
      const got = await runOverLink(link, trace, 20_000);
      link.close();
      const want = await runOnNode(trace, SCENARIO_LIMITS);
      expect(decodeTranscript(got)).toEqual(decodeTranscript(want));
      expect(got).toEqual(want);
      expect(inserted).toBeGreaterThan(5);
      expect(link.counters.crc_errors + link.counters.cobs_errors).toBeGreaterThan(0);
    } finally {
      sb.run('IMANS.stop()');
      sb.dispose();
    }
  });
});
