// Argument parsing shared by every subcommand: node:util parseArgs with errors that name the
// option and what was expected, and a --help text each command supplies.
import { parseArgs, ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  readonly code = 'USAGE';
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: string[], options: Options, help: string): { values: { [k: string]: string | boolean | string[] | boolean[] | undefined }; positionals: string[] } | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.trimEnd() + '\n');
    return null;
  }
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as { [k: string]: string | boolean | string[] | boolean[] | undefined }, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message + '\n\n' + help.trimEnd());
  }
}

/** Run a command body, turning UsageError into exit 2 and any other error into exit 1 with its message. */
export async function runCommand(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`imans ${name}: ${err.message}\n`);
      return 2;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`imans ${name}: ${e.message}${e.code ? ` [${e.code}]` : ''}\n`);
    return 1;
  }
}

export function intOption(name: string, value: unknown, dflt: number, min = 0, max = 2 ** 31): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} expects an integer from ${min} to ${max}, got "${String(value)}"`);
  return n;
}
