// The host's end of the protocol: the EngineClient the bridge and the simulator talk to.
//
// Events are numbered on the wire by this client (consecutive ids per batch, as SPEC.md §3 asks),
// gathered while the current turn of the event loop runs and sent as few EVENT batches as fit the
// link's message size; each VERDICT resolves its event's promise. CONTROL, QUERY and ATTEST carry a
// request number and resolve with the RESULT or reject with the ERROR that answers it. A link
// reset or a dead peer rejects everything in flight (code LINK_DOWN): the bridge keeps those events
// and delivers them again, flagged LATE, once the engine has answered a new HELLO.
import { EventEmitter } from 'node:events';
import { Codec, isProtocolError } from '../protocol/cbor.js';
import { Link } from '../protocol/link.js';
import {
  Attest, ErrorMsg, FileEvent, Hello, Limits, Message, MSG, PROTOCOL_VERSION, Result, Verdict, VerdictBatch,
} from '../protocol/messages.js';
import { WireDecoder, WireEncoder } from '../protocol/wire.js';
import type { EngineClient, VerdictSink } from './bridge.js';

export const HOST_LIMITS: Limits = {
  maxFrame: 256,
  maxMessage: 4096,
  window: 4,
  internSlots: 4096,
  maxNamespaces: 0,
  maxRules: 0,
  maxEntriesInRam: 0,
};

export class EngineClientError extends Error {
  constructor(
    message: string,
    /** LINK_DOWN, TIMEOUT, CLOSED, or the engine's ERROR code name (ENGINE_<n>). */
    readonly code: string,
    /** The engine's ERROR code, when it answered with one. */
    readonly engineCode = 0,
  ) {
    super(message);
  }
}

export interface EngineClientOptions {
  link: Link;
  codec: Codec;
  /** This end's offer in HELLO; the engine answers with its own and both use the minimum. */
  limits?: Partial<Limits>;
  /** How long a CONTROL, QUERY or ATTEST may wait for its answer. Default 10 s. */
  requestTimeoutMs?: number;
}

