import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/imans.mjs', import.meta.url));

describe('imans command', () => {
  it('lists every subcommand in --help', () => {
    const out = execFileSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    for (const name of ['sim', 'engine', 'list', 'appraise', 'bridge', 'ns', 'policy']) expect(out).toContain(name);
  });

  it('rejects an unknown command with exit 2 and the usage', () => {
    const r = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});
