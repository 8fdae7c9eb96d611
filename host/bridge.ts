// The bridge core: events from sources, their namespace, the engine's verdict, the kernel's answer.
//
//   source (fanotify helper, trace, IMA list…) ──event──▶ Bridge ──submit──▶ EngineClient ══link══▶ engine
//        ▲                                                  │
//        └──────── answer(allow, cacheable) ◀── verdict ────┘   (+ audit records to the AuditLog)
//
// The bridge never decides a verdict; it applies the engine's. When there is none (engine down, or
// the helper's deadline passed first) the namespace's failure mode applies: fail-closed denies,
// fail-open allows. Either way the event is kept and delivered to the engine, in order and flagged
// LATE, once the link is back, so the measurement lists lose nothing.
import { EventEmitter } from 'node:events';
import { CONTROL_OP, QUERY_OP, EVENT_FLAG, FileEvent, VERDICT, Verdict } from '../protocol/messages.js';
import { AuditLog } from './audit-log.js';
import { NamespaceTable, NsEntry, FailMode, DEFAULT_DEADLINE_MS, policyAppraises } from './nsdiscovery.js';

/** The engine as the bridge needs it; host/engine-client.ts implements it over the protocol link. */
export interface EngineClient {
  /** The link is established (HELLO done) and not known to be broken. */
  readonly up: boolean;
  /** Send one event; `to` hears its verdict, or that none will come (the link went down first).
   * A sink rather than a promise: no promise and closures per event on the bridge's path. */
  send(ev: FileEvent, to: VerdictSink): void;
  /** CONTROL operation (messages.ts CONTROL_OP); resolves with the RESULT value, rejects with the ERROR text. */
  control(op: number, args: { [key: string]: unknown }): Promise<unknown>;
  /** QUERY operation (messages.ts QUERY_OP). */
  query(op: number, args: { [key: string]: unknown }): Promise<unknown>;
  /** ATTEST: a quote of namespace `ns`'s list bound to `nonce` (SPEC.md §3.7); absent where no engine signs. */
  attest?(ns: number, nonce: Uint8Array): Promise<unknown>;
  on(event: 'up' | 'down', listener: () => void): unknown;
  off(event: 'up' | 'down', listener: () => void): unknown;
}

/** Where a verdict goes (EngineClient.send); LinkEngineClient.submit wraps it in a promise. */
export interface VerdictSink {
  verdict(v: Verdict): void;
  failed(e: Error): void;
}

/** An event as a source reports it: a FileEvent before the bridge numbers it. */
export type SourceEvent = Omit<FileEvent, 'id'>;

/** The kernel's pending question behind an enforcing source's event. */
export interface Enforcement {
  /** Answer it; false when the source already had (its deadline passed), so this verdict came too late. */
  answer(allow: boolean, cacheable: boolean): boolean;
}

export interface SourceSink {
  event(ev: SourceEvent, enforcement?: Enforcement): void;
  /** Something the operator should know: queue overflow, a source that stopped… */
  notice(kind: string, detail: string): void;
}

export interface Source {
  readonly name: string;
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
  /** Enforcing sources: the failure response and deadline for openers in `mntns` (0: everyone else), and
   * whether an open there must wait for the verdict at all (not when no policy on its chain appraises:
   * only appraisal denies, so such opens are allowed at once and their events forwarded for measurement). */
  configure?(mntns: number, failAllow: boolean, deadlineMs: number, awaitVerdict: boolean): void;
  /** Enforcing sources: forget cached verdicts (policy, keys or namespaces changed). */
  flush?(): Promise<void>;
  /** Stop delivering events for now (the engine is behind), and start again. Events wait at the
   * source (the helper's buffer, the kernel's queue), where deadlines still apply. */
  pause?(): void;
  resume?(): void;
  stats?(): Promise<{ [name: string]: number }>;
}

