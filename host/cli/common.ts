// What the commands that talk to a running bridge share: the --control option and output helpers.
import { Options } from '../../cli/args.js';
import { controlRequest, defaultControlPath } from '../control.js';

export const CONTROL_OPTIONS: Options = {
  control: { type: 'string' },
  json: { type: 'boolean' },
};

export const CONTROL_HELP = `  --control SOCKET   the bridge's control socket (default ${defaultControlPath()})
  --json             print the answer as JSON`;

export function controlPath(values: { [k: string]: unknown }): string {
  return typeof values.control === 'string' ? values.control : defaultControlPath();
}

export function ask(values: { [k: string]: unknown }, op: string, args: { [k: string]: unknown } = {}): Promise<unknown> {
  return controlRequest(controlPath(values), op, args);
}

export function printJson(v: unknown): void {
  process.stdout.write(
    JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x), 2) + '\n',
  );
}
