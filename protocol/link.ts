// Reliable link (SPEC.md §2): ordered, exactly-once delivery of messages (byte strings) over a
// Transport that loses, flips and duplicates bytes. Go-back-N with 8-bit sequence numbers: the
// receiver keeps no out-of-order frames (nothing to buffer on the board), cumulative acks ride
// on DATA frames or go alone after a short delay, a NACK asks for a resend as soon as a gap or a
// damaged frame is seen, and a timer with an adaptive timeout (RFC 6298, as ASH does) covers the
// rest. Small messages are packed several to a frame and large ones are split across frames.
// A session starts with an RST/RST_ACK handshake that exchanges random nonces and limits; the
// CRC of every DATA/ACK/NACK is XORed with a tag derived from both nonces, so frames of an
// earlier session (either side restarted) fail the check instead of being taken for new ones.
//
// Portable (Espruino profile): no exceptions escape a data handler or timer, memory is bounded
// by the window, the frame size and the sender's own queue.

import {
  CRC_LEN,
  type Crc32,
  DEFAULT_MAX_FRAME,
  encodeFrameInto,
  FLAG_MORE,
  FRAME,
  FrameDecoder,
  HEADER_LEN,
  MAX_MAX_FRAME,
  MIN_MAX_FRAME,
  newFrameCounters,
  TYPE_MASK,
  wireSize,
  type FrameCounters,
} from './frame.js';
import type { Clock, Transport } from './transport.js';

export const LINK_VERSION = 1;
export const MAX_WINDOW = 127;
export const DEFAULT_WINDOW = 4;
export const DEFAULT_MAX_MESSAGE = 4096;

/** What an end offers for its kind of line (SPEC.md §2.8). A UART's frames stay short: a frame
 * holds the line for its whole length (256 bytes: 22 ms at 115200 baud), and a damaged one is
 * sent again whole. A pty or a socket loses nothing and costs per write, not per byte, so an end
 * there offers big frames and a wide window; negotiation still settles on the smaller offer. */
export type LineKind = 'uart' | 'stream';
export const LINE_OFFERS: { uart: Pick<LinkOptions, 'maxFrame' | 'window'>; stream: Pick<LinkOptions, 'maxFrame' | 'window'> } = {
  uart: { maxFrame: DEFAULT_MAX_FRAME, window: DEFAULT_WINDOW },
  stream: { maxFrame: 4096, window: 32 },
};
/** RST payload: version, nonce, max frame, window, max message. RST_ACK adds the echoed nonce. */
const RST_LEN = 12;
const RST_ACK_LEN = 16;
/** Peer nonces remembered so that a late RST from an earlier life of the peer is not obeyed. */
const NONCE_HISTORY = 4;
/** Silence after which the next write starts with an extra 0x00 to end any noise in between. */
const IDLE_DELIMITER_MS = 100;

export interface LinkOptions {
  /** CRC-32 ISO-HDLC: zlib.crc32 on Node, E.CRC32 on the board. */
  crc32: Crc32;
  /** Largest frame this end receives and sends (header + payload + CRC, before COBS). Default 256. */
  maxFrame?: number;
  /** Frames the peer may have unacknowledged toward this end. Default 4, at most 127. */
  window?: number;
  /** Largest message this end reassembles or sends. Default 4096. */
  maxMessage?: number;
  /** First retransmission timeout, before any round trip was measured. Default 250. */
  rtoMs?: number;
  /** Bounds of the adaptive timeout. Default 50 and 2000. */
  minRtoMs?: number;
  maxRtoMs?: number;
  /** How long a standalone ACK waits for outgoing data to ride on. Default 5. */
  ackDelayMs?: number;
  /** Idle time after which an ACK is sent to show this end is alive. Default 1000. */
  keepaliveMs?: number;
  /** Silence after which the peer is declared down. Default 3.5 x keepaliveMs. */
  deadMs?: number;
  /** Queued bytes above which send() returns false (it still queues). Default 65536. */
  highWater?: number;
  clock?: Clock;
  /** Source of the session nonce (a u32). Default Math.random. */
  random32?: () => number;
}

