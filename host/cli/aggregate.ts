// imans aggregate: a namespace's PCR 10 aggregate (the value a TPM's PCR 10 would hold) from a running bridge.
import { parse, runCommand, UsageError, intOption } from '../../cli/args.js';
import { ask, CONTROL_HELP, CONTROL_OPTIONS, printJson } from './common.js';

const HELP = `usage: imans aggregate --ns ID [--json]
${CONTROL_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand('aggregate', async () => {
    const p = parse(argv, { ...CONTROL_OPTIONS, ns: { type: 'string' } }, HELP);
    if (!p) return 0;
    const v = p.values;
    if (v.ns === undefined) throw new UsageError('--ns ID is required\n\n' + HELP);
    const r = (await ask(v, 'aggregate', { ns: intOption('ns', v.ns, 0) })) as { count: number; violations: number; sha1: Uint8Array; sha256: Uint8Array };
    if (v.json) {
      printJson(r);
      return 0;
    }
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    process.stdout.write(`entries ${r.count}\nviolations ${r.violations}\nsha1 ${hex(r.sha1)}\nsha256 ${hex(r.sha256)}\n`);
    return 0;
  });
}
