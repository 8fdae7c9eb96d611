// Checking CONTROL and QUERY arguments (protocol/messages.ts documents them per operation):
// each getter names the argument and what it expected, and fails with BAD_ARGUMENT.
// Portable (Espruino profile).
import { Digest, FileInfo } from '../../../protocol/messages.js';

export interface CodedError extends Error {
  code: string;
}

export function codedError(code: string, text: string): CodedError {
  const e = new Error(text) as CodedError;
  e.code = code;
  return e;
}

export type Args = { [key: string]: unknown };

function isInt(v: unknown): boolean {
  return typeof v === 'number' && v === Math.floor(v) && v >= 0 && v <= 9007199254740991;
}

export function intArg(args: Args, name: string, dflt: number | null): number {
  const v = args[name];
  if (v === undefined || v === null) {
    if (dflt === null) throw codedError('BAD_ARGUMENT', 'missing argument "' + name + '" (a non-negative integer)');
    return dflt;
  }
  if (!isInt(v)) throw codedError('BAD_ARGUMENT', 'argument "' + name + '" must be a non-negative integer, got ' + describe(v));
  return v as number;
}

export function textArg(args: Args, name: string, dflt: string | null): string {
  const v = args[name];
  if (v === undefined || v === null) {
    if (dflt === null) throw codedError('BAD_ARGUMENT', 'missing argument "' + name + '" (text)');
    return dflt;
  }
  if (typeof v !== 'string') throw codedError('BAD_ARGUMENT', 'argument "' + name + '" must be text, got ' + describe(v));
  return v;
}

export function bytesArg(args: Args, name: string): Uint8Array {
  const v = args[name];
  if (!(v instanceof Uint8Array)) throw codedError('BAD_ARGUMENT', 'argument "' + name + '" must be a byte string, got ' + describe(v));
  return v;
}

export function boolArg(args: Args, name: string): boolean {
  const v = args[name];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw codedError('BAD_ARGUMENT', 'argument "' + name + '" must be a boolean, got ' + describe(v));
  return v;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return v.length + ' bytes';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return 'text "' + (v.length > 20 ? v.slice(0, 20) + '…' : v) + '"';
  return typeof v === 'object' ? 'a map' : typeof v + ' ' + String(v);
}

function field(o: Args, name: string, kind: string): unknown {
  const v = o[name];
  const ok = kind === 'int' ? isInt(v) : kind === 'text' ? typeof v === 'string' : v === null || v instanceof Uint8Array;
  if (!ok) throw codedError('BAD_ARGUMENT', 'file.' + name + ' must be ' + (kind === 'int' ? 'a non-negative integer' : kind === 'text' ? 'text' : 'bytes or null') + ', got ' + describe(v));
  return v;
}

/** A FileInfo given as an argument (QUERY), checked field by field. */
export function fileArg(args: Args, name: string): FileInfo {
  const o = args[name];
  if (o === null || typeof o !== 'object' || Array.isArray(o) || o instanceof Uint8Array) throw codedError('BAD_ARGUMENT', 'argument "' + name + '" must be a file map, got ' + describe(o));
  const f = o as Args;
  const ds = f.digests;
  if (!Array.isArray(ds)) throw codedError('BAD_ARGUMENT', 'file.digests must be an array, got ' + describe(ds));
  const digests: Digest[] = [];
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i] as Args;
    const pair = Array.isArray(d) ? { algo: d[0], digest: d[1] } : d;
    if (pair === null || typeof pair !== 'object' || !isInt(pair.algo) || !(pair.digest instanceof Uint8Array)) throw codedError('BAD_ARGUMENT', 'file.digests[' + i + '] must be {algo, digest} or [algo, digest]');
    digests.push({ algo: pair.algo as number, digest: pair.digest as Uint8Array });
  }
  return {
    path: field(f, 'path', 'text') as string,
    dev: field(f, 'dev', 'int') as number,
    ino: field(f, 'ino', 'int') as number,
    fsmagic: f.fsmagic === undefined ? 0 : (field(f, 'fsmagic', 'int') as number),
    fsname: f.fsname === undefined ? '' : (field(f, 'fsname', 'text') as string),
    fsuuid: f.fsuuid === undefined ? '' : (field(f, 'fsuuid', 'text') as string),
    uid: f.uid === undefined ? 0 : (field(f, 'uid', 'int') as number),
    gid: f.gid === undefined ? 0 : (field(f, 'gid', 'int') as number),
    mode: f.mode === undefined ? 0 : (field(f, 'mode', 'int') as number),
    size: f.size === undefined ? 0 : (field(f, 'size', 'int') as number),
    digests: digests,
    xattr: f.xattr === undefined ? null : (field(f, 'xattr', 'bytes') as Uint8Array | null),
  };
}
