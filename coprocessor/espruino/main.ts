// Firmware entry: the engine served over the board's link device. Publishes the runner's API as
// the global `IMANS` (for a REPL on a spare console, and for the guard's sandbox), then starts the
// link at boot unless the board's config says otherwise.
// Board code (Espruino profile).
import { Link } from '../../protocol/link.js';
import { createPortableCodec } from '../../protocol/cbor.js';
import { createEngine } from '../core/engine/engine.js';
import { serveEngine } from '../core/serve.js';
import { boardHandles, BoardConfig, BoardSession, createEspruinoPlatform, FIRMWARE_VERSION, limitsFor, loadConfig, Runner, startRunner } from './runner.js';

/** The engine, its link and the message loop, on the runner's device. */
function engineSession(s: BoardSession): { close(): void; link: Link } {
  const platform = createEspruinoPlatform(s.board, s.limits);
  const engine = createEngine(platform);
  const link = new Link(s.transport, {
    crc32: platform.crc32,
    clock: s.clock,
    maxMessage: s.limits.maxMessage,
    random32: function (): number {
      return s.board.E.hwRand() >>> 0;
    },
  });
  serveEngine(link, createPortableCodec(), engine);
  return {
    link: link,
    close: function (): void {
      link.close();
    },
  };
}

let running: Runner | null = null;

function start(cfg: BoardConfig): Runner {
  if (running) running.stop();
  running = startRunner(cfg, boardHandles(), engineSession);
  return running;
}

(globalThis as unknown as { IMANS: unknown }).IMANS = {
  version: FIRMWARE_VERSION,
  loadConfig: loadConfig,
  limitsFor: limitsFor,
  boardHandles: boardHandles,
  createPlatform: createEspruinoPlatform,
  start: start,
  stop: function (): void {
    if (running) running.stop();
    running = null;
  },
  running: function (): Runner | null {
    return running;
  },
};

const bootConfig = loadConfig(boardHandles().storage);
if (bootConfig.autostart) {
  setTimeout(function () {
    start(bootConfig);
  }, bootConfig.delayMs);
}
