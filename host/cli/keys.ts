// imans keys add: a certificate (DER or PEM) into a namespace keyring on a running bridge.
import { readFileSync } from 'node:fs';
import { parse, runCommand, UsageError, intOption } from '../../cli/args.js';
import { ask, CONTROL_HELP, CONTROL_OPTIONS, printJson } from './common.js';

const HELP = `usage: imans keys add --ns ID CERT

  CERT is an X.509 certificate, DER or PEM, whose key verifies security.ima signatures in that namespace
  (and in the namespaces below it).
${CONTROL_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand('keys', async () => {
    const p = parse(argv, { ...CONTROL_OPTIONS, ns: { type: 'string' } }, HELP);
    if (!p) return 0;
    const v = p.values;
    const [sub, file] = p.positionals;
    if (sub !== 'add') throw new UsageError((sub ? `unknown subcommand "${sub}"` : 'a subcommand is needed') + '\n\n' + HELP);
    if (v.ns === undefined) throw new UsageError('--ns ID is required\n\n' + HELP);
    if (!file) throw new UsageError('keys add needs a CERT file\n\n' + HELP);
    const cert = new Uint8Array(readFileSync(file));
    const r = (await ask(v, 'keys.add', { ns: intOption('ns', v.ns, 0), cert })) as { keyid?: unknown };
    if (v.json) printJson(r);
    else process.stdout.write(`keyid ${r.keyid instanceof Uint8Array ? Buffer.from(r.keyid).toString('hex') : String(r.keyid)}\n`);
    return 0;
  });
}