export interface BridgeStats {
  events: number;
  forwarded: number;
  verdicts: number;
  denied: number;
  /** Verdicts that arrived after the source had answered by its deadline. */
  lateVerdicts: number;
  /** Events answered by their namespace's failure mode because the engine was down. */
  failAllowed: number;
  failDenied: number;
  /** Events waiting for the link to return. */
  queued: number;
  /** Events delivered late (flag LATE). */
  delivered: number;
  inflight: number;
  maxInflight: number;
  /** Times the sources were paused because the engine was behind. */
  pauses: number;
  audits: number;
  notices: number;
}

export interface BridgeOptions {
  client: EngineClient;
  sources: Source[];
  audit?: AuditLog;
  /** Events kept for a link that is down; beyond this the oldest are dropped (and counted). */
  maxQueued?: number;
  /** Events sent to the engine and not yet answered, beyond which sources are paused until half
   * have been answered: bounds this process's memory under a flood. Default 4096. */
  maxInflight?: number;
  /** How long a control operation waits for a link that is down to come back. Default 5000 ms. */
  engineWaitMs?: number;
}

export class BridgeError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

export interface NsCreateArgs {
  mntns?: number;
  userns?: number;
  parent?: number;
  fail?: FailMode;
  deadlineMs?: number;
}

export class Bridge extends EventEmitter<{ notice: [kind: string, detail: string]; verdict: [FileEvent, Verdict] }> {
  readonly table = new NamespaceTable();
  readonly counters: BridgeStats = {
    events: 0, forwarded: 0, verdicts: 0, denied: 0, lateVerdicts: 0, failAllowed: 0, failDenied: 0,
    queued: 0, delivered: 0, inflight: 0, maxInflight: 0, pauses: 0, audits: 0, notices: 0,
  };
  droppedFromQueue = 0;
  private seq = 1;
  private queue: FileEvent[] = [];
  private readonly client: EngineClient;
  private readonly sources: Source[];
  private readonly audit: AuditLog | null;
  private readonly maxQueued: number;
  private readonly inflightHigh: number;
  private readonly engineWaitMs: number;
  private paused = false;

  constructor(opts: BridgeOptions) {
    super();
    this.client = opts.client;
    this.sources = opts.sources;
    this.audit = opts.audit ?? null;
    this.maxQueued = opts.maxQueued ?? 1_000_000;
    this.inflightHigh = Math.max(2, opts.maxInflight ?? 4096);
    this.engineWaitMs = opts.engineWaitMs ?? 5000;
    this.client.on('up', () => {
      void this.onUp();
    });
  }

  async start(): Promise<void> {
    if (this.client.up) await this.sync().catch((e: Error) => this.notice('sync', e.message));
    this.configureSources();
    const sink: SourceSink = {
      event: (ev, enf) => this.onEvent(ev, enf),
      notice: (kind, detail) => this.notice(kind, detail),
    };
    for (const s of this.sources) await s.start(sink);
  }

  async stop(): Promise<void> {
    for (const s of this.sources) await s.stop();
  }

  private notice(kind: string, detail: string): void {
    this.counters.notices++;
    this.emit('notice', kind, detail);
  }

  // ---- events ----

  private onEvent(ev: SourceEvent, enf?: Enforcement): void {
    this.counters.events++;
    const fe: FileEvent = { id: this.seq++, func: ev.func, mask: ev.mask, flags: ev.flags, proc: ev.proc, file: ev.file };
    if (!this.client.up) this.withoutVerdict(fe, enf);
    else this.forward(fe, enf);
  }

  private forward(fe: FileEvent, enf?: Enforcement): void {
    const c = this.counters;
    c.forwarded++;
    c.inflight++;
    if (c.inflight > c.maxInflight) c.maxInflight = c.inflight;
    if (c.inflight >= this.inflightHigh && !this.paused) {
      this.paused = true;
      c.pauses++;
      for (const s of this.sources) s.pause?.();
    }
    this.client.send(fe, new Forwarded(this, fe, enf));
  }

  /** @internal A forwarded event has its verdict. */
  settled(fe: FileEvent, v: Verdict, enf?: Enforcement): void {
    this.answered();
    this.applyVerdict(fe, v, enf);
  }

