// The `imans` command: a table of subcommands, each loaded only when used so that, say,
// `imans list` never pulls in serialport or the fanotify helper.

export interface Command {
  summary: string;
  /** The module, relative to this file, whose `run(argv)` implements the command. */
  module: string;
}

interface CommandModule {
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: { [name: string]: Command } = {
  sim: { summary: 'loopback demo: Node engine and bridge over a pty pair, replaying a trace', module: '../host/cli/sim.js' },
  engine: { summary: 'run the Node engine alone on a serial device, a pty or TCP', module: '../coprocessor/node/cli/engine.js' },
  list: { summary: 'show a kernel measurement list or its PCR 10 aggregate', module: '../coprocessor/node/cli/list.js' },
  appraise: { summary: 'appraise one file (content and security.ima) with given keys', module: '../coprocessor/node/cli/appraise.js' },
  bridge: { summary: 'run the host bridge: fanotify events to the engine, verdicts enforced', module: '../host/cli/bridge.js' },
  ns: { summary: 'create, delete or list namespaces of a running bridge', module: '../host/cli/ns.js' },
  policy: { summary: 'load or show a namespace policy on a running bridge', module: '../host/cli/policy.js' },
  keys: { summary: 'add a certificate to a namespace keyring on a running bridge', module: '../host/cli/keys.js' },
  measurements: { summary: "export a namespace's measurement list from a running bridge", module: '../host/cli/measurements.js' },
  aggregate: { summary: "print a namespace's PCR 10 aggregate from a running bridge", module: '../host/cli/aggregate.js' },
  attest: { summary: "get a signed quote of a namespace's list from a running bridge's engine", module: '../host/cli/attest.js' },
  verify: { summary: 'check a quote with the engine key you trust, and a list against it', module: '../coprocessor/node/cli/verify.js' },
  record: { summary: 'record live fanotify events as a replayable trace', module: '../host/cli/record.js' },
  board: { summary: 'flash or configure an Espruino board running the engine', module: '../coprocessor/espruino/cli/board.js' },
};

function usage(): string {
  const lines = ['usage: imans <command> [options]   (imans <command> --help for its options)', '', 'commands:'];
  for (const name of Object.keys(COMMANDS)) lines.push('  ' + name.padEnd(14) + COMMANDS[name].summary);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`imans: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  let mod;
  try {
    mod = (await import(cmd.module)) as CommandModule;
  } catch (err) {
    process.stderr.write(`imans ${name}: not available in this build (${(err as Error).message})\n`);
    return 2;
  }
  return mod.run(argv.slice(1));
}
