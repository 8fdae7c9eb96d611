// Paces the bytes written through it to a UART's speed (8N1: 10 bit times per byte), in real
// time, so that benchmarks see the line a board sees: a pty or a socket would carry the same
// bytes a thousand times faster. Bytes beyond `bufferBytes` waiting to go out are dropped and
// counted, as a full UART FIFO loses them.
import type { Transport } from '../../transport.js';

export interface PacedOptions {
  baud: number;
  /** Bytes that may wait to go out; unlimited when absent. */
  bufferBytes?: number;
  /** How often bytes are released, ms. Default 2. */
  tickMs?: number;
}

export class PacedTransport implements Transport {
  readonly counters = { bytes: 0, overruns: 0 };
  private readonly bytesPerMs: number;
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private headOffset = 0;
  private credit = 0;
  private last = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly inner: Transport,
    private readonly opts: PacedOptions,
  ) {
    this.bytesPerMs = opts.baud / 10 / 1000;
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    let b = bytes;
    const cap = this.opts.bufferBytes;
    if (cap !== undefined && this.pendingBytes + b.length > cap) {
      const room = Math.max(0, cap - this.pendingBytes);
      this.counters.overruns += b.length - room;
      b = b.subarray(0, room);
    }
    if (b.length === 0) return;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (!this.timer) {
      this.last = performance.now();
      this.credit = 0;
      this.timer = setTimeout(() => this.tick(), this.opts.tickMs ?? 2);
    }
  }

  /** Bytes written but not yet on the line. */
  get backlog(): number {
    return this.pendingBytes;
  }

  private tick(): void {
    this.timer = null;
    if (this.closed) return;
    const now = performance.now();
    this.credit += (now - this.last) * this.bytesPerMs;
    this.last = now;
    let n = Math.min(Math.floor(this.credit), this.pendingBytes);
    this.credit -= n;
    this.pendingBytes -= n;
    this.counters.bytes += n;
    const parts: Uint8Array[] = [];
    while (n > 0) {
      const head = this.pending[0];
      const take = Math.min(n, head.length - this.headOffset);
      parts.push(head.subarray(this.headOffset, this.headOffset + take));
      this.headOffset += take;
      n -= take;
      if (this.headOffset === head.length) {
        this.pending.shift();
        this.headOffset = 0;
      }
    }
    if (parts.length === 1) this.inner.write(parts[0]);
    else if (parts.length > 1) this.inner.write(Buffer.concat(parts));
    if (this.pendingBytes > 0) this.timer = setTimeout(() => this.tick(), this.opts.tickMs ?? 2);
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.inner.onData(cb);
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.inner.onClose) this.inner.onClose(cb);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.inner.close();
  }
}
