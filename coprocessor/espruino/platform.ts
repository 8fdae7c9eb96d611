// The engine's Platform on an Espruino board: native hashes from require("crypto"), E.CRC32,
// E.hwRand and the Storage module's flash files. Everything board-specific is reached through
// the `Board` handles so the same code runs in the guard's sandbox with stand-ins.
// Board code (Espruino profile): ES5 subset, no absent globals, nothing used before it is defined.
import { Platform, PlatformLimits, Storage } from '../core/platform.js';
import { concat } from '../../protocol/bytes.js';

export interface Board {
  E: EspruinoE;
  crypto: EspruinoCrypto;
  storage: EspruinoStorage;
  /** process.memory() (runs a garbage collection first). */
  memory?(): EspruinoMemory;
}

function boardError(code: string, text: string): Error {
  const e = new Error(text) as Error & { code: string };
  e.code = code;
  return e;
}

/**
 * Variable blocks each piece of engine state takes, measured by bench:espruino on the interpreter's
 * Linux build (27-byte blocks; code run from flash, as a board runs its .bootcde): the engine
 * without namespaces, a namespace (its list, caches, keyring), a policy rule, an intern slot
 * holding a file, a measurement entry. On a board with smaller blocks they are scaled by bytes,
 * an upper bound: only byte data really grows.
 */
export const STATE_COST = { blocksize: 27, engine: 2265, namespace: 290, rule: 55, interned: 25, entry: 23 };
/** Bytes kept free for the link (frame buffers, window, reassembly), one message being decoded and its replies. */
export const RESERVE_BYTES = 12 * 1024;
export const BOARD_MAX_MESSAGE = 1024;
export const BOARD_MAX_RULES = 16;

/**
 * Limits that fit `freeBlocks` (free after the firmware loaded, before the engine starts): the
 * engine and its host namespace, then as many namespaces as 60% of what is left holds, the intern table, and the
 * measurement entries each namespace keeps in RAM with the rest. Throws NO_MEMORY when not even
 * the host namespace fits: better a clear refusal at boot than an out-of-memory later.
 */
export function limitsForMemory(freeBlocks: number, blocksize: number): PlatformLimits {
  const scale = STATE_COST.blocksize / blocksize;
  const engine = Math.ceil(STATE_COST.engine * scale);
  const ns = Math.ceil((STATE_COST.namespace + BOARD_MAX_RULES * STATE_COST.rule) * scale);
  const interned = Math.ceil(STATE_COST.interned * scale);
  const entry = Math.ceil(STATE_COST.entry * scale);
  const reserve = Math.ceil(RESERVE_BYTES / blocksize);
  const need = reserve + engine + ns + 4 * interned + entry;
  if (freeBlocks < need) {
    throw boardError('NO_MEMORY', 'the engine needs ' + need + ' free variable blocks on this board, ' + freeBlocks + ' are free');
  }
  let left = freeBlocks - reserve - engine - ns;
  const internSlots = Math.max(4, Math.min(256, Math.floor((left * 0.15) / interned)));
  left -= internSlots * interned;
  const extra = Math.min(63, Math.floor((left * 0.6) / ns));
  left -= extra * ns;
  const maxNamespaces = 1 + extra;
  const maxEntriesInRam = Math.max(1, Math.floor(left / entry / maxNamespaces));
  return { maxNamespaces: maxNamespaces, maxRules: BOARD_MAX_RULES, maxEntriesInRam: maxEntriesInRam, internSlots: internSlots, maxMessage: BOARD_MAX_MESSAGE };
}

/** Characters per StorageFile write: below the smallest chunk (flash page less its header) of any board. */
const APPEND_PIECE = 256;

/** Storage names are at most 27 characters for append files (28 for simple ones). */
export const MAX_STORAGE_NAME = 27;

function toBinary(E: EspruinoE, b: Uint8Array): string {
  return b.length ? E.toString(b) : '';
}

function fromBinary(E: EspruinoE, s: string): Uint8Array {
  return s.length ? E.toUint8Array(s) : new Uint8Array(0);
}

/**
 * Flash files behind the core's Storage. Replaceable records are simple Storage files (binary
 * safe). Append logs are StorageFiles, which cannot hold byte 0xFF (erased flash reads as 0xFF),
 * so each appended record is one base64 line; `btoa`/`atob` are native, so this costs no JS loop.
 */
