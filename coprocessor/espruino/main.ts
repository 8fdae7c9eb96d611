// Firmware entry: publishes the runner's API as the global `IMANS` (for the REPL on a spare
// console, and for the guard's sandbox), then starts the link at boot unless the board's
// config says otherwise.
// Board code (Espruino profile).
import { boardHandles, createEspruinoPlatform, FIRMWARE_VERSION, loadConfig, startRunner, limitsFor, BoardConfig, Runner, SessionStarter } from './runner.js';

let running: Runner | null = null;

function start(cfg: BoardConfig, session: SessionStarter): Runner {
  if (running) running.stop();
  running = startRunner(cfg, boardHandles(), session);
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
};