/** Limits in force for the current session: the minimum of both ends' offers. */
export interface LinkParams {
  maxFrame: number;
  window: number;
  maxMessage: number;
}

export interface ResetInfo {
  /** Every message sent but not acknowledged, or not sent yet, in order. The link has dropped them. */
  pending: Uint8Array[];
  /** How many of `pending` (a prefix) were completely sent and may have been delivered already. */
  maybeDelivered: number;
}

export interface LinkCounters extends FrameCounters {
  frames_sent: number;
  bytes_sent: number;
  data_frames_sent: number;
  /** Message bytes in first transmissions (record headers not included). */
  payload_bytes_sent: number;
  retransmits: number;
  timeouts: number;
  acks_sent: number;
  nacks_sent: number;
  nacks_received: number;
  /** DATA frames received again (already delivered), answered with an ACK. */
  duplicates: number;
  /** DATA frames ahead of the expected one (an earlier frame was lost), dropped. */
  out_of_order: number;
  /** Frames of another session or not tagged where they must be, and replies to nothing. */
  stale: number;
  /** Frames of a reserved type. */
  unknown: number;
  /** Frames that passed the CRC but break the record or RST layout. */
  malformed: number;
  messages_sent: number;
  messages_received: number;
  /** Reassembled messages over maxMessage, dropped. */
  oversize_messages: number;
  /** Exceptions thrown by the onMessage callback (caught: the message counts as delivered). */
  handler_errors: number;
  /** Sessions replaced because the peer restarted. */
  resets: number;
  /** Exceptions caught in the link's own receive path: always a bug. */
  internal_errors: number;
}

function newLinkCounters(): LinkCounters {
  const f = newFrameCounters();
  return {
    frames_received: f.frames_received,
    crc_errors: 0,
    oversize: 0,
    cobs_errors: 0,
    runts: 0,
    bytes_received: 0,
    frames_sent: 0,
    bytes_sent: 0,
    data_frames_sent: 0,
    payload_bytes_sent: 0,
    retransmits: 0,
    timeouts: 0,
    acks_sent: 0,
    nacks_sent: 0,
    nacks_received: 0,
    duplicates: 0,
    out_of_order: 0,
    stale: 0,
    unknown: 0,
    malformed: 0,
    messages_sent: 0,
    messages_received: 0,
    oversize_messages: 0,
    handler_errors: 0,
    resets: 0,
    internal_errors: 0,
  };
}

function opt(v: number | undefined, d: number): number {
  return v === undefined ? d : v;
}

function linkError(code: string, message: string): Error {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}

function readU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 255;
  b[o + 1] = (v >>> 8) & 255;
  b[o + 2] = (v >>> 16) & 255;
  b[o + 3] = (v >>> 24) & 255;
}

function defaultClock(): Clock {
  return {
    now: function () {
      return Date.now();
    },
    setTimeout: function (fn: () => void, ms: number) {
      return setTimeout(fn, ms);
    },
    clearTimeout: function (h: unknown) {
      clearTimeout(h as never);
    },
    defer: function (fn: () => void) {
      Promise.resolve().then(fn);
    },
  };
}

function defaultRandom32(): number {
  return (Math.random() * 4294967296) >>> 0;
}

/** Session tag from both nonces: symmetric, so both ends compute the same one. Never 0. */
export function sessionTag(a: number, b: number): number {
  const t = (a ^ b) >>> 0;
  return t === 0 ? 0xffffffff : t;
}

const UP = 1;
const SYNCING = 0;
const CLOSED = 2;

export class Link {
  readonly counters: LinkCounters;
  /** Limits of the current session (this end's own until the first handshake completes). */
  params: LinkParams;
  private readonly transport: Transport;
  private readonly crc32: Crc32;
  private readonly clock: Clock;
  private readonly local: LinkParams;
  private readonly rto0: number;
  private readonly minRto: number;
  private readonly maxRto: number;
  private readonly ackDelay: number;
  private readonly keepalive: number;
  private readonly dead: number;
  private readonly highWater: number;
  private readonly decoder: FrameDecoder;

