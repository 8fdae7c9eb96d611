// Reaching an engine for `imans bridge --engine SPEC`:
//   local            a Node engine (`imans engine --port`) started as a child on one end of a socat
//                    pty pair, the bridge on the other: the same serial path a board would use;
//   /dev/…           a board (or anything) on a serial device, via serialport;
//   tcp://HOST:PORT  an engine listening on TCP (`imans engine --listen`).
// The transport stays open across engine restarts (a restarted engine resets the link and answers a
// new HELLO), so the bridge's client just sees the link go down and come back up.
import { spawn, ChildProcess } from 'node:child_process';
import { crc32 } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Link, LINE_OFFERS, LineKind } from '../protocol/link.js';
import { Transport } from '../protocol/transport.js';
import { createCborxCodec } from '../protocol/node/cborx.js';
import { createPtyPair, PtyPair } from '../protocol/node/transports/pty.js';
import { openSerial } from '../protocol/node/transports/serial.js';
import { connectTcp } from '../protocol/node/transports/tcp.js';
import { PacedTransport } from '../protocol/node/transports/paced.js';
import { LinkEngineClient } from './engine-client.js';

const IMANS = fileURLToPath(new URL('../bin/imans.mjs', import.meta.url));

export class ConnectError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/** The engine child of `--engine local`. */
export class LocalEngine {
  child: ChildProcess | null = null;
  private stderr = '';

  constructor(
    readonly port: string,
    readonly stateDir: string | undefined,
    private readonly log: (line: string) => void,
    /** What the engine's link offers: stream over a plain pty, uart when the host paces the line like one. */
    readonly line: LineKind = 'stream',
  ) {}

  /** Start (or start again) the engine process on the pty end. */
  start(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    // Its standard input is a pipe from this process: if this process dies, the engine goes too.
    const args = [IMANS, 'engine', '--port', this.port, '--line', this.line, '--exit-with-stdin'];
    if (this.stateDir) args.push('--state', this.stateDir);
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
      for (const line of d.toString().split('\n')) if (line.trim()) this.log(`engine: ${line.trim()}`);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.log(`engine process ${child.pid} exited (${signal ?? code})`);
    });
  }

  /** Stop the engine process (SIGKILL simulates a crash). Resolves once it is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }

  get lastStderr(): string {
    return this.stderr;
  }
}

export interface EngineConnection {
  client: LinkEngineClient;
  /** The link under the client, for its counters. */
  link: Link;
  /** Present for `--engine local`. */
  local?: LocalEngine;
  /** Close the client and the transport, stop a local engine. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  stateDir?: string;
  log?: (line: string) => void;
  /** How long to wait for the engine's HELLO_ACK. Default 15 s (a local engine compiles TypeScript at start). */
  readyTimeoutMs?: number;
  /** Link liveness: keep-alive interval (default 1000 ms; the link is declared down after 3.5 of them). */
  keepaliveMs?: number;
  /** Line speed of a serial device (default 115200; a pty ignores it). */
  baud?: number;
  /** Pace this end's output to `baud`, as a real UART would carry it (benchmarks and the simulator over a pty). */
  pace?: boolean;
}

/** Connect to the engine `spec` names; resolves once the session is up. */
export async function connectEngine(spec: string, opts: ConnectOptions = {}): Promise<EngineConnection> {
  const log = opts.log ?? (() => {});
  let transport: Transport;
  let pty: PtyPair | null = null;
  let local: LocalEngine | undefined;
  // A serial device may be a UART at any speed; a pty paced like one is one.
  let line: LineKind = opts.pace ? 'uart' : 'stream';
  if (spec === 'local') {
    pty = await createPtyPair();
    transport = await openSerial(pty.a, opts.baud);
    local = new LocalEngine(pty.b, opts.stateDir, log, line);
    local.start();
  } else if (spec.startsWith('tcp://')) {
    const m = /^tcp:\/\/(.+):(\d+)$/.exec(spec);
    if (!m) throw new ConnectError(`--engine ${spec}: expected tcp://HOST:PORT`, 'BAD_ENGINE_SPEC');
    transport = await connectTcp(Number(m[2]), m[1]);
  } else if (spec.startsWith('/')) {
    transport = await openSerial(spec, opts.baud);
    line = 'uart';
  } else {
    throw new ConnectError(`--engine ${spec}: expected local, a device path or tcp://HOST:PORT`, 'BAD_ENGINE_SPEC');
  }
  if (opts.pace) transport = new PacedTransport(transport, { baud: opts.baud ?? 115200 });
  const link = new Link(transport, {
    ...LINE_OFFERS[line],
    crc32: (b: Uint8Array) => crc32(b) >>> 0,
    maxMessage: 65536,
    keepaliveMs: opts.keepaliveMs,
  });
  const client = new LinkEngineClient({ link, codec: createCborxCodec() });
  const cleanup = async () => {
    client.close();
    await local?.stop();
    await pty?.close();
  };
  try {
    const ready = client.ready(opts.readyTimeoutMs ?? 15_000);
    const child = local?.child;
    // A local engine that dies at start says why at once, rather than after the HELLO timeout.
    const died = child
      ? new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the engine exited (${code}) before answering`))))
      : null;
    await (died ? Promise.race([ready, died]) : ready);
  } catch (e) {
    const why = local?.lastStderr.trim();
    await cleanup();
    throw new ConnectError(`no answer from the engine (${spec}): ${(e as Error).message}${why ? `; engine said: ${why}` : ''}`, 'ENGINE_UNREACHABLE');
  }
  return { client, link, local, close: cleanup };
}