export interface ClientCounters {
  events_sent: number;
  batches_sent: number;
  verdicts: number;
  requests: number;
  errors_received: number;
  /** Replies that matched nothing in flight (late after a reset, or a confused peer). */
  unmatched: number;
  /** Messages from the engine that failed to decode. */
  rejected: number;
  hellos: number;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class LinkEngineClient extends EventEmitter<{ up: []; down: []; error: [Error] }> implements EngineClient {
  readonly counters: ClientCounters = { events_sent: 0, batches_sent: 0, verdicts: 0, requests: 0, errors_received: 0, unmatched: 0, rejected: 0, hellos: 0 };
  /** The engine's HELLO_ACK of the current session. */
  engine: Hello | null = null;
  private readonly link: Link;
  private readonly encoder: WireEncoder;
  private readonly decoder: WireDecoder;
  private readonly limits: Limits;
  private readonly requestTimeoutMs: number;
  private isUp = false;
  private closed = false;
  private nextId = 1;
  private nextReq = 1;
  /** Events waiting for this turn's batch. */
  private outbox: FileEvent[] = [];
  private outboxTo: VerdictSink[] = [];
  private flushScheduled = false;
  /** Sent events by wire id. */
  private inflight = new Map<number, VerdictSink>();
  private requests = new Map<number, Pending>();
  private helloWaiters: { resolve(h: Hello): void; reject(e: Error): void }[] = [];

  constructor(opts: EngineClientOptions) {
    super();
    this.link = opts.link;
    this.limits = { ...HOST_LIMITS, ...opts.limits };
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.encoder = new WireEncoder(opts.codec, 0);
    this.decoder = new WireDecoder(opts.codec, 0);
    this.link.onMessage((b) => this.receive(b));
    this.link.onUp(() => this.sendHello());
    this.link.onReset(() => this.lost('the engine link was reset (a side restarted)'));
    this.link.onDown(() => this.lost('the engine stopped answering'));
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Resolves with the engine's HELLO_ACK once the session is up (at once when it already is). */
  ready(timeoutMs = 10_000): Promise<Hello> {
    if (this.isUp && this.engine) return Promise.resolve(this.engine);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.helloWaiters = this.helloWaiters.filter((w) => w.resolve !== done);
        reject(new EngineClientError(`no HELLO_ACK from the engine within ${timeoutMs} ms`, 'TIMEOUT'));
      }, timeoutMs);
      const done = (h: Hello) => {
        clearTimeout(timer);
        resolve(h);
      };
      this.helloWaiters.push({ resolve: done, reject: (e) => (clearTimeout(timer), reject(e)) });
    });
  }

  submit(ev: FileEvent): Promise<Verdict> {
    return new Promise((resolve, reject) => this.send(ev, { verdict: resolve, failed: reject }));
  }

  /** Send one event; `to` hears its verdict, or the failure (link down before one arrived). */
  send(ev: FileEvent, to: VerdictSink): void {
    if (!this.isUp) {
      to.failed(new EngineClientError('the engine link is down', 'LINK_DOWN'));
      return;
    }
    this.outbox.push(ev);
    this.outboxTo.push(to);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  control(op: number, args: { [key: string]: unknown }): Promise<unknown> {
    return this.request((req) => ({ type: MSG.CONTROL, req, op, args }));
  }

  query(op: number, args: { [key: string]: unknown }): Promise<unknown> {
    return this.request((req) => ({ type: MSG.QUERY, req, op, args }));
  }

  attest(ns: number, nonce: Uint8Array): Promise<unknown> {
    return this.request((req): Attest => ({ type: MSG.ATTEST, req, ns, nonce }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lost('the client was closed', 'CLOSED');
    this.link.close();
  }

  private request(build: (req: number) => Message): Promise<unknown> {
    if (!this.isUp) return Promise.reject(new EngineClientError('the engine link is down', 'LINK_DOWN'));
    const req = this.nextReq++;
    this.counters.requests++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(req);
        reject(new EngineClientError(`request ${req} got no answer within ${this.requestTimeoutMs} ms`, 'TIMEOUT'));
      }, this.requestTimeoutMs);
      this.requests.set(req, { resolve, reject, timer });
      this.link.send(this.encoder.encode(build(req)));
    });
  }

  private sendHello(): void {
    if (this.closed) return;
    this.counters.hellos++;
    // The frame size and window are the link's, as negotiated; HELLO reports them (SPEC.md §2.3).
    const p = this.link.params;
    const limits: Limits = { ...this.limits, maxFrame: p.maxFrame, window: p.window, maxMessage: Math.min(this.limits.maxMessage, p.maxMessage) };
    const hello: Hello = { type: MSG.HELLO, version: PROTOCOL_VERSION, profile: 'host', limits, algorithms: [] };
    this.link.send(this.encoder.encode(hello));
  }

  /** Send this turn's events: as many per EVENT message as fit the agreed message size. */
  private flush(): void {
    this.flushScheduled = false;
    const box = this.outbox;
    const to = this.outboxTo;
    this.outbox = [];
    this.outboxTo = [];
    if (!this.isUp) {
      for (const t of to) t.failed(new EngineClientError('the engine link is down', 'LINK_DOWN'));
      return;
    }
    const maxBytes = Math.min(this.limits.maxMessage, this.engine?.limits.maxMessage ?? this.limits.maxMessage);
    // The caller's event keeps its own id; the wire's are consecutive per batch (SPEC.md §3).
    const events: FileEvent[] = new Array(box.length);
    for (let i = 0; i < box.length; i++) {
      const e = box[i];
      const id = this.nextId++;
      events[i] = { id, func: e.func, mask: e.mask, flags: e.flags, proc: e.proc, file: e.file };
      this.inflight.set(id, to[i]);
    }
    let at = 0;
    while (at < events.length) {
      let out;
      try {
        out = this.encoder.encodeEvents(at === 0 ? events : events.slice(at), maxBytes);
      } catch (e) {
        // Only an event that cannot be encoded at all lands here (a malformed FileInfo): fail it alone.
        const bad = events[at];
        this.inflight.get(bad.id)?.failed(e as Error);
        this.inflight.delete(bad.id);
        // Its id is gone from the sequence: the next batch starts a new run of ids.
        at++;
        continue;
      }
      this.link.send(out.bytes);
      this.counters.batches_sent++;
      this.counters.events_sent += out.count;
      at += out.count;
    }
  }

  private receive(bytes: Uint8Array): void {
    let msg: Message | null;
    try {
      msg = this.decoder.decode(bytes);
    } catch (e) {
      this.counters.rejected++;
      this.emit('error', new EngineClientError(`undecodable message from the engine: ${isProtocolError(e) ? e.message : String(e)}`, 'MALFORMED'));
      return;
    }
    if (msg === null) return;
    switch (msg.type) {
      case MSG.HELLO_ACK:
        return this.onHelloAck(msg);
      case MSG.VERDICT:
        return this.onVerdicts(msg);
      case MSG.RESULT:
        return this.settle((msg as Result).req, (p) => p.resolve((msg as Result).value));
      case MSG.ERROR:
        return this.onError(msg as ErrorMsg);
      case MSG.PING:
        this.link.send(this.encoder.encode({ type: MSG.PONG, token: msg.token }));
        return;
      default:
        this.counters.unmatched++;
    }
  }

  private onHelloAck(h: Hello): void {
    const slots = Math.min(this.limits.internSlots, h.limits.internSlots);
    this.encoder.reset(slots);
    this.decoder.reset(slots);
    this.engine = h;
    const wasUp = this.isUp;
    this.isUp = true;
    const waiters = this.helloWaiters;
    this.helloWaiters = [];
    for (const w of waiters) w.resolve(h);
    if (!wasUp) this.emit('up');
  }

  private onVerdicts(b: VerdictBatch): void {
    for (const v of b.verdicts) {
      const p = this.inflight.get(v.id);
      if (!p) {
        this.counters.unmatched++;
        continue;
      }
      this.inflight.delete(v.id);
      this.counters.verdicts++;
      p.verdict(v);
    }
  }

  private onError(e: ErrorMsg): void {
    this.counters.errors_received++;
    const err = new EngineClientError(e.text, `ENGINE_${e.code}`, e.code);
    if (e.req >= 0 && this.requests.has(e.req)) return this.settle(e.req, (p) => p.reject(err));
    this.emit('error', err);
  }

  private settle(req: number, fn: (p: Pending) => void): void {
    const p = this.requests.get(req);
    if (!p) {
      this.counters.unmatched++;
      return;
    }
    this.requests.delete(req);
    clearTimeout(p.timer);
    fn(p);
  }

  /** The session is over: fail everything that waits on it; the link's next session starts with a new HELLO. */
  private lost(why: string, code = 'LINK_DOWN'): void {
    const wasUp = this.isUp;
    this.isUp = false;
    this.engine = null;
    this.encoder.reset(0);
    this.decoder.reset(0);
    const err = () => new EngineClientError(why, code);
    for (const p of this.inflight.values()) p.failed(err());
    this.inflight.clear();
    for (const t of this.outboxTo) t.failed(err());
    this.outbox = [];
    this.outboxTo = [];
    for (const p of this.requests.values()) {
      clearTimeout(p.timer);
      p.reject(err());
    }
    this.requests.clear();
    if (code === 'CLOSED') for (const w of this.helloWaiters.splice(0)) w.reject(err());
    if (wasUp) this.emit('down');
  }
}
