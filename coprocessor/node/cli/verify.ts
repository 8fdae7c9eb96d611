// imans verify: a remote verifier's check of an engine quote (`imans attest`): the signature with
// the engine key the verifier already trusts (never the key the quote carries), the nonce it
// sent, and, given the namespace's measurement list, that replaying the list gives exactly the
// quoted entry count, violations and sha1 and sha256 aggregates.
import { readFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { parse, runCommand, UsageError, intOption } from '../../../cli/args.js';
import { toHex } from '../../../protocol/bytes.js';
import { ALGO, loadParsedList, parseMeasurementList } from '../../core/ima/index.js';
import type { QuoteClaims } from '../../core/engine/quote.js';
import { verifyQuote } from '../quote-verify.js';
import { nodeHash } from '../hash.js';

const HELP = `usage: imans verify QUOTE (--key FILE | --hmac-key FILE) [--nonce HEX] [--ns ID] [--list FILE] [--json]

  Checks a quote written by imans attest.

  --key FILE       the engine's quote key you trust: its public key (PEM or DER SubjectPublicKeyInfo),
                   or the private key PEM in the engine's --state directory (engine-key.pem)
  --hmac-key FILE  a board's quote MAC key (32 raw bytes), for quotes MACed with hmac-sha256
  --nonce HEX      the nonce you sent; without it, the quote's freshness is not checked
  --ns ID          the namespace you asked about (the signed claims must name it)
  --list FILE      the namespace's measurement list (imans measurements --format binary or ascii):
                   its replay must give the quoted count, violations and both aggregates
  --json           print the verified claims as JSON

Exit status: 0 when everything given checks out; 1 when something does not (the message says
what); 2 on usage errors.`;

export class VerifyError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

function readInput(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`${what} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function trustedKey(file: string): Uint8Array {
  const raw = readInput(file, '--key');
  let key: KeyObject;
  try {
    const text = raw.toString('latin1');
    if (text.includes('PRIVATE KEY-----')) key = createPublicKey(createPrivateKey(raw));
    else if (text.includes('-----BEGIN')) key = createPublicKey(raw);
    else key = createPublicKey({ key: raw, format: 'der', type: 'spki' });
  } catch (e) {
    throw new UsageError(`--key ${file}: not a PEM or DER key (${(e as Error).message})`);
  }
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }));
}

function hexField(doc: { [k: string]: unknown }, name: string, file: string): Uint8Array {
  const v = doc[name];
  if (typeof v !== 'string' || !/^([0-9a-f]{2})*$/i.test(v)) throw new VerifyError(`${file}: "${name}" must be hex`, 'QUOTE_FORMAT');
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/** Replay `listFile` and compare it with the claims; returns what was compared. */
function checkList(listFile: string, claims: QuoteClaims): { count: number; violations: number } {
  const parsed = parseMeasurementList(new Uint8Array(readInput(listFile, '--list')));
  if (parsed.error) throw new VerifyError(`${listFile}: ${parsed.error.message}`, 'LIST_MALFORMED');
  const loaded = loadParsedList(parsed, nodeHash, [ALGO.SHA1, ALGO.SHA256]);
  if (loaded.mismatches.length) throw new VerifyError(`${listFile}: entry ${loaded.mismatches[0] + 1}: template digest does not match its data`, 'LIST_DIGEST_MISMATCH');
  const list = loaded.list;
  const differ = (what: string, listed: string, quoted: string) =>
    new VerifyError(`${listFile} does not match the quote: ${what} ${listed} in the list, ${quoted} quoted`, 'LIST_MISMATCH');
  if (list.count !== claims.count) throw differ('entry count', String(list.count), String(claims.count));
  if (list.violations !== claims.violations) throw differ('violations', String(list.violations), String(claims.violations));
  const sha1 = toHex(list.aggregate(ALGO.SHA1, 10));
  if (sha1 !== toHex(claims.sha1)) throw differ('sha1 aggregate', sha1, toHex(claims.sha1));
  const sha256 = toHex(list.aggregate(ALGO.SHA256, 10));
  if (sha256 !== toHex(claims.sha256)) throw differ('sha256 aggregate', sha256, toHex(claims.sha256));
  return { count: list.count, violations: list.violations };
}

export function run(argv: string[]): Promise<number> {
  return runCommand('verify', async () => {
    const p = parse(argv, { key: { type: 'string' }, 'hmac-key': { type: 'string' }, nonce: { type: 'string' }, ns: { type: 'string' }, list: { type: 'string' }, json: { type: 'boolean' } }, HELP);
    if (!p) return 0;
    const v = p.values;
    const [file, ...more] = p.positionals;
    if (file === undefined || more.length) throw new UsageError('expected one QUOTE file\n\n' + HELP);
    if ((v.key === undefined) === (v['hmac-key'] === undefined)) throw new UsageError('give the key you trust: exactly one of --key FILE or --hmac-key FILE (a quote is never checked with the key it carries)');
    let nonce: Uint8Array | undefined;
    if (v.nonce !== undefined) {
      if (!/^([0-9a-fA-F]{2})+$/.test(String(v.nonce))) throw new UsageError(`--nonce expects hex, got "${String(v.nonce)}"`);
      nonce = new Uint8Array(Buffer.from(String(v.nonce), 'hex'));
    }
    const trust = {
      publicKey: typeof v.key === 'string' ? trustedKey(v.key) : undefined,
      hmacKey: typeof v['hmac-key'] === 'string' ? new Uint8Array(readInput(v['hmac-key'], '--hmac-key')) : undefined,
      nonce,
    };
    try {
      const text = readInput(file, 'quote').toString('utf8');
      let doc: { [k: string]: unknown };
      try {
        doc = JSON.parse(text) as { [k: string]: unknown };
      } catch (e) {
        throw new VerifyError(`${file}: not a quote document (${(e as Error).message})`, 'QUOTE_FORMAT');
      }
      if (!doc || doc.quote !== 'imans' || typeof doc.alg !== 'string') throw new VerifyError(`${file}: not an imans quote document`, 'QUOTE_FORMAT');
      const claims = verifyQuote({ claims: hexField(doc, 'claims', file), sig: hexField(doc, 'sig', file), alg: doc.alg }, trust);
      const wantNs = v.ns !== undefined ? intOption('ns', v.ns, 0) : typeof doc.ns === 'number' ? doc.ns : claims.ns;
      if (claims.ns !== wantNs) throw new VerifyError(`the signed claims are for namespace ${claims.ns}, not ${wantNs}`, 'QUOTE_NAMESPACE');
      const listed = typeof v.list === 'string' ? checkList(v.list, claims) : null;
      if (v.json) {
        process.stdout.write(
          JSON.stringify({ ok: true, ns: claims.ns, count: claims.count, violations: claims.violations, sha1: toHex(claims.sha1), sha256: toHex(claims.sha256), nonce: toHex(claims.nonce), time: claims.time, deleted: claims.deleted, nonceChecked: !!nonce, listChecked: !!listed }) + '\n',
        );
      } else {
        process.stdout.write(
          `quote OK (${doc.alg}): namespace ${claims.ns}${claims.deleted ? ' (deleted)' : ''}, ${claims.count} entries, ${claims.violations} violations, at ${new Date(claims.time).toISOString()}\n` +
            `  sha1   ${toHex(claims.sha1)}\n  sha256 ${toHex(claims.sha256)}\n` +
            `  nonce ${nonce ? 'matches' : 'NOT CHECKED (no --nonce)'}; list ${listed ? `${v.list} replays to these values` : 'not checked (no --list)'}\n`,
        );
      }
      return 0;
    } catch (e) {
      const err = e as Error & { code?: string };
      if (!(e instanceof VerifyError) && err.code !== 'QUOTE_INVALID') throw e;
      process.stderr.write(`imans verify: ${err.message} [${err.code}]\n`);
      return 1;
    }
  });
}