  private state = SYNCING;
  private alive = false;
  private readonly localNonce: number;
  private peerNonce = 0;
  private readonly peerHistory: number[] = [];
  private tag = 0;

  // Sender: messages not yet acknowledged, from qHead; qLast[i] is the seq of the frame that
  // carried the end of queue[i], or -1 while it is not completely framed.
  private queue: (Uint8Array | null)[] = [];
  private qLast: number[] = [];
  private qHead = 0;
  private packIdx = 0;
  private packOff = 0;
  private queuedBytes = 0;
  private needDrain = false;
  private sendBase = 0;
  private nextSeq = 0;
  // Copies of unacknowledged frames, a ring of `window` slots; slot `ringHead` holds sendBase.
  // Sized by the window, not the sequence space: each JS value costs a block on the board.
  private readonly slotWire: (Uint8Array | null)[] = [];
  private readonly slotSentAt: Float64Array;
  private readonly slotRetx: Uint8Array;
  private ringHead = 0;
  private rto: number;
  private srtt = -1;
  private rttvar = 0;
  private rtoTimer: unknown = null;

  // Receiver.
  private rxNext = 0;
  private ackPending = 0;
  private ackNow = false;
  private nackNow = false;
  private nackFor = -1;
  private ackTimer: unknown = null;
  private readonly asm: Uint8Array;
  private asmLen = 0;
  private asmActive = false;
  private asmDrop = false;

  private lastHeard = 0;
  private lastSent = -1e9;
  private tickTimer: unknown = null;
  private pumpScheduled = false;
  private out: Uint8Array[] = [];
  private outLen = 0;
  private readonly txRaw: Uint8Array;
  private readonly txWire: Uint8Array;

  private messageCb: ((msg: Uint8Array) => void) | null = null;
  private resetCb: ((info: ResetInfo) => void) | null = null;
  private upCb: (() => void) | null = null;
  private downCb: (() => void) | null = null;
  private drainCb: (() => void) | null = null;

  constructor(transport: Transport, options: LinkOptions) {
    const maxFrame = opt(options.maxFrame, DEFAULT_MAX_FRAME);
    const window = opt(options.window, DEFAULT_WINDOW);
    const maxMessage = opt(options.maxMessage, DEFAULT_MAX_MESSAGE);
    if (maxFrame < MIN_MAX_FRAME || maxFrame > MAX_MAX_FRAME) throw linkError('BAD_OPTION', 'maxFrame must be ' + MIN_MAX_FRAME + '..' + MAX_MAX_FRAME + ', got ' + maxFrame);
    if (window < 1 || window > MAX_WINDOW) throw linkError('BAD_OPTION', 'window must be 1..' + MAX_WINDOW + ', got ' + window);
    if (maxMessage < 1) throw linkError('BAD_OPTION', 'maxMessage must be positive, got ' + maxMessage);
    this.transport = transport;
    this.crc32 = options.crc32;
    this.clock = options.clock || defaultClock();
    this.local = { maxFrame: maxFrame, window: window, maxMessage: maxMessage };
    this.params = { maxFrame: maxFrame, window: window, maxMessage: maxMessage };
    this.rto0 = opt(options.rtoMs, 250);
    this.minRto = opt(options.minRtoMs, 50);
    this.maxRto = opt(options.maxRtoMs, 2000);
    this.ackDelay = opt(options.ackDelayMs, 5);
    this.keepalive = opt(options.keepaliveMs, 1000);
    this.dead = opt(options.deadMs, this.keepalive * 3.5);
    this.highWater = opt(options.highWater, 65536);
    this.rto = this.rto0;
    this.localNonce = (options.random32 || defaultRandom32)() >>> 0 || 1;
    this.counters = newLinkCounters();
    for (let i = 0; i < window; i++) this.slotWire.push(null);
    this.slotSentAt = new Float64Array(window);
    this.slotRetx = new Uint8Array(window);
    this.asm = new Uint8Array(maxMessage);
    this.txRaw = new Uint8Array(maxFrame);
    this.txWire = new Uint8Array(wireSize(maxFrame) + 1);
    const self = this;
    this.decoder = new FrameDecoder(
      maxFrame,
      this.crc32,
      function (f, len, tagged) {
        self.onFrame(f, len, tagged);
      },
      this.counters,
    );
    transport.onData(function (chunk) {
      self.onData(chunk);
    });
    if (transport.onClose) {
      transport.onClose(function () {
        self.shutdown(false);
      });
    }
    this.clock.defer(function () {
      if (self.state !== SYNCING) return;
      self.sendRst();
      self.flush();
      self.armTick();
    });
  }

