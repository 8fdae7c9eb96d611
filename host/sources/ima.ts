// The kernel's own IMA measurement list as a source, where the kernel has IMA: the securityfs file
// binary_runtime_measurements is tailed, read incrementally from the end of the last complete entry,
// and each new entry becomes an event for the engine (the host namespace's measurements, as the
// kernel took them; nothing to enforce).
//
// securityfs files report size 0 and send no inotify events, so the file is polled: each round
// reads from the saved offset to EOF (seq_file regenerates up to the offset, which the kernel does
// in one pass over its list) and hands the bytes to `parse`, which says how many bytes of complete
// entries it used and which events they make. A partial entry at the end is read again next round.
//
// The list format parser lives with the engine (coprocessor/core/ima/parse-list.ts), which host/
// must not import; the composition root (cli/) or a test passes it in as `parse`.
import { open } from 'node:fs/promises';
import { Source, SourceSink, SourceEvent } from '../bridge.js';

export const IMA_SECURITYFS_LIST = '/sys/kernel/security/ima/binary_runtime_measurements';

export interface ImaChunk {
  /** Bytes of complete entries used, from the start of the chunk. */
  consumed: number;
  events: SourceEvent[];
  /** A malformed entry (not merely an incomplete one): tailing stops with this message. */
  error?: string;
}

export type ImaListParser = (bytes: Uint8Array, entriesBefore: number) => ImaChunk;

export interface ImaTailOptions {
  path?: string;
  parse: ImaListParser;
  intervalMs?: number;
  /** Skip the entries already in the list at start (only new ones are events). Default false. */
  fromEnd?: boolean;
}

export class ImaTailSource implements Source {
  readonly name = 'ima';
  offset = 0;
  entries = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private readonly path: string;

  constructor(private readonly opts: ImaTailOptions) {
    this.path = opts.path ?? IMA_SECURITYFS_LIST;
  }

  /** Read what was appended since the last call; resolves with the number of new entries. */
  async poll(sink: SourceSink, emit = true): Promise<number> {
    const fh = await open(this.path, 'r');
    const chunks: Buffer[] = [];
    try {
      let pos = this.offset;
      for (;;) {
        const b = Buffer.alloc(1 << 16);
        const { bytesRead } = await fh.read(b, 0, b.length, pos);
        if (bytesRead === 0) break;
        chunks.push(b.subarray(0, bytesRead));
        pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
    if (chunks.length === 0) return 0;
    const bytes = new Uint8Array(Buffer.concat(chunks));
    const r = this.opts.parse(bytes, this.entries);
    if (r.consumed < 0 || r.consumed > bytes.length) throw new Error(`IMA list parser consumed ${r.consumed} of ${bytes.length} bytes`);
    this.offset += r.consumed;
    this.entries += r.events.length;
    if (emit) for (const ev of r.events) sink.event(ev);
    if (r.error) {
      sink.notice('ima', `${this.path}: ${r.error} (at byte ${this.offset}); tailing stopped`);
      this.stopTimer();
    }
    return r.events.length;
  }

  async start(sink: SourceSink): Promise<void> {
    await this.poll(sink, !this.opts.fromEnd);
    this.timer = setInterval(() => {
      this.busy = this.busy.then(() => this.poll(sink).then(() => undefined, (e: Error) => sink.notice('ima', e.message)));
    }, this.opts.intervalMs ?? 1000);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async stop(): Promise<void> {
    this.stopTimer();
    await this.busy;
  }

  async stats(): Promise<{ [name: string]: number }> {
    return { entries: this.entries, offset: this.offset };
  }
}
