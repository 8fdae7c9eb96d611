// A Node `vm` context shaped like the Espruino interpreter (shared/espruino-profile.md, and the
// lists below, probed on the 2v29 Linux build): what the board lacks is deleted, the quirks that
// change results are reproduced (Uint8Array#slice returns a plain Array there), and the board's
// modules (`E`, `require("crypto")`, `require("Storage")`, Serial1/USB/Bluetooth, `process.memory`)
// are small stand-ins. Code that needs something the board lacks fails here, not on a desk.
//
// What vm cannot reproduce: the missing hoisting and `X.prototype.builtin` being undefined. The
// static guard (guard.ts) checks those on the bundle's text instead.
import vm from 'node:vm';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { estimateBlocks } from './memory-model.js';

/** Globals and statics `typeof` reports as undefined on the board. */
export const ABSENT_GLOBALS = [
  'BigInt', 'Symbol', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Reflect', 'Proxy', 'Intl',
  'TextEncoder', 'TextDecoder', 'queueMicrotask', 'structuredClone', 'escape', 'unescape', 'encodeURI', 'decodeURI',
  'SharedArrayBuffer', 'Atomics', 'BigInt64Array', 'BigUint64Array', 'RangeError', 'EvalError', 'URIError', 'AggregateError',
  'WebAssembly',
];
export const ABSENT_STATICS: { [ctor: string]: string[] } = {
  Math: ['imul', 'clz32', 'trunc', 'fround', 'log2', 'log10', 'hypot', 'cbrt', 'expm1', 'log1p', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh'],
  Number: ['isInteger', 'isSafeInteger', 'isFinite', 'isNaN', 'parseFloat', 'parseInt', 'EPSILON', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER'],
  Object: ['freeze', 'isFrozen', 'seal', 'isSealed', 'preventExtensions', 'isExtensible', 'is', 'getOwnPropertySymbols', 'getOwnPropertyDescriptors', 'groupBy'],
  Array: ['from', 'of', 'fromAsync'],
  Uint8Array: ['from', 'of'],
  ArrayBuffer: ['isView'],
  String: ['fromCodePoint', 'raw'],
  Promise: ['race', 'allSettled', 'any', 'withResolvers'],
  Date: ['UTC'],
};
/** Instance methods that are undefined on the board. */
export const ABSENT_METHODS: { [proto: string]: string[] } = {
  Array: ['at', 'copyWithin', 'entries', 'findLast', 'findLastIndex', 'flat', 'flatMap', 'keys', 'lastIndexOf', 'reduceRight', 'values', 'toReversed', 'toSorted', 'toSpliced', 'with'],
  Promise: ['finally'],
  Object: ['isPrototypeOf', 'propertyIsEnumerable'],
  DataView: ['getBigInt64', 'getBigUint64', 'setBigInt64', 'setBigUint64', 'getFloat16', 'setFloat16'],
};
/** Instance methods whose mere lookup throws on the board ("Field or method ... does not already exist"). */
export const THROWING_METHODS: { [proto: string]: string[] } = {
  String: ['at', 'codePointAt', 'localeCompare', 'matchAll', 'normalize', 'search', 'trimStart', 'trimEnd', 'isWellFormed', 'toWellFormed'],
  TypedArray: ['at', 'copyWithin', 'entries', 'keys', 'lastIndexOf', 'reduceRight', 'values', 'findLast', 'findLastIndex', 'toReversed', 'toSorted', 'with'],
  Number: ['toPrecision', 'toExponential'],
  ArrayBuffer: ['slice', 'resize', 'transfer'],
};

export interface SerialStandIn {
  /** Host side: deliver bytes to the board's 'data' listeners (in 64-byte events, as the board's IO queue does). */
  feed(bytes: Uint8Array): void;
  /** Host side: receives every write the board makes. */
  onWrite: ((bytes: Uint8Array) => void) | null;
  setupCalls: { baud: number; opts: unknown }[];
}

export interface BoardSandbox {
  context: vm.Context;
  run(code: string, filename?: string): unknown;
  /** The flash file system, name → binary string (StorageFile chunks are named "name\x01"). */
  flash: { [name: string]: string };
  serial: { [device: string]: SerialStandIn };
  console: string[];
  consoleDevice: { device: string | null; force: boolean } | null;
  /** Bytes handed out by allocation-counting stand-ins (E.toUint8Array, crypto, Storage reads). */
  counters: { allocations: number; allocatedBytes: number };
  /** Close pending timers. */
  dispose(): void;
}

export interface SandboxOptions {
  /** Flash bytes the Storage stand-in offers (Pico: 48 KB). */
  flashBytes?: number;
  /** Variable blocks process.memory() reports as total (Pico: 5,100). */
  totalBlocks?: number;
  /** Devices present (Bluetooth only on nRF boards). */
  devices?: string[];
  /** Hashes present (a Pico has no SHA384/SHA512). */
  hashes?: string[];
  /** Bytes in one StorageFile chunk (flash page, at most 4096, less its header; 1 KB pages on the Linux build). */
  storageChunk?: number;
}

function binaryToBytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

export function createBoardSandbox(opts: SandboxOptions = {}): BoardSandbox {
  const flashBytes = opts.flashBytes ?? 48 * 1024;
  const totalBlocks = opts.totalBlocks ?? 5100;
  const devices = opts.devices ?? ['Serial1', 'USB'];
  const hashes = opts.hashes ?? ['SHA1', 'SHA224', 'SHA256', 'SHA384', 'SHA512'];
  const chunkSize = opts.storageChunk ?? 1024 - 32;
  const context = vm.createContext({});
  const realm = vm.runInContext('({ Uint8Array: Uint8Array, ArrayBuffer: ArrayBuffer, Array: Array, Error: Error })', context) as {
    Uint8Array: Uint8ArrayConstructor;
    ArrayBuffer: ArrayBufferConstructor;
    Array: ArrayConstructor;
    Error: ErrorConstructor;
  };
  const counters = { allocations: 0, allocatedBytes: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const flash: { [name: string]: string } = {};
  const consoleLines: string[] = [];
  const sandbox: BoardSandbox = {
    context,
    run: (code, filename) => vm.runInContext(code, context, { filename: filename ?? 'board.js' }),
    flash,
    serial: {},
    console: consoleLines,
    consoleDevice: null,
    counters,
    dispose() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };

  function boardError(text: string): Error {
    return new realm.Error(text);
  }
  function u8(bytes: Uint8Array | Buffer): Uint8Array {
    counters.allocations++;
    counters.allocatedBytes += bytes.length;
    const out = new realm.Uint8Array(bytes.length);
    out.set(bytes);
    return out;
  }
  function arrayBuffer(bytes: Uint8Array | Buffer): ArrayBuffer {
    return u8(bytes).buffer as ArrayBuffer;
  }
  function bytesOf(data: unknown): Buffer {
    if (typeof data === 'string') return binaryToBytes(data);
    if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof realm.ArrayBuffer || data instanceof ArrayBuffer) return Buffer.from(data as ArrayBuffer);
    if (Array.isArray(data)) return Buffer.from((data as number[]).map((x) => x & 255));
    throw boardError('Expecting an iterable, got ' + typeof data);
  }
  function binaryString(data: unknown): string {
    return bytesOf(data).toString('latin1');
  }

  const E = {
    CRC32: (data: unknown) => crc32(bytesOf(data)) >>> 0,
    hwRand: () => randomBytes(4).readInt32LE(0),
    toUint8Array: (data: unknown) => u8(bytesOf(data)),
    toArrayBuffer: (s: string) => arrayBuffer(binaryToBytes(s)),
    toString: (data: unknown) => binaryString(data),
    getSizeOf: (v: unknown) => estimateBlocks(v, 13),
    setConsole: (device: string | null, o?: { force?: boolean }) => {
      sandbox.consoleDevice = { device, force: !!(o && o.force) };
    },
    on: () => undefined,
    getErrorFlags: () => new realm.Array(),
  };

  const crypto: { [name: string]: (d: unknown) => ArrayBuffer } = {};
  const algos: { [name: string]: string } = { SHA1: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };
  for (const n of hashes) crypto[n] = (d: unknown) => arrayBuffer(createHash(algos[n]).update(bytesOf(d)).digest());

  function used(): number {
    let n = 0;
    for (const k of Object.keys(flash)) n += 32 + flash[k].length;
    return n;
  }
  function checkSimpleName(name: string): void {
    if (typeof name !== 'string' || name.length === 0 || name.length > 28) throw boardError('Invalid Storage filename "' + String(name) + '"');
  }
  function storageFile(name: string, mode: string) {
    if (typeof name !== 'string' || name.length === 0 || name.length > 27) throw boardError('Invalid Storage filename "' + String(name) + '"');
    const chunk = name + '\x01';
    let pos = 0;
    return {
      write(data: unknown) {
        if (mode === 'r') throw boardError("Can't write in read mode");
        const s = typeof data === 'string' ? data : binaryString(data);
        // Erased flash reads as 0xFF: a StorageFile ends where the first 0xFF byte is.
        if (s.indexOf('\xff') >= 0) throw boardError('StorageFile cannot contain char code 255');
        // The board writes into fixed-size chunks; what spills into a new chunk must fit it whole.
        const total = (flash[chunk] ?? '').length;
        const room = total === 0 ? chunkSize : chunkSize - (total % chunkSize || chunkSize);
        if (s.length > room && (total === 0 || s.length - room > chunkSize)) throw boardError('Too much data for file size');
        if (used() + s.length > flashBytes) throw boardError('Not enough free space in Storage');
        flash[chunk] = (flash[chunk] ?? '') + s;
      },
      read(len: number) {
        const s = flash[chunk] ?? '';
        if (pos >= s.length) return undefined;
        const out = s.substr(pos, len);
        pos += out.length;
        return out;
      },
      readLine() {
        const s = flash[chunk] ?? '';
        if (pos >= s.length) return undefined;
        const nl = s.indexOf('\n', pos);
        const end = nl < 0 ? s.length : nl + 1;
        const out = s.substring(pos, end);
        pos = end;
        return out;
      },
      getLength: () => (flash[chunk] ?? '').length,
      erase() {
        delete flash[chunk];
      },
    };
  }
  const Storage = {
    write(name: string, data: unknown, offset?: number, size?: number) {
      checkSimpleName(name);
      const s = typeof data === 'string' ? data : ArrayBuffer.isView(data) || Array.isArray(data) ? binaryString(data) : JSON.stringify(data);
      if (offset !== undefined && offset > 0) {
        const cur = flash[name];
        if (cur === undefined) throw boardError('Storage file does not exist');
        flash[name] = cur.substr(0, offset) + s + cur.substr(offset + s.length);
        return true;
      }
      const len = size !== undefined ? size : s.length;
      const before = flash[name];
      delete flash[name];
      if (used() + len + 32 > flashBytes) {
        if (before !== undefined) flash[name] = before;
        return false;
      }
      flash[name] = s + '\xff'.repeat(Math.max(0, len - s.length));
      return true;
    },
    read(name: string, offset?: number, length?: number) {
      checkSimpleName(name);
      const s = flash[name];
      if (s === undefined) return undefined;
      return s.substr(offset ?? 0, length ?? s.length);
    },
    readArrayBuffer(name: string) {
      const s = flash[name];
      return s === undefined ? undefined : arrayBuffer(binaryToBytes(s));
    },
    readJSON(name: string) {
      const s = flash[name];
      return s === undefined ? undefined : vm.runInContext('JSON.parse', context)(s);
    },
    writeJSON(name: string, v: unknown) {
      return Storage.write(name, JSON.stringify(v));
    },
    erase(name: string) {
      delete flash[name];
    },
    list() {
      const a = new realm.Array();
      for (const k of Object.keys(flash)) a.push(k);
      return a;
    },
    open: storageFile,
    getFree: () => flashBytes - used(),
  };

  function serialDevice(name: string) {
    const listeners: ((s: string) => void)[] = [];
    const host: SerialStandIn = {
      setupCalls: [],
      onWrite: null,
      feed(bytes: Uint8Array) {
        for (let o = 0; o < bytes.length; o += 64) {
          const s = Buffer.from(bytes.subarray(o, o + 64)).toString('latin1');
          for (const l of listeners.slice()) l(s);
        }
      },
    };
    sandbox.serial[name] = host;
    return {
      setup(baud: number, o: unknown) {
        host.setupCalls.push({ baud, opts: o });
      },
      on(ev: string, cb: (s: string) => void) {
        if (ev === 'data') listeners.push(cb);
      },
      removeAllListeners() {
        listeners.length = 0;
      },
      write(data: unknown) {
        const b = new Uint8Array(bytesOf(data));
        if (host.onWrite) host.onWrite(b);
      },
    };
  }

  const globals: { [k: string]: unknown } = {
    E,
    require: (name: string) => {
      if (name === 'crypto') return crypto;
      if (name === 'Storage') return Storage;
      throw boardError('Module ' + name + ' not found');
    },
    process: { memory: () => ({ free: totalBlocks, usage: 0, total: totalBlocks, blocksize: 13 }), version: '2v29' },
    console: { log: (...a: unknown[]) => consoleLines.push(a.map(String).join(' ')) },
    setTimeout: (f: () => void, ms: number) => {
      const t = setTimeout(() => {
        timers.delete(t);
        f();
      }, ms);
      timers.add(t);
      return t;
    },
    clearTimeout: (t: NodeJS.Timeout) => {
      timers.delete(t);
      clearTimeout(t);
    },
    setInterval: (f: () => void, ms: number) => {
      const t = setInterval(f, ms);
      timers.add(t);
      return t;
    },
    clearInterval: (t: NodeJS.Timeout) => {
      timers.delete(t);
      clearInterval(t);
    },
    getTime: () => Date.now() / 1000,
    btoa: (s: string) => Buffer.from(String(s), 'latin1').toString('base64'),
    atob: (s: string) => Buffer.from(String(s), 'base64').toString('latin1'),
  };
  for (const d of devices) globals[d] = serialDevice(d);
  for (const k of Object.keys(globals)) (context as { [k: string]: unknown })[k] = globals[k];

  vm.runInContext(
    `(function (absent, statics, methods, throwing) {
      var g = globalThis;
      g.global = g;
      var protoSlice = Array.prototype.slice, protoFilter = Array.prototype.filter;
      var TA = Object.getPrototypeOf(Uint8Array.prototype);
      for (var i = 0; i < absent.length; i++) delete g[absent[i]];
      var TAC = Object.getPrototypeOf(Uint8Array);
      for (var c in statics) for (var j = 0; j < statics[c].length; j++) {
        delete g[c][statics[c][j]];
        if (c === 'Uint8Array') delete TAC[statics[c][j]];
      }
      for (var p in methods) for (var k = 0; k < methods[p].length; k++) delete g[p].prototype[methods[p][k]];
      for (var q in throwing) {
        var proto = q === 'TypedArray' ? TA : g[q].prototype;
        throwing[q].forEach(function (m) {
          Object.defineProperty(proto, m, { configurable: true, get: function () {
            throw new Error('Field or method "' + m + '" does not already exist, and can\\'t create it on ' + q);
          } });
        });
      }
      Object.defineProperty(String.prototype, 'replaceAll', { configurable: true, get: function () {
        throw new Error('String#replaceAll hangs on Espruino 2v29 when the match ends the string: use split().join()');
      } });
      // On the board these return a plain Array, not a typed array.
      TA.slice = function (a, b) { return protoSlice.call(this, a, b); };
      TA.filter = function (f) { return protoFilter.call(this, f); };
    })`,
    context,
  )(ABSENT_GLOBALS, ABSENT_STATICS, ABSENT_METHODS, THROWING_METHODS);
  return sandbox;
}