  /** Set the receiver of delivered messages (each a fresh array the receiver may keep). */
  onMessage(cb: (msg: Uint8Array) => void): void {
    this.messageCb = cb;
  }
  /**
   * Set the callback for a session replaced by a new one (the peer restarted). The application
   * must forget per-session state (its intern table) and resend what it still wants delivered
   * from `info.pending`. Without this callback the link queues the pending messages again itself.
   */
  onReset(cb: (info: ResetInfo) => void): void {
    this.resetCb = cb;
  }
  /** Set the callback for a session established, or the peer heard again after onDown. */
  onUp(cb: () => void): void {
    this.upCb = cb;
  }
  /** Set the callback for the peer silent for deadMs, the transport closed, or close(). */
  onDown(cb: () => void): void {
    this.downCb = cb;
  }
  /** Set the callback for the queue falling under half the high-water mark after send() returned false. */
  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  get isUp(): boolean {
    return this.state === UP && this.alive;
  }

  /** Bytes of messages queued or in flight. */
  get queued(): number {
    return this.queuedBytes;
  }

  /**
   * Queue a message; the link keeps the array, so do not change it afterwards. Never drops it:
   * returns false when the queue is above the high-water mark (wait for onDrain to send more).
   * Throws (code MSG_TOO_BIG, LINK_CLOSED) only for a caller's error.
   */
  send(msg: Uint8Array): boolean {
    if (this.state === CLOSED) throw linkError('LINK_CLOSED', 'send on a closed link');
    if (msg.length > this.params.maxMessage) throw linkError('MSG_TOO_BIG', 'message of ' + msg.length + ' bytes, limit ' + this.params.maxMessage);
    this.enqueue(msg);
    if (this.queuedBytes > this.highWater) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  private enqueue(msg: Uint8Array): void {
    this.queue.push(msg);
    this.qLast.push(-1);
    this.queuedBytes += msg.length;
    this.schedulePump();
  }

  /** Stop timers and close the transport. Queued messages are dropped. */
  close(): void {
    this.shutdown(true);
  }

  private shutdown(closeTransport: boolean): void {
    if (this.state === CLOSED) return;
    const wasUp = this.isUp;
    this.state = CLOSED;
    this.alive = false;
    this.stopTimer('rtoTimer');
    this.stopTimer('ackTimer');
    this.stopTimer('tickTimer');
    if (closeTransport) this.transport.close();
    if (wasUp) this.fire(this.downCb);
  }

  private fire(cb: (() => void) | null): void {
    if (!cb) return;
    try {
      cb();
    } catch (e) {
      this.counters.handler_errors++;
    }
  }

  private stopTimer(name: 'rtoTimer' | 'ackTimer' | 'tickTimer'): void {
    if (this[name] !== null) {
      this.clock.clearTimeout(this[name]);
      this[name] = null;
    }
  }

  // ---- output ----

  private emit(wire: Uint8Array): void {
    this.out.push(wire);
    this.outLen += wire.length;
    this.counters.frames_sent++;
  }

  private flush(): void {
    if (this.out.length === 0 || this.state === CLOSED) {
      this.out = [];
      this.outLen = 0;
      return;
    }
    const now = this.clock.now();
    const lead = now - this.lastSent >= IDLE_DELIMITER_MS ? 1 : 0;
    let bytes: Uint8Array;
    if (this.out.length === 1 && !lead) bytes = this.out[0];
    else {
      bytes = new Uint8Array(this.outLen + lead);
      let o = lead;
      for (let i = 0; i < this.out.length; i++) {
        bytes.set(this.out[i], o);
        o += this.out[i].length;
      }
    }
    this.out = [];
    this.outLen = 0;
    this.lastSent = now;
    this.counters.bytes_sent += bytes.length;
    this.transport.write(bytes);
  }

  /** Encode txRaw[0, len) as a frame; returns a fresh array of its wire bytes. */
  private encode(len: number, tagged: boolean): Uint8Array {
    const n = encodeFrameInto(this.txRaw, len, tagged ? this.tag : 0, this.crc32, this.txWire, 0);
    return this.txWire.slice(0, n);
  }

  private sendControl(type: number): void {
    const r = this.txRaw;
    r[0] = type;
    r[1] = 0;
    r[2] = this.rxNext;
    this.emit(this.encode(HEADER_LEN, true));
    this.ackPending = 0;
    this.ackNow = false;
    this.stopTimer('ackTimer');
    if (type === FRAME.NACK) this.counters.nacks_sent++;
    else this.counters.acks_sent++;
  }

  private writeHello(type: number, echo: number): void {
    const r = this.txRaw;
    r[0] = type;
    r[1] = 0;
    r[2] = 0;
    r[3] = LINK_VERSION;
    writeU32(r, 4, this.localNonce);
    r[8] = this.local.maxFrame & 255;
    r[9] = this.local.maxFrame >>> 8;
    r[10] = this.local.window;
    writeU32(r, 11, this.local.maxMessage);
    let len = HEADER_LEN + RST_LEN;
    if (type === FRAME.RST_ACK) {
      writeU32(r, len, echo);
      len += 4;
    }
    this.emit(this.encode(len, false));
  }

  private sendRst(): void {
    this.writeHello(FRAME.RST, 0);
    this.armRto();
  }

  // ---- sending data ----

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    const self = this;
    this.clock.defer(function () {
      self.pumpScheduled = false;
      self.pump();
      self.flush();
    });
  }

