// A serial device (a UART, USB CDC, or one end of a pty pair) through node-serialport.
import { SerialPort } from 'serialport';
import type { Transport } from '../../transport.js';

export class SerialTransport implements Transport {
  private dataCb: ((chunk: Uint8Array) => void) | null = null;
  private closeCb: ((err?: Error) => void) | null = null;
  private closed = false;

  constructor(readonly port: SerialPort) {
    port.on('data', (b: Buffer) => {
      if (this.dataCb) this.dataCb(b);
    });
    port.on('error', (err: Error) => this.ended(err));
    port.on('close', () => this.ended());
  }

  private ended(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeCb) this.closeCb(err);
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCb = cb;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.port.isOpen) this.port.close();
  }
}

/** Open `path` at `baudRate` (8N1, no flow control). Rejects with code SERIAL_OPEN and the path. */
export function openSerial(path: string, baudRate = 115200): Promise<SerialTransport> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false, rtscts: false, xon: false, xoff: false });
    port.open((err) => {
      if (!err) {
        resolve(new SerialTransport(port));
        return;
      }
      const e = new Error(`cannot open serial device ${path} at ${baudRate} baud: ${err.message}`) as Error & { code: string; path: string };
      e.code = 'SERIAL_OPEN';
      e.path = path;
      reject(e);
    });
  });
}