export function createBoardStorage(E: EspruinoE, S: EspruinoStorage): Storage {
  function checkName(name: string): void {
    if (name.length === 0 || name.length > MAX_STORAGE_NAME || name.indexOf('\x01') >= 0) {
      throw boardError('STORAGE_NAME', 'storage name "' + name + '" must be 1 to ' + MAX_STORAGE_NAME + ' characters');
    }
  }
  function readLog(name: string): Uint8Array | null {
    const f = S.open(name, 'r');
    if (f.getLength() === 0) return null;
    const parts: Uint8Array[] = [];
    let line = f.readLine();
    while (line !== undefined) {
      const t = line.charAt(line.length - 1) === '\n' ? line.substr(0, line.length - 1) : line;
      if (t.length) parts.push(fromBinary(E, atob(t)));
      line = f.readLine();
    }
    return concat(parts);
  }
  return {
    append(name: string, data: Uint8Array): void {
      checkName(name);
      if (data.length === 0) return;
      const line = btoa(toBinary(E, data)) + '\n';
      const f = S.open(name, 'a');
      // A StorageFile write must fit the flash chunk it starts (about 1 KB on some builds): "Too
      // much data for file size" otherwise. Pieces of a line read back as one line.
      for (let i = 0; i < line.length; i += APPEND_PIECE) f.write(line.substr(i, APPEND_PIECE));
    },
    read(name: string): Uint8Array | null {
      checkName(name);
      const s = S.read(name);
      if (s !== undefined) return fromBinary(E, s.substr(1));
      return readLog(name);
    },
    replace(name: string, data: Uint8Array): void {
      checkName(name);
      S.open(name, 'r').erase();
      // A leading marker byte: Storage cannot hold an empty simple file, the core can.
      if (!S.write(name, 'R' + toBinary(E, data))) throw boardError('STORAGE_FULL', 'no room in flash for "' + name + '" (' + data.length + ' bytes)');
    },
    remove(name: string): void {
      checkName(name);
      S.erase(name);
      S.open(name, 'r').erase();
    },
    list(): string[] {
      const all = S.list();
      const out: string[] = [];
      for (let i = 0; i < all.length; i++) {
        const n = all[i];
        const cut = n.indexOf('\x01');
        const base = cut >= 0 ? n.substr(0, cut) : n;
        // Dot files are the system's (.bootcde, .boot0) and the runner's (.imans.cfg), not the engine's.
        if (base.charAt(0) !== '.' && out.indexOf(base) < 0) out.push(base);
      }
      return out.sort();
    },
  };
}

type HashFn = (data: Uint8Array) => ArrayBuffer;

export function createEspruinoPlatform(board: Board, limits: PlatformLimits): Platform {
  const E = board.E;
  const c = board.crypto;
  // kernel hash_algo number -> the board's native function (absent on boards built without it)
  const fns: (HashFn | undefined)[] = [];
  fns[2] = c.SHA1;
  fns[4] = c.SHA256;
  fns[5] = c.SHA384;
  fns[6] = c.SHA512;
  fns[7] = c.SHA224;

  function hash(algo: number, data: Uint8Array): Uint8Array | null {
    const f = fns[algo];
    return typeof f === 'function' ? new Uint8Array(f(data)) : null;
  }

  function sha256(data: Uint8Array): Uint8Array {
    const d = hash(4, data);
    if (!d) throw boardError('NO_SHA256', 'this board has no native SHA-256');
    return d;
  }

  return {
    profile: 'espruino',
    hash: hash,
    hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
      // RFC 2104 over the native SHA-256 (the board has no HMAC built in).
      const k = new Uint8Array(64);
      k.set(key.length > 64 ? sha256(key) : key);
      const ipad = new Uint8Array(64);
      const opad = new Uint8Array(64);
      for (let i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
      }
      return sha256(concat([opad, sha256(concat([ipad, data]))]));
    },
    crc32(data: Uint8Array): number {
      return E.CRC32(data) >>> 0;
    },
    random(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const r = E.hwRand();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (r >>> (8 * j)) & 255;
      }
      return out;
    },
    now(): number {
      return Date.now();
    },
    storage: createBoardStorage(E, board.storage),
    limits: limits,
  };
}
