// `imans board flash|config`: put the engine firmware on an Espruino board and set how it links.
// Both talk to the board through the `espruino` npm CLI (fetched by npx on first use: it brings
// its own serialport and Bluetooth stacks, which the rest of imans does not need).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { intOption, parse, runCommand, UsageError } from '../../../cli/args.js';
import { CONFIG_FILE, DEFAULT_CONFIG, BoardConfig } from '../runner.js';

/** The EspruinoTools release the commands were written against (npm `espruino`). */
export const ESPRUINO_CLI = 'espruino@0.1.67';
const DEVICES = ['Serial1', 'Serial2', 'Serial3', 'USB', 'Bluetooth'];

const HELP = `usage: imans board flash --port DEV [--baud N] [--file FIRMWARE] [--dry-run]
       imans board config --port DEV [--device NAME] [--link-baud N] [--rx PIN --tx PIN]
                          [--console NAME|none] [--no-autostart] [--delay MS]
                          [--max-namespaces N] [--max-rules N] [--max-entries N] [--intern-slots N]
                          [--print] [--dry-run]

flash   builds dist/espruino/imans-engine.js (npm run build:espruino) unless --file is given, and
        stores it as the board's boot code (.bootcde), so the engine starts at every power-up.
config  writes ${CONFIG_FILE} on the board: the link device (Serial1, USB or Bluetooth), its speed
        and pins, and where the REPL console goes. Defaults: ${JSON.stringify(DEFAULT_CONFIG)}.

--port DEV       the board's upload port (/dev/ttyACM0, a Bluetooth address, tcp://HOST)
--baud N         speed of the upload port (USB ignores it; default 9600)
--cli PATH       an installed espruino CLI instead of npx ${ESPRUINO_CLI}
--dry-run        print the command instead of running it
--print          print the config JSON and do nothing else

Recovery: a board whose link and console are both on its only port (console "none") no longer
answers the uploader; hold its button while plugging it in to boot without the firmware.
Bluetooth: the board's UART inserts XON/XOFF (0x11/0x13) bytes when its input fills; the frames'
CRC rejects a frame they land in and the link resends it, so the link still works, only slower.`;

function espruinoCommand(cli: string | undefined, args: string[]): string[] {
  return cli ? [cli, ...args] : ['npx', '--yes', ESPRUINO_CLI, ...args];
}

function execute(cmd: string[], dryRun: boolean): number {
  if (dryRun) {
    process.stdout.write(cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ') + '\n');
    return 0;
  }
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit' });
  if (r.error) throw new Error(`cannot run ${cmd[0]}: ${r.error.message}`);
  return r.status ?? 1;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function configFromOptions(v: { [k: string]: unknown }): BoardConfig {
  const cfg: BoardConfig = { ...DEFAULT_CONFIG };
  const device = str(v.device);
  if (device !== undefined) {
    if (DEVICES.indexOf(device) < 0) throw new UsageError(`--device expects one of ${DEVICES.join(', ')}, got "${device}"`);
    cfg.device = device;
  }
  cfg.baud = intOption('link-baud', v['link-baud'], cfg.baud, 300, 4_000_000);
  if (str(v.rx)) cfg.rx = str(v.rx);
  if (str(v.tx)) cfg.tx = str(v.tx);
  const cons = str(v.console);
  if (cons !== undefined) {
    if (cons !== 'none' && DEVICES.indexOf(cons) < 0) throw new UsageError(`--console expects none or one of ${DEVICES.join(', ')}, got "${cons}"`);
    cfg.console = cons === 'none' ? null : cons;
  }
  if (cfg.console === cfg.device) throw new UsageError(`--console ${cfg.console} is the link device: the REPL would corrupt the link (use none)`);
  if (v['no-autostart']) cfg.autostart = false;
  cfg.delayMs = intOption('delay', v.delay, cfg.delayMs, 0, 60_000);
  const limits: BoardConfig['limits'] = {};
  const lim: [string, keyof NonNullable<BoardConfig['limits']>][] = [
    ['max-namespaces', 'maxNamespaces'],
    ['max-rules', 'maxRules'],
    ['max-entries', 'maxEntriesInRam'],
    ['intern-slots', 'internSlots'],
  ];
  for (const [opt, key] of lim) if (v[opt] !== undefined) limits[key] = intOption(opt, v[opt], 0, 1, 1 << 20);
  if (Object.keys(limits).length) cfg.limits = limits;
  return cfg;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('board', async () => {
    const sub = argv[0];
    if (sub !== 'flash' && sub !== 'config') {
      if (sub === '--help' || sub === '-h' || sub === undefined) {
        process.stdout.write(HELP + '\n');
        return sub === undefined ? 2 : 0;
      }
      throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
    }
    const p = parse(
      argv.slice(1),
      {
        port: { type: 'string' },
        baud: { type: 'string' },
        file: { type: 'string' },
        cli: { type: 'string' },
        'dry-run': { type: 'boolean' },
        print: { type: 'boolean' },
        device: { type: 'string' },
        'link-baud': { type: 'string' },
        rx: { type: 'string' },
        tx: { type: 'string' },
        console: { type: 'string' },
        'no-autostart': { type: 'boolean' },
        delay: { type: 'string' },
        'max-namespaces': { type: 'string' },
        'max-rules': { type: 'string' },
        'max-entries': { type: 'string' },
        'intern-slots': { type: 'string' },
      },
      HELP,
    );
    if (!p) return 0;
    const v = p.values;
    const dry = !!v['dry-run'];
    if (sub === 'config') {
      const cfg = configFromOptions(v);
      const json = JSON.stringify(cfg);
      if (v.print) {
        process.stdout.write(json + '\n');
        return 0;
      }
      const port = str(v.port);
      if (!port) throw new UsageError('--port is required');
      const expr = `require("Storage").write(${JSON.stringify(CONFIG_FILE)},${JSON.stringify(json)});print("imans config written")`;
      return execute(espruinoCommand(str(v.cli), ['-p', port, '-b', String(intOption('baud', v.baud, 9600, 300, 4_000_000)), '--no-ble', '-e', expr]), dry);
    }
    const port = str(v.port);
    if (!port) throw new UsageError('--port is required');
    let file = str(v.file);
    if (!file) {
      const { buildBundle, DEFAULT_OUT } = await import('../build.js');
      const b = await buildBundle();
      mkdirSync(dirname(DEFAULT_OUT), { recursive: true });
      writeFileSync(DEFAULT_OUT, b.code);
      file = DEFAULT_OUT;
      process.stderr.write(`imans board: built ${file} (${b.code.length} bytes)\n`);
    } else if (!existsSync(file)) throw new UsageError(`--file ${file} does not exist`);
    // `--storage .bootcde:-` stores the uploaded code as the boot code and loads it.
    return execute(espruinoCommand(str(v.cli), ['-p', port, '-b', String(intOption('baud', v.baud, 9600, 300, 4_000_000)), '--no-ble', '--storage', '.bootcde:-', file]), dry);
  });
}
