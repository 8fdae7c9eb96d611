// Variables the firmware holds once loaded and idle: estimated in the sandbox (13-byte blocks,
// reachable from IMANS; closures unseen, so a lower bound) and, when the interpreter's Linux build
// is at hand, measured there with process.memory() (its blocks are 27 bytes on x86-64, so byte data
// takes about half the blocks it takes on a Pico; objects and properties take the same count).
import { createBoardSandbox } from './board-sandbox.js';
import { estimateBlocks, findInterpreter, runFromFlash, runOnInterpreter, InterpreterMemory } from './memory-model.js';
import { CONFIG_FILE } from '../runner.js';

export interface AtRest {
  sandboxBlocks: number;
  /** usage = blocks after loading the firmware from flash minus blocks before, both after a GC. */
  interpreter: InterpreterMemory | null;
}

export function measureAtRest(code: string): AtRest {
  const sb = createBoardSandbox();
  sb.flash[CONFIG_FILE] = JSON.stringify({ autostart: false });
  try {
    sb.run(code, 'imans-engine.js');
    const sandboxBlocks = estimateBlocks(sb.run('IMANS'), 13);
    const bin = findInterpreter();
    let interpreter: InterpreterMemory | null = null;
    if (bin) {
      // Run from Storage, as `imans board flash` leaves it (.bootcde): code stays in flash.
      const script =
        `require("Storage").write(${JSON.stringify(CONFIG_FILE)}, ${JSON.stringify(JSON.stringify({ autostart: false }))});\n` +
        runFromFlash(code) +
        'var m = process.memory(); console.log("MEM " + (m.usage - m0) + " " + m.total + " " + m.blocksize);\n';
      const line = runOnInterpreter(bin, script, 'MEM ')[0];
      if (line) {
        const f = line.split(' ').map(Number);
        interpreter = { usage: f[0], total: f[1], blocksize: f[2] };
      }
    }
    return { sandboxBlocks, interpreter };
  } finally {
    sb.dispose();
  }
}
