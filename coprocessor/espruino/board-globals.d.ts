// The Espruino built-ins the board adapter uses (shared/espruino-profile.md, checked on the 2v29
// Linux build). `require` and `process` are declared through NodeJS' own interfaces so that this
// file also type-checks beside @types/node in the main program.
declare namespace NodeJS {
  interface Require {
    (id: string): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
  interface Process {
    /** Espruino: variable blocks in use; `gc` false skips the collection it would run first. */
    memory(gc?: boolean): EspruinoMemory;
  }
}
declare var require: NodeJS.Require;
declare var process: NodeJS.Process;

interface EspruinoMemory {
  free: number;
  usage: number;
  total: number;
  blocksize: number;
}

interface EspruinoE {
  CRC32(data: Uint8Array | string): number;
  hwRand(): number;
  toUint8Array(data: string | Uint8Array): Uint8Array;
  toArrayBuffer(data: string): ArrayBuffer;
  toString(data: Uint8Array): string;
  getSizeOf(v: unknown, depth?: number): number;
  setConsole(device: string | null, opts?: { force?: boolean }): void;
  on(event: string, cb: () => void): void;
}
declare var E: EspruinoE;

/** Serial1, USB and Bluetooth: one interface for the link's byte stream. */
interface EspruinoSerial {
  setup?(baud: number, opts?: { rx?: string; tx?: string; path?: string; flow?: string }): void;
  on(event: 'data', cb: (data: string) => void): void;
  removeAllListeners?(event: string): void;
  write(data: string): void;
}

interface EspruinoStorageFile {
  write(data: string): void;
  readLine(): string | undefined;
  read(len: number): string | undefined;
  getLength(): number;
  erase(): void;
}

interface EspruinoStorage {
  write(name: string, data: string, offset?: number, size?: number): boolean;
  read(name: string, offset?: number, length?: number): string | undefined;
  erase(name: string): void;
  list(regex?: unknown): string[];
  open(name: string, mode: 'r' | 'w' | 'a'): EspruinoStorageFile;
  getFree(): number;
}

interface EspruinoCrypto {
  SHA1(data: Uint8Array): ArrayBuffer;
  SHA224?(data: Uint8Array): ArrayBuffer;
  SHA256?(data: Uint8Array): ArrayBuffer;
  SHA384?(data: Uint8Array): ArrayBuffer;
  SHA512?(data: Uint8Array): ArrayBuffer;
}

declare function btoa(binary: string): string;
declare function atob(base64: string): string;
