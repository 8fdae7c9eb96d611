// imans policy load|show: a namespace's IMA policy on a running bridge.
import { readFileSync } from 'node:fs';
import { parse, runCommand, UsageError, intOption } from '../../cli/args.js';
import { ask, CONTROL_HELP, CONTROL_OPTIONS, printJson } from './common.js';

const HELP = `usage: imans policy load --ns ID FILE     (FILE "-" reads stdin)
       imans policy show --ns ID

  The policy uses the kernel's grammar (one rule per line, e.g. "appraise fsmagic=0x01021994 fowner=1000").
  A bad policy is refused with the line and token at fault, and the old one stays.
${CONTROL_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand('policy', async () => {
    const p = parse(argv, { ...CONTROL_OPTIONS, ns: { type: 'string' } }, HELP);
    if (!p) return 0;
    const v = p.values;
    const [sub, file] = p.positionals;
    if (v.ns === undefined) throw new UsageError('--ns ID is required\n\n' + HELP);
    const ns = intOption('ns', v.ns, 0);
    if (sub === 'load') {
      if (!file) throw new UsageError('policy load needs a FILE\n\n' + HELP);
      const text = readFileSync(file === '-' ? 0 : file, 'utf8');
      const r = (await ask(v, 'policy.load', { ns, text })) as { rules?: number };
      if (v.json) printJson(r);
      else process.stdout.write(`namespace ${ns}: ${r.rules ?? '?'} rules loaded\n`);
      return 0;
    }
    if (sub === 'show') {
      const r = (await ask(v, 'policy.show', { ns })) as { text: string };
      if (v.json) printJson(r);
      else process.stdout.write(r.text.endsWith('\n') || r.text === '' ? r.text : r.text + '\n');
      return 0;
    }
    throw new UsageError((sub ? `unknown subcommand "${sub}"` : 'a subcommand is needed') + '\n\n' + HELP);
  });
}
