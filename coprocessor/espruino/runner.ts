// The board runner: the firmware's entry point. Reads its settings from Storage ("imans.cfg",
// written by `imans board config`), opens the link device, takes the REPL console off it, and
// hands the byte stream, a clock and the board platform to the engine session.
// Board code (Espruino profile): ES5 subset, board globals only, nothing used before it is defined.
import { Clock, Transport } from '../../protocol/transport.js';
import { PlatformLimits } from '../core/platform.js';
import { Board, createEspruinoPlatform, limitsForMemory } from './platform.js';

export const CONFIG_FILE = '.imans.cfg';
export const FIRMWARE_VERSION = '0.1.0';

export interface BoardConfig {
  /** "Serial1".."Serial3", "USB" or "Bluetooth". */
  device: string;
  /** Line speed for SerialN (USB and Bluetooth ignore it). */
  baud: number;
  /** Pins for SerialN, e.g. "B7"/"B6" on a Pico; board defaults when absent. */
  rx?: string;
  tx?: string;
  /** A tty for SerialN on the interpreter's Linux build (one end of a pty pair in tests). */
  path?: string;
  /** Where the REPL console goes: another device name, or null for nowhere. */
  console: string | null;
  /** Start the engine at boot; false leaves the board at its REPL (for recovery). */
  autostart: boolean;
  /** Milliseconds to wait at boot before taking the device (USB needs a moment to enumerate). */
  delayMs: number;
  limits?: Partial<PlatformLimits>;
}

export const DEFAULT_CONFIG: BoardConfig = {
  device: 'Serial1',
  baud: 115200,
  console: 'USB',
  autostart: true,
  delayMs: 1000,
};

/** Settings from Storage over the defaults; a damaged file counts as absent. */
export function loadConfig(S: EspruinoStorage): BoardConfig {
  const cfg = Object.assign({}, DEFAULT_CONFIG) as BoardConfig;
  const text = S.read(CONFIG_FILE);
  if (text === undefined) return cfg;
  let stored: { [k: string]: unknown } | null = null;
  try {
    stored = JSON.parse(text);
  } catch (e) {
    stored = null;
  }
  if (stored && typeof stored === 'object') {
    const keys = Object.keys(stored);
    for (let i = 0; i < keys.length; i++) (cfg as unknown as { [k: string]: unknown })[keys[i]] = stored[keys[i]];
  }
  return cfg;
}

/**
 * The engine's limits: what the board's free memory holds (limitsForMemory), each overridden by
 * the config's `limits` when set there. A config giving all five skips the memory check.
 */
export function limitsFor(cfg: BoardConfig, board: Board): PlatformLimits {
  const given = cfg.limits || {};
  const all = given.maxNamespaces !== undefined && given.maxRules !== undefined && given.maxEntriesInRam !== undefined && given.internSlots !== undefined && given.maxMessage !== undefined;
  if (all || !board.memory) return Object.assign({ maxNamespaces: 1, maxRules: 16, maxEntriesInRam: 1, internSlots: 4, maxMessage: 1024 }, given) as PlatformLimits;
  const m = board.memory();
  return Object.assign(limitsForMemory(m.free, m.blocksize), given) as PlatformLimits;
}

/**
 * The link's byte stream over a board serial device. The device delivers binary strings (IO
 * events of up to 64 bytes); E.toUint8Array copies them into bytes natively. Writes go out as one
 * binary string, built natively by E.toString.
 */
export function serialTransport(E: EspruinoE, dev: EspruinoSerial): Transport {
  let receiver: ((chunk: Uint8Array) => void) | null = null;
  let open = true;
  dev.on('data', function (s: string) {
    if (open && receiver && s.length) receiver(E.toUint8Array(s));
  });
  return {
    write(bytes: Uint8Array): void {
      if (open && bytes.length) dev.write(E.toString(bytes));
    },
    onData(cb: (chunk: Uint8Array) => void): void {
      receiver = cb;
    },
    close(): void {
      open = false;
      if (dev.removeAllListeners) dev.removeAllListeners('data');
    },
  };
}

export function boardClock(): Clock {
  return {
    now: function (): number {
      return Date.now();
    },
    setTimeout: function (fn: () => void, ms: number): unknown {
      return setTimeout(fn, ms);
    },
    clearTimeout: function (h: unknown): void {
      clearTimeout(h);
    },
    defer: function (fn: () => void): void {
      setTimeout(fn, 0);
    },
  };
}

/** What the engine session needs; the session itself is the portable engine + link glue. */
export interface BoardSession {
  transport: Transport;
  clock: Clock;
  board: Board;
  limits: PlatformLimits;
}

export type SessionStarter = (s: BoardSession) => { close(): void };

export interface Runner {
  config: BoardConfig;
  session: { close(): void };
  stop(): void;
}

/** Look a device up by name ("Serial1", "USB", "Bluetooth"); null when this board has none. */
export function findDevice(name: string): EspruinoSerial | null {
  const g = globalThis as unknown as { [k: string]: EspruinoSerial | undefined };
  const d = g[name];
  return d && typeof d.write === 'function' ? d : null;
}

export function startRunner(cfg: BoardConfig, board: Board, startSession: SessionStarter): Runner {
  const dev = findDevice(cfg.device);
  if (!dev) throw new Error('imans: no device "' + cfg.device + '" on this board');
  // Before the console moves, so that a board too small for the engine says so on its REPL.
  const limits = limitsFor(cfg, board);
  if (cfg.device.indexOf('Serial') === 0 && dev.setup) {
    const opts: { rx?: string; tx?: string; path?: string } = {};
    if (cfg.rx) opts.rx = cfg.rx;
    if (cfg.tx) opts.tx = cfg.tx;
    if (cfg.path) opts.path = cfg.path;
    dev.setup(cfg.baud, opts);
  }
  // The link owns the device from here: a REPL on it would swallow our bytes and echo into frames.
  // `force` keeps a USB or Bluetooth connection from moving the console back.
  board.E.setConsole(cfg.console === cfg.device ? null : cfg.console, { force: true });
  const transport = serialTransport(board.E, dev);
  const session = startSession({ transport: transport, clock: boardClock(), board: board, limits: limits });
  return {
    config: cfg,
    session: session,
    stop: function (): void {
      session.close();
      transport.close();
    },
  };
}

export function boardHandles(): Board {
  return {
    E: E,
    crypto: require('crypto'),
    storage: require('Storage'),
    memory: function (): EspruinoMemory {
      return process.memory();
    },
  };
}

export { createEspruinoPlatform };
