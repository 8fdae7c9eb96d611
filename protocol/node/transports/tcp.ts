// TCP: the engine listening (on loopback unless an address is given) and the bridge connecting,
// for an engine on another machine or in another process without a serial line.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Transport } from '../../transport.js';

export class SocketTransport implements Transport {
  private dataCb: ((chunk: Uint8Array) => void) | null = null;
  private closeCb: ((err?: Error) => void) | null = null;
  private closed = false;
  private error: Error | undefined;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => {
      if (this.dataCb) this.dataCb(b);
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      if (this.closeCb) this.closeCb(this.error);
    });
  }

  write(bytes: Uint8Array): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(bytes);
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
    this.socket.destroy();
  }
}

export interface TcpServer {
  host: string;
  /** The port listened on (useful when 0 was asked for). */
  port: number;
  /** Set the callback for each accepted connection. */
  onConnection(cb: (t: SocketTransport) => void): void;
  close(): Promise<void>;
}

function tcpError(code: string, message: string): Error {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}

/** Listen on `host:port` (127.0.0.1 unless given; port 0 picks a free one). */
export function listenTcp(port: number, host = '127.0.0.1'): Promise<TcpServer> {
  return new Promise((resolve, reject) => {
    let cb: ((t: SocketTransport) => void) | null = null;
    const sockets = new Set<Socket>();
    const server: Server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      const t = new SocketTransport(s);
      if (cb) cb(t);
      else t.close();
    });
    server.once('error', (err) => reject(tcpError('TCP_LISTEN', `cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        host,
        port: typeof addr === 'object' && addr ? addr.port : port,
        onConnection(f) {
          cb = f;
        },
        close() {
          for (const s of sockets) s.destroy();
          return new Promise((res) => server.close(() => res()));
        },
      });
    });
  });
}

export function connectTcp(port: number, host = '127.0.0.1'): Promise<SocketTransport> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ port, host });
    s.once('connect', () => resolve(new SocketTransport(s)));
    s.once('error', (err) => reject(tcpError('TCP_CONNECT', `cannot connect to ${host}:${port}: ${err.message}`)));
  });
}
