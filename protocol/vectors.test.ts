// Both codecs run every message vector (protocol/vectors/messages.json) through the wire decoder,
// in order, with the intern table state each sequence builds; the encoder must reproduce the
// bytes of every step marked `encode`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { Codec, createPortableCodec, isProtocolError } from './cbor.js';
import { Message } from './messages.js';
import { createCborxCodec } from './node/cborx.js';
import { diag, fromJson, toJson } from './vectors/json.js';
import { WireDecoder, WireEncoder } from './wire.js';

interface Step {
  note?: string;
  reset?: number;
  hex?: string;
  diag?: string;
  message?: unknown;
  encode?: boolean;
  error?: { code: string; err: number; field?: string; offset?: number; req?: number };
}
interface Vector {
  name: string;
  slots: number;
  steps: Step[];
}

const file = JSON.parse(readFileSync(new URL('./vectors/messages.json', import.meta.url), 'utf8')) as { vectors: Vector[] };
const codecs: [string, Codec][] = [
  ['portable', createPortableCodec()],
  ['cbor-x', createCborxCodec()],
];

describe.each(codecs)('%s', (_name, codec) => {
  it.each(file.vectors.map((v) => [v.name, v] as [string, Vector]))('%s', (_n, v) => {
    const dec = new WireDecoder(codec, v.slots);
    const enc = new WireEncoder(codec, v.slots);
    v.steps.forEach((s, i) => {
      const where = `${v.name} step ${i}`;
      if (s.reset !== undefined) {
        dec.reset(s.reset);
        enc.reset(s.reset);
        return;
      }
      const bytes = fromHex(s.hex as string) as Uint8Array;
      if (s.diag !== undefined) expect([where, diag(codec.decode(bytes))]).toEqual([where, s.diag]);
      if (s.error) {
        let got: unknown = 'no error';
        try {
          dec.decode(bytes);
        } catch (e) {
          if (!isProtocolError(e)) throw e;
          got = { code: e.code, err: e.err, field: e.field, offset: e.offset >= 0 ? e.offset : undefined, req: e.req };
        }
        expect([where, got]).toEqual([where, { field: undefined, offset: undefined, req: undefined, ...s.error }]);
        return;
      }
      expect([where, toJson(dec.decode(bytes))]).toEqual([where, s.message]);
      if (s.encode) expect([where, toHex(enc.encode(fromJson(s.message) as Message))]).toEqual([where, s.hex]);
    });
  });
});

describe('the vector file', () => {
  it('covers every message type, valid and invalid', () => {
    const types = new Set<number>();
    let errors = 0;
    for (const v of file.vectors) {
      for (const s of v.steps) {
        if (s.message && typeof s.message === 'object') types.add((s.message as { type: number }).type);
        if (s.error) errors++;
      }
    }
    expect([...types].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(errors).toBeGreaterThan(25);
  });
});
