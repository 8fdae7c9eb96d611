// The engine's journal: every state change (applied CONTROL operations, measurement entries) as
// one record, so that replaying the journal at start rebuilds namespaces, policies, keys,
// references and lists exactly. Records gathered while one message is handled are appended in one
// storage call before the replies leave the engine ("durable before ack").
// Record framing: u32le length, u32le CRC-32 of the body, body = one deterministic CBOR item.
// Replay stops at the first record that is torn or corrupt (a crash mid-append) and cuts the
// journal back to the intact prefix so later appends do not follow garbage.
// Portable (Espruino profile).
import { decodeCbor, encodeCbor } from '../../../protocol/cbor.js';
import { concat, readU32le, writeU32le } from '../../../protocol/bytes.js';
import { Storage } from '../platform.js';

const NAME = 'journal';

export class Journal {
  private pending: Uint8Array[] = [];
  /** Bytes dropped from a torn tail at the last replay (0 when the journal was intact). */
  droppedBytes = 0;

  constructor(
    private readonly storage: Storage,
    private readonly crc32: (b: Uint8Array) => number,
  ) {}

  /** Every intact record, in order. */
  replay(): unknown[] {
    const b = this.storage.read(NAME);
    const out: unknown[] = [];
    if (b === null) return out;
    let at = 0;
    while (at + 8 <= b.length) {
      const len = readU32le(b, at);
      if (len > b.length - at - 8) break;
      const body = b.subarray(at + 8, at + 8 + len);
      if (this.crc32(body) !== readU32le(b, at + 4)) break;
      let rec: unknown;
      try {
        rec = decodeCbor(body);
      } catch (e) {
        break;
      }
      out.push(rec);
      at += 8 + len;
    }
    if (at < b.length) {
      this.droppedBytes = b.length - at;
      this.storage.replace(NAME, b.slice(0, at));
    }
    return out;
  }

  add(record: unknown[]): void {
    const body = encodeCbor(record);
    const head = new Uint8Array(8);
    writeU32le(head, 0, body.length);
    writeU32le(head, 4, this.crc32(body));
    this.pending.push(head, body);
  }

  /** Make the records added since the last flush durable. */
  flush(): void {
    if (this.pending.length === 0) return;
    const data = concat(this.pending);
    this.pending = [];
    this.storage.append(NAME, data);
  }

  /** Forget unflushed records (the change they describe was rolled back). */
  discard(): void {
    this.pending = [];
  }
}
