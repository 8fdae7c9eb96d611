// A clock whose time only moves when the test says so: timers run in time order, ties in the
// order they were set. Lets link tests push 100,000 messages through timeouts and delays in a
// second of real time, with the same result on every run.
import type { Clock } from '../../transport.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const e: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.push(e);
    return e;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as Timer).live = false;
  }

  defer(fn: () => void): void {
    this.setTimeout(fn, 0);
  }

  /** Run timers until `done()` holds (true), none are left, or time would pass `untilMs` (false). */
  run(done: () => boolean, untilMs = Infinity): boolean {
    for (;;) {
      if (done()) return true;
      const e = this.pop();
      if (!e) return false;
      if (e.at > untilMs) {
        this.push(e);
        this.t = untilMs;
        return false;
      }
      this.t = e.at;
      e.fn();
    }
  }

  /** Run everything due within the next `ms`. */
  advance(ms: number): void {
    this.run(() => false, this.t + ms);
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Timer): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    for (;;) {
      if (h.length === 0) return undefined;
      const top = h[0];
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < h.length && this.less(h[l], h[m])) m = l;
          if (r < h.length && this.less(h[r], h[m])) m = r;
          if (m === i) break;
          [h[i], h[m]] = [h[m], h[i]];
          i = m;
        }
      }
      if (top.live) return top;
    }
  }
}