  /** Send what the window allows, then any ACK or NACK still owed. Output goes through flush(). */
  private pump(): void {
    if (this.state !== UP) return;
    while (this.buildData()) {
      // each call builds and queues one DATA frame
    }
    if (this.nackNow) {
      this.nackNow = false;
      this.sendControl(FRAME.NACK);
    } else if (this.ackNow) this.sendControl(FRAME.ACK);
    else if (this.ackPending > 0 && this.ackTimer === null) {
      const self = this;
      this.ackTimer = this.clock.setTimeout(function () {
        self.ackTimer = null;
        if (self.state === UP && self.ackPending > 0) {
          self.sendControl(FRAME.ACK);
          self.flush();
        }
      }, this.ackDelay);
    }
  }

  private slot(seq: number): number {
    return (this.ringHead + ((seq - this.sendBase) & 255)) % this.slotWire.length;
  }

  private inFlight(): number {
    return (this.nextSeq - this.sendBase) & 255;
  }

  private buildData(): boolean {
    if (this.packIdx >= this.queue.length || this.inFlight() >= this.params.window) return false;
    const r = this.txRaw;
    const seq = this.nextSeq;
    const limit = this.params.maxFrame - CRC_LEN;
    let p = HEADER_LEN;
    let flags = 0;
    while (this.packIdx < this.queue.length) {
      const m = this.queue[this.packIdx] as Uint8Array;
      const rem = m.length - this.packOff;
      const avail = limit - p;
      if (rem + (rem < 128 ? 1 : 2) <= avail) {
        p = this.putRecord(p, m, this.packOff, rem);
        this.qLast[this.packIdx] = seq;
        this.packIdx++;
        this.packOff = 0;
        this.counters.messages_sent++;
        continue;
      }
      // Fill the frame: the rest of this message continues in the next frame (MORE).
      if (avail < 2) break;
      const k = avail - 1 < 128 ? avail - 1 : avail - 2;
      p = this.putRecord(p, m, this.packOff, k);
      this.packOff += k;
      flags = FLAG_MORE;
      break;
    }
    r[0] = FRAME.DATA | flags;
    r[1] = seq;
    r[2] = this.rxNext;
    const wire = this.encode(p, true);
    const k = this.slot(seq);
    this.slotWire[k] = wire;
    this.slotSentAt[k] = this.clock.now();
    this.slotRetx[k] = 0;
    this.nextSeq = (seq + 1) & 255;
    this.emit(wire);
    this.counters.data_frames_sent++;
    this.ackPending = 0;
    this.ackNow = false;
    this.stopTimer('ackTimer');
    if (this.rtoTimer === null) this.armRto();
    return true;
  }

