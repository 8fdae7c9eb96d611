// Espruino's memory is a pool of fixed-size variable blocks (13 bytes on a Pico). This estimates
// how many blocks a value graph would take there, from the rules in espruino-serial-cbor.md §1.4:
// an object or array is one block plus one "name" block per property (small integers live inside
// the name block), strings take a block per ~10 characters, a typed array is three blocks of header
// plus its bytes stored flat. It only sees what is reachable through properties, not variables held
// in closures, so it is a lower bound; the real interpreter's process.memory() is the measurement.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function stringBlocks(len: number, blocksize: number): number {
  const perBlock = blocksize - 3;
  return Math.max(1, Math.ceil(len / perBlock));
}

function nameBlocks(name: string, blocksize: number): number {
  const inline = blocksize - 9;
  return name.length <= inline ? 1 : 1 + Math.ceil((name.length - inline) / (blocksize - 3));
}

export function estimateBlocks(root: unknown, blocksize: number): number {
  const seen = new Set<unknown>();
  function value(v: unknown): number {
    if (v === null || v === undefined || typeof v === 'boolean') return 0;
    if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? 0 : 1;
    if (typeof v === 'string') return stringBlocks(v.length, blocksize);
    if (typeof v !== 'object' && typeof v !== 'function') return 1;
    if (seen.has(v)) return 0;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      const buf = v.buffer;
      const shared = seen.has(buf);
      seen.add(buf);
      return 1 + (shared ? 0 : 2 + Math.ceil(v.byteLength / blocksize));
    }
    let n = 1;
    for (const k of Object.keys(v as object)) {
      n += nameBlocks(k, blocksize) + value((v as { [k: string]: unknown })[k]);
    }
    if (typeof v === 'function') {
      const proto = (v as { prototype?: object }).prototype;
      if (proto) for (const k of Object.getOwnPropertyNames(proto)) if (k !== 'constructor') n += nameBlocks(k, blocksize) + value((proto as { [k: string]: unknown })[k]);
    }
    return n;
  }
  return value(root);
}

export interface InterpreterMemory {
  usage: number;
  total: number;
  blocksize: number;
}

/** The Espruino interpreter's Linux build, when one is available: $ESPRUINO_BIN or `espruino` on PATH. */
export function findInterpreter(): string | null {
  const env = process.env.ESPRUINO_BIN;
  if (env && existsSync(env)) return env;
  const which = spawnSync('sh', ['-c', 'command -v espruino'], { encoding: 'utf8' });
  const p = which.stdout.trim();
  return which.status === 0 && p ? p : null;
}

/**
 * Interpreter script lines that store `code` in Storage and run it from there, as a board runs its
 * .bootcde: function code then stays in flash (jsparse.c keeps flash and native strings as code),
 * so process.memory() counts only what the code builds. `before` runs first and its variables
 * are measured as part of the baseline `m0`.
 */
export function runFromFlash(code: string, file = 'fw.js'): string {
  return (
    `require("Storage").write(${JSON.stringify(file)}, ${JSON.stringify(code)});\n` +
    `var m0 = process.memory().usage;\n` +
    `eval(require("Storage").read(${JSON.stringify(file)}));\n`
  );
}

/**
 * Run a script on the real interpreter (in a scratch directory, so its fake flash file is fresh)
 * and return the lines it printed that start with `prefix`.
 */
export function runOnInterpreter(bin: string, script: string, prefix: string, timeoutMs = 60_000): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'imans-espruino-'));
  try {
    writeFileSync(join(dir, 'run.js'), script);
    const r = spawnSync(bin, ['run.js'], { cwd: dir, encoding: 'latin1', timeout: timeoutMs, input: '' });
    const out = (r.stdout ?? '') + (r.stderr ?? '');
    return out
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .map((l) => l.slice(prefix.length).trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