  /** @internal A forwarded event will get no verdict (the link went down first). */
  unsettled(fe: FileEvent, enf?: Enforcement): void {
    this.answered();
    this.withoutVerdict(fe, enf);
  }

  private answered(): void {
    const c = this.counters;
    c.inflight--;
    if (this.paused && c.inflight <= this.inflightHigh >> 1) {
      this.paused = false;
      for (const s of this.sources) s.resume?.();
    }
  }

  private applyVerdict(fe: FileEvent, v: Verdict, enf?: Enforcement): void {
    const c = this.counters;
    const deny = (v.code & VERDICT.DENY) !== 0;
    c.verdicts++;
    if (deny) c.denied++;
    if (enf && !enf.answer(!deny, (v.code & VERDICT.CACHEABLE) !== 0)) c.lateVerdicts++;
    if (v.audit.length) {
      c.audits += v.audit.length;
      this.audit?.write(v.audit);
    }
    this.emit('verdict', fe, v);
  }

  /** No verdict to be had now: answer by the namespace's failure mode, keep the event for later. */
  private withoutVerdict(fe: FileEvent, enf?: Enforcement): void {
    if (enf) {
      const allow = NamespaceTable.failAllows(this.table.resolve(fe.proc.mntns, fe.proc.userns));
      if (enf.answer(allow, false)) this.counters[allow ? 'failAllowed' : 'failDenied']++;
    }
    fe.flags |= EVENT_FLAG.LATE;
    this.queue.push(fe);
    if (this.queue.length > this.maxQueued) {
      this.queue.shift();
      this.droppedFromQueue++;
    }
    this.counters.queued = this.queue.length;
    // The link may have come back while this submit was failing.
    if (this.client.up && this.queue.length === 1) queueMicrotask(() => this.drain());
  }

  private drain(): void {
    if (!this.client.up || this.queue.length === 0) return;
    const q = this.queue.sort((a, b) => a.id - b.id);
    this.queue = [];
    this.counters.queued = 0;
    this.counters.delivered += q.length;
    for (const fe of q) this.forward(fe);
  }

  private async onUp(): Promise<void> {
    // The engine may have restarted: its namespaces and verdicts are what counts now.
    await this.sync().catch((e: Error) => this.notice('sync', e.message));
    this.configureSources();
    for (const s of this.sources) await s.flush?.();
    this.drain();
  }

  // ---- namespaces and engine state ----

  /** Mirror the engine's namespaces: failure modes and deadlines are applied here, on the host. */
  private async sync(): Promise<void> {
    const list = (await this.client.control(CONTROL_OP.NS_LIST, {})) as { ns: number; parent: number; mntns: number; userns: number; fail?: string; deadlineMs?: number }[];
    const seen = new Set<number>();
    for (const n of list) {
      seen.add(n.ns);
      const known = this.table.get(n.ns);
      let appraises = known?.appraises ?? false;
      if (!known) {
        const shown = (await this.client.control(CONTROL_OP.POLICY_SHOW, { ns: n.ns }).catch(() => null)) as { text?: string } | null;
        appraises = policyAppraises(shown?.text ?? '');
      }
      this.table.set({
        ns: n.ns,
        parent: n.parent < 0 ? 0 : n.parent,
        mntns: n.mntns,
        userns: n.userns,
        fail: known?.fail ?? (n.ns === 0 ? 'auto' : n.fail === 'open' ? 'open' : n.fail === 'closed' ? 'closed' : 'auto'),
        deadlineMs: known?.deadlineMs ?? (n.deadlineMs || DEFAULT_DEADLINE_MS),
        appraises,
      });
    }
    for (const e of this.table.list()) if (!seen.has(e.ns) && e.ns !== 0) this.table.remove(e.ns);
  }

