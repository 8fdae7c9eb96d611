// Damages the bytes written through it, the way a noisy UART does: each byte is independently
// lost, bit-flipped, duplicated or swapped with its successor, with the given probabilities, from a
// seeded generator so that a failing run can be replayed. Writes can also be cut into random
// pieces to exercise every split point of the receiver. Wrap both ends for damage both ways.
import type { Transport } from '../../transport.js';

export interface FaultOptions {
  seed?: number;
  /** Probability that a byte is dropped. */
  loss?: number;
  /** Probability that one random bit of a byte is flipped. */
  corrupt?: number;
  /** Probability that a byte is sent twice. */
  duplicate?: number;
  /** Probability that a byte is swapped with the next one. */
  reorder?: number;
  /** Cut each write into pieces of 1..chunk bytes. */
  chunk?: number;
}

export interface FaultCounters {
  bytes: number;
  lost: number;
  corrupted: number;
  duplicated: number;
  reordered: number;
}

/** mulberry32: small, fast, good enough to drive fault injection reproducibly. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultyTransport implements Transport {
  readonly counters: FaultCounters = { bytes: 0, lost: 0, corrupted: 0, duplicated: 0, reordered: 0 };
  /** Faults apply only while enabled (a test can let a handshake through cleanly, then turn them on). */
  enabled = true;
  private readonly rand: () => number;

  constructor(
    private readonly inner: Transport,
    private readonly opts: FaultOptions,
  ) {
    this.rand = seededRandom(opts.seed ?? 1);
  }

  write(bytes: Uint8Array): void {
    this.counters.bytes += bytes.length;
    const out = this.enabled ? this.damage(bytes) : bytes;
    const chunk = this.opts.chunk;
    if (!chunk || !this.enabled) {
      if (out.length) this.inner.write(out);
      return;
    }
    for (let i = 0; i < out.length; ) {
      const n = 1 + Math.floor(this.rand() * chunk);
      this.inner.write(out.subarray(i, i + n));
      i += n;
    }
  }

  private damage(bytes: Uint8Array): Uint8Array {
    const { loss = 0, corrupt = 0, duplicate = 0, reorder = 0 } = this.opts;
    // Reordering writes the held byte forward, so it works on a copy.
    const b = reorder ? bytes.slice() : bytes;
    const c = this.counters;
    const out = new Uint8Array(b.length * 2);
    let o = 0;
    for (let i = 0; i < b.length; i++) {
      let x = b[i];
      if (reorder && i + 1 < b.length && this.rand() < reorder) {
        out[o++] = b[i + 1];
        c.reordered++;
        b[i + 1] = x;
        continue;
      }
      if (loss && this.rand() < loss) {
        c.lost++;
        continue;
      }
      if (corrupt && this.rand() < corrupt) {
        x ^= 1 << Math.floor(this.rand() * 8);
        c.corrupted++;
      }
      out[o++] = x;
      if (duplicate && this.rand() < duplicate) {
        out[o++] = x;
        c.duplicated++;
      }
    }
    return out.subarray(0, o);
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.inner.onData(cb);
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.inner.onClose) this.inner.onClose(cb);
  }

  close(): void {
    this.inner.close();
  }
}