  private putRecord(p: number, m: Uint8Array, from: number, n: number): number {
    const r = this.txRaw;
    if (n < 128) r[p++] = n;
    else {
      r[p++] = 0x80 | (n >>> 8);
      r[p++] = n & 255;
    }
    if (n < 8) for (let i = 0; i < n; i++) r[p + i] = m[from + i];
    else r.set(m.subarray(from, from + n), p);
    this.counters.payload_bytes_sent += n;
    return p + n;
  }

  private armRto(): void {
    this.stopTimer('rtoTimer');
    const self = this;
    this.rtoTimer = this.clock.setTimeout(function () {
      self.rtoTimer = null;
      self.onTimeout();
    }, this.rto);
  }

  private onTimeout(): void {
    if (this.state === CLOSED) return;
    this.rto = Math.min(this.rto * 2, this.maxRto);
    if (this.state === SYNCING) {
      this.sendRst();
      this.flush();
      return;
    }
    if (this.inFlight() === 0) return;
    this.counters.timeouts++;
    this.retransmit();
    this.flush();
  }

  /** Go back N: resend every unacknowledged frame, oldest first. */
  private retransmit(): void {
    for (let s = this.sendBase; s !== this.nextSeq; s = (s + 1) & 255) {
      const k = this.slot(s);
      this.emit(this.slotWire[k] as Uint8Array);
      this.slotRetx[k] = 1;
      this.counters.retransmits++;
    }
    this.armRto();
  }

  private onAck(a: number): void {
    const n = (a - this.sendBase) & 255;
    // An ack behind sendBase comes from a retransmitted frame carrying an old ack: nothing new.
    if (n === 0 || n > this.inFlight()) return;
    const newest = (a - 1) & 255;
    const kn = this.slot(newest);
    if (!this.slotRetx[kn]) this.sample(this.clock.now() - this.slotSentAt[kn]);
    const old = this.sendBase;
    for (let s = old; s !== a; s = (s + 1) & 255) this.slotWire[this.slot(s)] = null;
    this.ringHead = (this.ringHead + n) % this.slotWire.length;
    this.sendBase = a;
    while (this.qHead < this.queue.length) {
      const last = this.qLast[this.qHead];
      if (last < 0 || ((last - old) & 255) >= n) break;
      this.queuedBytes -= (this.queue[this.qHead] as Uint8Array).length;
      this.queue[this.qHead] = null;
      this.qHead++;
    }
    this.compact();
    if (this.inFlight() === 0) this.stopTimer('rtoTimer');
    else this.armRto();
    if (this.needDrain && this.queuedBytes <= this.highWater / 2) {
      this.needDrain = false;
      this.fire(this.drainCb);
    }
  }

  private compact(): void {
    if (this.qHead < 256 || this.qHead * 2 < this.queue.length) return;
    this.queue.splice(0, this.qHead);
    this.qLast.splice(0, this.qHead);
    this.packIdx -= this.qHead;
    this.qHead = 0;
  }

