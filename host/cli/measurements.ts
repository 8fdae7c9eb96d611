// imans measurements: a namespace's measurement list from a running bridge, in the kernel's binary
// (binary_runtime_measurements) or ascii form, fetched page by page.
import { parse, runCommand, UsageError, intOption } from '../../cli/args.js';
import { ask, CONTROL_HELP, CONTROL_OPTIONS } from './common.js';

const HELP = `usage: imans measurements --ns ID [--format ascii|binary] [--bank sha1|sha256|…] [--from N]

  Writes the list to stdout, as the kernel's securityfs files would show it (default ascii, bank sha1
  as ascii_runtime_measurements shows it).
${CONTROL_HELP.split('\n')[0]}`;

export function run(argv: string[]): Promise<number> {
  return runCommand('measurements', async () => {
    const p = parse(argv, { ...CONTROL_OPTIONS, ns: { type: 'string' }, format: { type: 'string' }, bank: { type: 'string' }, from: { type: 'string' } }, HELP);
    if (!p) return 0;
    const v = p.values;
    if (v.ns === undefined) throw new UsageError('--ns ID is required\n\n' + HELP);
    const format = (v.format as string | undefined) ?? 'ascii';
    if (format !== 'ascii' && format !== 'binary') throw new UsageError(`--format expects ascii or binary, got "${format}"`);
    if (format === 'binary' && process.stdout.isTTY) throw new UsageError('--format binary writes bytes: redirect it to a file');
    const ns = intOption('ns', v.ns, 0);
    let from = intOption('from', v.from, 0);
    for (;;) {
      const r = (await ask(v, 'measurements', { ns, bank: (v.bank as string | undefined) ?? 'sha1', format, from, max: 512 })) as { total: number; entries: number; data: Uint8Array };
      if (r.data?.length) await new Promise<void>((resolve) => process.stdout.write(r.data, () => resolve()));
      from += r.entries;
      if (r.entries === 0 || from >= r.total) return 0;
    }
  });
}
