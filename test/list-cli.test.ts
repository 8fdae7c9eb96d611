// `imans list` run as a user runs it, on the real kernel lists of ../shared/vectors and on
// broken copies of them.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/imans.mjs', import.meta.url));
const VECTORS = fileURLToPath(new URL('../../shared/vectors/', import.meta.url));
const haveVectors = existsSync(VECTORS);
if (!haveVectors) console.warn(`skipping imans list tests on kernel vectors: ${VECTORS} is absent`);

function imans(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'list', ...args], { encoding: 'latin1' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('imans list --help and usage', () => {
  it('prints help with exit 0, and exit 2 for a missing action or a bad bank', () => {
    const h = imans('--help');
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('imans list show FILE');
    expect(h.stdout).toContain('--bank');
    expect(imans().status).toBe(2);
    expect(imans('aggregate', 'x', '--bank', 'md5').status).toBe(2);
  });
});

describe.skipIf(!haveVectors)('imans list on real kernel lists', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'imans-list-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('aggregate: embrave sha1 and sha256, rust-keylime sha1, tpm2-tss invalidated sha1', () => {
    const cases: [string, string, string][] = [
      ['embrave-binary_runtime_measurements', 'sha1', 'f38695bbd9479953543813fb13bb88235440504e'],
      ['embrave-binary_runtime_measurements', 'sha256', '0d204f41041c48fe0d2e1ef0a6c308412c27304a68519d3ce3568a692d3fea83'],
      ['embrave-ascii_runtime_measurements', 'sha256', '0d204f41041c48fe0d2e1ef0a6c308412c27304a68519d3ce3568a692d3fea83'],
      ['rust-keylime-ascii_runtime_measurements', 'sha1', '82231c67a69da98dc5b3aa10f6343d33109225fc'],
      ['tpm2-tss-sml-ima-sig-sha256-invalidated.bin', 'sha1', 'a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d'],
    ];
    for (const [file, bank, value] of cases) {
      const r = imans('aggregate', VECTORS + file, '--bank', bank);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`PCR-10 ${bank}: ${value}\n`);
    }
  });

  it('aggregate --json prints one object with the list facts', () => {
    const r = imans('aggregate', VECTORS + 'tpm2-tss-sml-ima-sig-sha256-invalidated.bin', '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ format: 'binary', listBank: 'sha1', bank: 'sha1', count: 2, violations: 1, pcr: 10, aggregate: 'a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d' });
  });

  it('show: the binary list prints as the kernel printed its ascii twin', () => {
    const r = imans('show', VECTORS + 'embrave-binary_runtime_measurements');
    expect(r.status).toBe(0);
    expect(Buffer.from(r.stdout, 'latin1').equals(readFileSync(VECTORS + 'embrave-ascii_runtime_measurements'))).toBe(true);
  });

  it('show --json --from --max pages through entries', () => {
    const r = imans('show', VECTORS + 'rust-keylime-ascii_runtime_measurements', '--json', '--from', '1', '--max', '2');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.count).toBe(826);
    expect(j.entries).toHaveLength(2);
    expect(j.entries[0]).toMatchObject({ index: 1, pcr: 10, template: 'ima-ng', digest: 'c156ebdcbfcd28fe1060ef4cdec0aab04d3a9b63', fields: ['sha1:19f13b42c2745066347e76454788c0fe083643f3', '/init'] });
  });

  it('a truncated list exits 1 naming the entry number and byte offset', () => {
    const r = imans('aggregate', VECTORS + 'tpm2-tss-sml-ima-sig-sha256.bin');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/entry 10 \(at byte 987\): at byte 991 expected a 20-byte template digest/);
    expect(r.stderr).toContain('[LIST_TRUNCATED]');
    const shown = imans('show', VECTORS + 'tpm2-tss-sml-ima-sig-sha256.bin', '--json');
    expect(shown.status).toBe(1);
    const j = JSON.parse(shown.stdout);
    expect(j.entries).toHaveLength(9);
    expect(j.error).toMatchObject({ code: 'LIST_TRUNCATED', entry: 10, offset: 991 });
  });

  it('a lying length and a tampered template digest exit 1 naming the entry', () => {
    const b = Buffer.from(readFileSync(VECTORS + 'embrave-binary_runtime_measurements'));
    // Entry 1 is 4+20+4+6+4+(4+40)+(4+15) = 101 bytes; entry 2's name length sits at 101 + 24.
    b.writeUInt32LE(0x10000, 101 + 24);
    writeFileSync(join(dir, 'lying'), b);
    const r = imans('show', join(dir, 'lying'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/entry 2 \(at byte 101\): at byte 125 expected a template name length/);
    const t = Buffer.from(readFileSync(VECTORS + 'embrave-binary_runtime_measurements'));
    t[101 + 4] ^= 1;
    writeFileSync(join(dir, 'tampered'), t);
    const m = imans('aggregate', join(dir, 'tampered'), '--json');
    expect(m.status).toBe(1);
    expect(JSON.parse(m.stdout).error).toMatchObject({ code: 'LIST_DIGEST_MISMATCH', entry: 2, offset: 101 });
    // With --no-verify the recorded digest is what gets replayed, as a TPM would have been extended.
    expect(imans('aggregate', join(dir, 'tampered'), '--no-verify').status).toBe(0);
  });
});
