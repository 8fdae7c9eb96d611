// Serve an engine over a link: the message loop both runners share (the Node process in
// coprocessor/node and the board in coprocessor/espruino). Bytes from the link are decoded with
// the intern table the HELLO sized, handed to the engine, and its replies encoded back in order.
// Portable (Espruino profile).
import { Codec, isProtocolError } from '../../protocol/cbor.js';
import { Link } from '../../protocol/link.js';
import { ERR, Hello, Message, MSG, Verdict, VERDICT, VerdictBatch } from '../../protocol/messages.js';
import { WireDecoder, WireEncoder } from '../../protocol/wire.js';
import { EngineApi } from './engine.js';

export interface ServeCounters {
  messages: number;
  replies: number;
  /** Messages that failed to decode or validate, answered with ERROR. */
  rejected: number;
  /** Ignorable extension messages dropped. */
  ignored: number;
}

export interface Served {
  counters: ServeCounters;
  /** Decode and answer one message (what the link's onMessage does); exposed for tests and the board sandbox. */
  receive(bytes: Uint8Array): void;
}

/**
 * The per-namespace detail of a verdict travels only when it says more than the code: a denial,
 * or audit records to log. An allowed verdict's code already tells whether anything was measured
 * and whether the file was appraised (and so passed everywhere): dropping the rest keeps the
 * common verdict to one byte on the wire (SPEC.md §3.4). QUERY APPRAISE returns the full detail.
 */
function compact(b: VerdictBatch): VerdictBatch {
  const out: Verdict[] = [];
  for (let i = 0; i < b.verdicts.length; i++) {
    const v = b.verdicts[i];
    const notable = (v.code & VERDICT.DENY) !== 0 || v.audit.length > 0;
    out.push(notable || v.statuses.length === 0 ? v : { id: v.id, code: v.code, statuses: [], audit: v.audit });
  }
  return { type: MSG.VERDICT, verdicts: out };
}

/** Wire the engine to the link. The intern table stays empty (every reference fails) until a HELLO sizes it. */
export function serveEngine(link: Link, codec: Codec, engine: EngineApi): Served {
  const decoder = new WireDecoder(codec, 0);
  const encoder = new WireEncoder(codec, 0);
  const counters: ServeCounters = { messages: 0, replies: 0, rejected: 0, ignored: 0 };

  /**
   * Send one reply within the link's message size: a VERDICT batch too large (many audit records)
   * goes as several smaller batches; any other reply too large becomes an ERROR CAPACITY for its
   * request, so no waiter on the host is left without an answer.
   */
  function reply(m: Message): void {
    const bytes = encoder.encode(m.type === MSG.VERDICT ? compact(m) : m);
    if (bytes.length <= link.params.maxMessage) {
      counters.replies++;
      link.send(bytes);
      return;
    }
    if (m.type === MSG.VERDICT && m.verdicts.length > 1) {
      const half = m.verdicts.length >> 1;
      reply({ type: MSG.VERDICT, verdicts: m.verdicts.slice(0, half) });
      reply({ type: MSG.VERDICT, verdicts: m.verdicts.slice(half) });
      return;
    }
    if (m.type === MSG.VERDICT && m.verdicts.length === 1 && m.verdicts[0].audit.length > 0) {
      // One verdict whose audit records alone exceed a message: the verdict matters more.
      const v = m.verdicts[0];
      reply({ type: MSG.VERDICT, verdicts: [{ id: v.id, code: v.code, statuses: v.statuses, audit: [] }] });
      return;
    }
    const req = m.type === MSG.RESULT || m.type === MSG.ERROR ? m.req : -1;
    reply({ type: MSG.ERROR, req: req, code: ERR.CAPACITY, text: 'reply of ' + bytes.length + ' bytes exceeds the link message size ' + link.params.maxMessage });
  }

  function receive(bytes: Uint8Array): void {
    counters.messages++;
    let msg: Message | null;
    try {
      msg = decoder.decode(bytes);
    } catch (e) {
      counters.rejected++;
      const pe = isProtocolError(e) ? e : null;
      // A request whose arguments failed validation still gets its answer, so its waiter settles.
      const req = pe !== null && typeof pe.req === 'number' ? pe.req : -1;
      reply({ type: MSG.ERROR, req: req, code: pe !== null ? pe.err : ERR.MALFORMED, text: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (msg === null) {
      counters.ignored++;
      return;
    }
    const out = engine.handle(msg);
    for (let i = 0; i < out.length; i++) {
      const r = out[i];
      if (r.type === MSG.HELLO_ACK && msg.type === MSG.HELLO) {
        // Both ends size the table to the smaller offer; the HELLO_ACK itself carries no references.
        const slots = Math.min((msg as Hello).limits.internSlots, (r as Hello).limits.internSlots);
        decoder.reset(slots);
        encoder.reset(slots);
      }
      reply(r);
    }
  }

  link.onMessage(receive);
  link.onReset(function () {
    decoder.reset(0);
    encoder.reset(0);
  });
  return { counters: counters, receive: receive };
}