  /** RFC 6298 estimator, on frames never retransmitted (Karn). */
  private sample(r: number): void {
    if (this.srtt < 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.max(this.minRto, Math.min(this.maxRto, this.srtt + 4 * this.rttvar));
  }

  // ---- receiving ----

  private onData(chunk: Uint8Array): void {
    if (this.state === CLOSED) return;
    const before = this.counters.crc_errors + this.counters.cobs_errors + this.counters.runts + this.counters.oversize;
    try {
      this.decoder.feed(chunk);
    } catch (e) {
      // Only a bug can land here; a data handler must never throw on the board.
      this.counters.internal_errors++;
    }
    // A damaged frame may have been DATA: ask for a resend from the first frame still missing.
    const damaged = this.counters.crc_errors + this.counters.cobs_errors + this.counters.runts + this.counters.oversize !== before;
    if (damaged && this.state === UP && this.nackFor !== this.rxNext) {
      this.nackFor = this.rxNext;
      this.nackNow = true;
    }
    this.pump();
    this.flush();
  }

  private heard(): void {
    this.lastHeard = this.clock.now();
    if (!this.alive && this.state === UP) {
      this.alive = true;
      this.fire(this.upCb);
    }
  }

  private onFrame(f: Uint8Array, len: number, tagged: boolean): void {
    if (this.state === CLOSED) return;
    const type = f[0] & TYPE_MASK;
    if (type === FRAME.RST || type === FRAME.RST_ACK) {
      if (tagged) this.counters.stale++;
      else this.onHello(type, f, len);
      return;
    }
    if (type > FRAME.RST_ACK) {
      this.counters.unknown++;
      return;
    }
    if (!tagged || this.state !== UP) {
      this.counters.stale++;
      return;
    }
    this.heard();
    this.onAck(f[2]);
    if (type === FRAME.NACK) {
      this.counters.nacks_received++;
      if (this.inFlight() > 0) this.retransmit();
    } else if (type === FRAME.DATA) this.onDataFrame(f, len);
  }

  private onDataFrame(f: Uint8Array, len: number): void {
    const seq = f[1];
    if (seq !== this.rxNext) {
      const behind = (this.rxNext - seq) & 255;
      if (behind >= 1 && behind <= 128) {
        this.counters.duplicates++;
        this.ackNow = true;
      } else {
        this.counters.out_of_order++;
        if (this.nackFor !== this.rxNext) {
          this.nackFor = this.rxNext;
          this.nackNow = true;
        }
      }
      return;
    }
    this.rxNext = (seq + 1) & 255;
    this.nackFor = -1;
    this.ackPending++;
    if (this.ackPending >= Math.max(1, this.params.window >> 1)) this.ackNow = true;
    // Check the record layout before delivering anything from this frame.
    let p = HEADER_LEN;
    while (p < len) {
      let n = f[p++];
      if (n & 0x80) {
        if (p >= len) {
          p = -1;
          break;
        }
        n = ((n & 0x7f) << 8) | f[p++];
      }
      p += n;
    }
    if (p !== len) {
      this.counters.malformed++;
      this.asmActive = false;
      return;
    }
    const more = (f[0] & FLAG_MORE) !== 0;
    p = HEADER_LEN;
    while (p < len && this.state === UP) {
      let n = f[p++];
      if (n & 0x80) n = ((n & 0x7f) << 8) | f[p++];
      const start = p;
      p += n;
      const cont = more && p === len;
      if (this.asmActive || cont) {
        if (!this.asmActive) {
          this.asmActive = true;
          this.asmLen = 0;
          this.asmDrop = false;
        }
        if (this.asmLen + n > this.asm.length) this.asmDrop = true;
        else {
          this.asm.set(f.subarray(start, p), this.asmLen);
          this.asmLen += n;
        }
        if (cont) return;
        this.asmActive = false;
        if (this.asmDrop) this.counters.oversize_messages++;
        else this.deliver(this.asm.slice(0, this.asmLen));
      } else this.deliver(f.slice(start, p));
    }
  }

  private deliver(m: Uint8Array): void {
    this.counters.messages_received++;
    if (!this.messageCb) return;
    try {
      this.messageCb(m);
    } catch (e) {
      this.counters.handler_errors++;
    }
  }

  private onHello(type: number, f: Uint8Array, len: number): void {
    if (len < HEADER_LEN + (type === FRAME.RST ? RST_LEN : RST_ACK_LEN) || f[3] < 1) {
      this.counters.malformed++;
      return;
    }
    const nonce = readU32(f, 4);
    const peer: LinkParams = { maxFrame: f[8] | (f[9] << 8), window: f[10], maxMessage: readU32(f, 11) };
    if (peer.maxFrame < MIN_MAX_FRAME || peer.window < 1 || peer.maxMessage < 1 || nonce === 0) {
      this.counters.malformed++;
      return;
    }
    if (type === FRAME.RST_ACK) {
      if (this.state !== SYNCING || readU32(f, HEADER_LEN + RST_LEN) !== this.localNonce) {
        this.counters.stale++;
        return;
      }
      this.begin(nonce, peer);
      return;
    }
    if (this.state === UP && nonce === this.peerNonce) {
      // The peer did not get our RST_ACK: answer again, the session stands.
      this.heard();
      this.writeHello(FRAME.RST_ACK, nonce);
      return;
    }
    if (this.peerHistory.indexOf(nonce) >= 0) {
      this.counters.stale++;
      return;
    }
    this.begin(nonce, peer);
    this.writeHello(FRAME.RST_ACK, nonce);
  }

  /** Start a session with the peer `nonce`; when it replaces one, hand the pending messages back. */
  private begin(nonce: number, peer: LinkParams): void {
    const replacing = this.state === UP;
    const pending: Uint8Array[] = [];
    let maybeDelivered = 0;
    if (replacing) {
      for (let i = this.qHead; i < this.queue.length; i++) {
        pending.push(this.queue[i] as Uint8Array);
        if (this.qLast[i] >= 0) maybeDelivered++;
      }
      this.counters.resets++;
    }
    this.peerNonce = nonce;
    this.peerHistory.push(nonce);
    if (this.peerHistory.length > NONCE_HISTORY) this.peerHistory.shift();
    this.tag = sessionTag(this.localNonce, nonce);
    this.decoder.tag = this.tag;
    this.params = {
      maxFrame: Math.min(this.local.maxFrame, peer.maxFrame),
      window: Math.min(this.local.window, peer.window, MAX_WINDOW),
      maxMessage: Math.min(this.local.maxMessage, peer.maxMessage),
    };
    this.sendBase = 0;
    this.nextSeq = 0;
    this.rxNext = 0;
    for (let i = 0; i < this.slotWire.length; i++) this.slotWire[i] = null;
    this.ringHead = 0;
    this.stopTimer('rtoTimer');
    this.stopTimer('ackTimer');
    this.rto = this.rto0;
    this.srtt = -1;
    this.ackPending = 0;
    this.ackNow = false;
    this.nackNow = false;
    this.nackFor = -1;
    this.asmActive = false;
    this.packOff = 0;
    if (replacing) {
      this.queue = [];
      this.qLast = [];
      this.qHead = 0;
      this.packIdx = 0;
      this.queuedBytes = 0;
    }
    this.state = UP;
    this.alive = false;
    if (replacing) {
      if (this.resetCb) {
        const cb = this.resetCb;
        try {
          cb({ pending: pending, maybeDelivered: maybeDelivered });
        } catch (e) {
          this.counters.handler_errors++;
        }
      } else for (let i = 0; i < pending.length; i++) this.enqueue(pending[i]);
    }
    if (this.state !== UP) return;
    this.heard();
    this.schedulePump();
  }

  // ---- keep-alive ----

  private armTick(): void {
    const self = this;
    this.tickTimer = this.clock.setTimeout(function () {
      self.tickTimer = null;
      self.tick();
    }, Math.max(1, Math.min(this.keepalive, this.dead) / 4));
  }

  private tick(): void {
    if (this.state === CLOSED) return;
    const now = this.clock.now();
    if (this.state === UP) {
      if (this.alive && now - this.lastHeard >= this.dead) {
        this.alive = false;
        this.fire(this.downCb);
      }
      if (this.state === UP && now - this.lastSent >= this.keepalive) {
        this.sendControl(FRAME.ACK);
        this.flush();
      }
    }
    if (this.state !== CLOSED) this.armTick();
  }
}
