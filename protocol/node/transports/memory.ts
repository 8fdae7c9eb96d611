// Two connected in-memory transports. Bytes written to one end arrive at the other
// asynchronously, in order: on the next turn of the event loop, or, with a virtual clock, after
// `latencyMs` plus the time the bytes take at `bytesPerMs` (a line of that speed, in virtual time).
import type { Clock, Transport } from '../../transport.js';

export interface MemoryPairOptions {
  clock?: Clock;
  latencyMs?: number;
  /** Line speed for the virtual clock; unlimited when absent. */
  bytesPerMs?: number;
}

export class MemoryTransport implements Transport {
  peer: MemoryTransport | null = null;
  closed = false;
  private dataCb: ((chunk: Uint8Array) => void) | null = null;
  private closeCb: ((err?: Error) => void) | null = null;
  private lineFreeAt = 0;

  constructor(private readonly opts: MemoryPairOptions) {}

  write(bytes: Uint8Array): void {
    const peer = this.peer;
    if (this.closed || !peer || bytes.length === 0) return;
    const copy = bytes.slice();
    const deliver = () => {
      if (!peer.closed && peer.dataCb) peer.dataCb(copy);
    };
    const clock = this.opts.clock;
    if (!clock) {
      setImmediate(deliver);
      return;
    }
    const now = clock.now();
    const rate = this.opts.bytesPerMs;
    this.lineFreeAt = Math.max(now, this.lineFreeAt) + (rate ? copy.length / rate : 0);
    clock.setTimeout(deliver, this.lineFreeAt - now + (this.opts.latencyMs ?? 0));
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
    const peer = this.peer;
    if (peer && !peer.closed) {
      peer.closed = true;
      if (peer.closeCb) peer.closeCb();
    }
  }
}

export function memoryPair(opts: MemoryPairOptions = {}): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport(opts);
  const b = new MemoryTransport(opts);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
