// imans attest: a signed quote of a namespace's measurement list from the engine behind a running
// bridge, bound to a fresh nonce, written as a JSON document that `imans verify` (or any verifier
// holding the engine's public key) checks, together with the list itself.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parse, runCommand, UsageError, intOption } from '../../cli/args.js';
import { ask, CONTROL_HELP, CONTROL_OPTIONS } from './common.js';

const HELP = `usage: imans attest --ns ID [--nonce HEX] [--out FILE]

  Asks the engine for a quote of namespace ID: its entry count, violations and the sha1 and
  sha256 aggregates standing for PCR 10, with the nonce and the engine's clock, signed by the
  engine's key (ECDSA P-256; a board without public-key crypto MACs it with HMAC-SHA256).
  Check it with: imans verify FILE --key ENGINE-KEY --nonce HEX [--list LIST]

  --nonce HEX   the verifier's freshness value, 8 to 64 bytes (default: 32 random bytes)
  --out FILE    write the quote there instead of stdout
${CONTROL_HELP.split('\n')[0]}`;

const hex = (b: unknown) => (b instanceof Uint8Array ? Buffer.from(b).toString('hex') : null);

export function run(argv: string[]): Promise<number> {
  return runCommand('attest', async () => {
    const p = parse(argv, { ...CONTROL_OPTIONS, ns: { type: 'string' }, nonce: { type: 'string' }, out: { type: 'string' } }, HELP);
    if (!p) return 0;
    const v = p.values;
    if (v.ns === undefined) throw new UsageError('--ns ID is required\n\n' + HELP);
    const ns = intOption('ns', v.ns, 0);
    let nonce: Buffer;
    if (v.nonce === undefined) nonce = randomBytes(32);
    else {
      const t = String(v.nonce);
      if (!/^([0-9a-fA-F]{2}){8,64}$/.test(t)) throw new UsageError(`--nonce expects 8 to 64 bytes in hex, got "${t}"`);
      nonce = Buffer.from(t, 'hex');
    }
    const q = (await ask(v, 'attest', { ns, nonce: new Uint8Array(nonce) })) as { claims: Uint8Array; alg: string; sig: Uint8Array; key: Uint8Array | null };
    const doc = { quote: 'imans', version: 1, ns, nonce: nonce.toString('hex'), alg: q.alg, claims: hex(q.claims), sig: hex(q.sig), key: hex(q.key) };
    const text = JSON.stringify(doc, null, 2) + '\n';
    if (typeof v.out === 'string') writeFileSync(v.out, text);
    else process.stdout.write(text);
    return 0;
  });
}
