// The JSON and diagnostic forms the vector files use: byte strings as {"$bytes": hex} in JSON,
// CBOR diagnostic notation (RFC 8949 §8) for reading. Shared by the generator and the tests.
import { fromHex, toHex } from '../bytes.js';
import { isIntKey } from '../cbor.js';

export function diag(v: unknown): string {
  if (v instanceof Uint8Array) return "h'" + toHex(v) + "'";
  if (Array.isArray(v)) return '[' + v.map(diag).join(', ') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).map((k) => (isIntKey(k) ? k : JSON.stringify(k)) + ': ' + diag((v as Record<string, unknown>)[k])).join(', ') + '}';
  }
  return JSON.stringify(v);
}

export function toJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: toHex(v) };
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = toJson((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

export function fromJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    const o = v as Record<string, unknown>;
    if (keys.length === 1 && keys[0] === '$bytes') return fromHex(o.$bytes as string);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = fromJson(o[k]);
    return out;
  }
  return v;
}