  private configureSources(): void {
    const list = this.table.list();
    // Openers in mount namespaces without an entry of their own fall to the host, or to a namespace
    // configured by user namespace: the default must wait whenever any of those can deny.
    const byUserOnly = list.filter((e) => e.ns !== 0 && !e.mntns);
    for (const e of list) {
      if (e.ns !== 0 && !e.mntns) continue;
      // An explicit fail-closed namespace always waits: its operator wants no open without a verdict.
      const waits = (x: NsEntry) => x.fail === 'closed' || this.table.chainAppraises(x);
      const wait = e.ns === 0 ? [e, ...byUserOnly].some(waits) : waits(e);
      for (const s of this.sources) s.configure?.(e.mntns, NamespaceTable.failAllows(e), e.deadlineMs, wait);
    }
  }

  private async changed(): Promise<void> {
    this.configureSources();
    for (const s of this.sources) await s.flush?.();
  }

  /** The engine, for a control operation: a link coming back (an engine restarting, a reset) is
   * waited for, up to `engineWaitMs`, rather than failing the operator's command at once. */
  private needUp(): Promise<void> {
    if (this.client.up) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onUp = () => {
        clearTimeout(timer);
        this.client.off('up', onUp);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off('up', onUp);
        reject(new BridgeError(`the engine is not connected (waited ${this.engineWaitMs} ms)`, 'ENGINE_DOWN'));
      }, this.engineWaitMs);
      this.client.on('up', onUp);
    });
  }

  async nsCreate(a: NsCreateArgs): Promise<NsEntry> {
    await this.needUp();
    if (!a.mntns && !a.userns) throw new BridgeError('a namespace needs --mntns or --userns', 'BAD_ARGUMENT');
    const args: { [k: string]: unknown } = { mntns: a.mntns ?? 0, userns: a.userns ?? 0, parent: a.parent ?? 0 };
    if (a.fail && a.fail !== 'auto') args.fail = a.fail;
    if (a.deadlineMs !== undefined) args.deadlineMs = a.deadlineMs;
    const r = (await this.client.control(CONTROL_OP.NS_CREATE, args)) as { ns: number };
    const e: NsEntry = {
      ns: r.ns,
      parent: a.parent ?? 0,
      mntns: a.mntns ?? 0,
      userns: a.userns ?? 0,
      fail: a.fail ?? 'auto',
      deadlineMs: a.deadlineMs ?? DEFAULT_DEADLINE_MS,
      appraises: false,
    };
    this.table.set(e);
    await this.changed();
    return e;
  }

  async nsDelete(ns: number): Promise<unknown> {
    await this.needUp();
    const r = await this.client.control(CONTROL_OP.NS_DELETE, { ns });
    this.table.remove(ns);
    await this.changed();
    return r;
  }

  async nsList(): Promise<unknown> {
    await this.needUp();
    const list = (await this.client.control(CONTROL_OP.NS_LIST, {})) as { ns: number }[];
    return list.map((n) => {
      const e = this.table.get(n.ns);
      return e ? { ...n, fail: e.fail === 'auto' ? (NamespaceTable.failAllows(e) ? 'open' : 'closed') + ' (auto)' : e.fail, appraises: e.appraises } : n;
    });
  }

  async policyLoad(ns: number, text: string): Promise<unknown> {
    await this.needUp();
    const r = await this.client.control(CONTROL_OP.POLICY_LOAD, { ns, text });
    const e = this.table.get(ns);
    if (e) e.appraises = policyAppraises(text);
    await this.changed();
    return r;
  }

  async keysAdd(ns: number, cert: Uint8Array): Promise<unknown> {
    await this.needUp();
    const r = await this.client.control(CONTROL_OP.KEYS_ADD, { ns, cert });
    await this.changed();
    return r;
  }

  async refsAdd(ns: number, digests: [number, Uint8Array][]): Promise<unknown> {
    await this.needUp();
    const r = await this.client.control(CONTROL_OP.REFS_ADD, { ns, digests });
    await this.changed();
    return r;
  }

  /** Operations that change nothing the host caches. */
  async passthrough(op: number, args: { [k: string]: unknown }): Promise<unknown> {
    await this.needUp();
    return this.client.control(op, args);
  }

  async stats(): Promise<{ bridge: BridgeStats; sources: { [name: string]: { [k: string]: number } } }> {
    const sources: { [name: string]: { [k: string]: number } } = {};
    for (const s of this.sources) if (s.stats) sources[s.name] = await s.stats().catch(() => ({}));
    return { bridge: { ...this.counters }, sources };
  }

  /** The control socket's operations (host/control.ts carries them; host/cli/*.ts send them). */
  async handle(op: string, args: { [k: string]: unknown }): Promise<unknown> {
    switch (op) {
      case 'ns.create':
        return this.nsCreate({
          mntns: optInt(args, 'mntns'),
          userns: optInt(args, 'userns'),
          parent: optInt(args, 'parent'),
          fail: optFail(args.fail),
          deadlineMs: optInt(args, 'deadlineMs'),
        });
      case 'ns.delete':
        return this.nsDelete(needInt(args, 'ns'));
      case 'ns.list':
        return this.nsList();
      case 'policy.load':
        if (typeof args.text !== 'string') throw new BridgeError('policy.load needs "text"', 'BAD_ARGUMENT');
        return this.policyLoad(needInt(args, 'ns'), args.text);
      case 'policy.show':
        return this.passthrough(CONTROL_OP.POLICY_SHOW, { ns: needInt(args, 'ns') });
      case 'keys.add':
        if (!(args.cert instanceof Uint8Array)) throw new BridgeError('keys.add needs "cert" bytes', 'BAD_ARGUMENT');
        return this.keysAdd(needInt(args, 'ns'), args.cert);
      case 'measurements':
        return this.passthrough(CONTROL_OP.MEASUREMENTS, {
          ns: needInt(args, 'ns'),
          bank: typeof args.bank === 'string' ? args.bank : 'sha256',
          format: args.format === 'ascii' ? 'ascii' : 'binary',
          from: optInt(args, 'from') ?? 0,
          max: optInt(args, 'max') ?? 256,
        });
      case 'aggregate':
        return this.passthrough(CONTROL_OP.AGGREGATE, { ns: needInt(args, 'ns') });
      case 'attest': {
        const ns = needInt(args, 'ns');
        const nonce = args.nonce;
        if (!(nonce instanceof Uint8Array) || nonce.length < 8 || nonce.length > 64) throw new BridgeError('attest needs "nonce": 8 to 64 bytes', 'BAD_ARGUMENT');
        await this.needUp();
        if (!this.client.attest) throw new BridgeError('this engine connection cannot attest', 'UNSUPPORTED');
        return this.client.attest(ns, nonce);
      }
      case 'stats':
        return { ...(await this.stats()), engine: this.client.up ? await this.client.query(QUERY_OP.STATS, {}).catch(() => null) : null, up: this.client.up };
      default:
        throw new BridgeError(`unknown control operation "${op}"`, 'BAD_REQUEST');
    }
  }
}

/** One forwarded event waiting for its verdict: an object rather than a promise and two closures. */
class Forwarded implements VerdictSink {
  constructor(
    private readonly bridge: Bridge,
    private readonly fe: FileEvent,
    private readonly enf?: Enforcement,
  ) {}

  verdict(v: Verdict): void {
    this.bridge.settled(this.fe, v, this.enf);
  }

  failed(): void {
    // Why the link went down is the client's to report; here only that no verdict will come counts.
    this.bridge.unsettled(this.fe, this.enf);
  }
}

function optInt(args: { [k: string]: unknown }, key: string): number | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BridgeError(`"${key}" must be a non-negative integer, got ${JSON.stringify(v)}`, 'BAD_ARGUMENT');
  return v;
}

function needInt(args: { [k: string]: unknown }, key: string): number {
  const v = optInt(args, key);
  if (v === undefined) throw new BridgeError(`"${key}" is required`, 'BAD_ARGUMENT');
  return v;
}

function optFail(v: unknown): FailMode | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'closed' || v === 'open' || v === 'auto') return v;
  throw new BridgeError(`"fail" must be closed, open or auto, got ${JSON.stringify(v)}`, 'BAD_ARGUMENT');
}
