// The IMA modules as the board runs them: bundled by the Espruino build (ES5, terser), loaded in
// the board sandbox (no Map/Set/TextEncoder…, Espruino's crypto.SHA1/SHA256), they must give the
// same bytes as on Node for the same measurements, and read a real kernel list the same way.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { buildBundle } from '../../espruino/build.js';
import { loadInSandbox } from '../../espruino/sandbox/check.js';
import { toHex } from '../../../protocol/bytes.js';
import * as IMA from './index.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/', import.meta.url));

// One scenario, run as source text in the sandbox and as a function on Node.
const SCENARIO = `function scenario(IMA, h, bytes) {
  var l = new IMA.MeasurementList({ hash: h, pageEntries: 16 });
  l.add(IMA.bootAggregateInput(h, 'ima-ng', 4, null));
  for (var i = 0; i < 40; i++) {
    l.add({ template: i % 3 ? 'ima-ng' : 'ima-sig', digestAlgo: 4, digest: h(4, bytes('content ' + i)), name: '/usr/bin/tool ' + i,
      sig: i % 3 ? null : new Uint8Array([3, 2, 4, 1, 2, 3, 4, 0, 2, i, 9]), violation: i === 7 });
  }
  var dup = l.add({ template: 'ima-ng', digestAlgo: 4, digest: h(4, bytes('content 1')), name: '/usr/bin/tool 1' });
  var parsed = IMA.parseMeasurementList(l.exportBinary(2));
  var x = IMA.parseImaXattr(new Uint8Array([3, 2, 4, 0xf3, 0x45, 0x2d, 0x23, 0, 1, 7]));
  return { count: l.count, violations: l.violations, dup: dup, bin: l.exportBinary(2), asc: l.exportAscii(4), page: l.exportBinary(4, 17, 5),
    agg1: l.aggregate(2), agg256: l.aggregate(4), parsed: parsed.entries.length, parseError: parsed.error, xattr: x.kind + ' ' + x.keyid + ' ' + x.algo };
}`;

type Result = { count: number; violations: number; dup: boolean; bin: Uint8Array; asc: Uint8Array; page: Uint8Array; agg1: Uint8Array; agg256: Uint8Array; parsed: number; parseError: unknown; xattr: string };

function summary(r: Result) {
  return { count: r.count, violations: r.violations, dup: r.dup, bin: toHex(r.bin), asc: toHex(r.asc), page: toHex(r.page), agg1: toHex(r.agg1), agg256: toHex(r.agg256), parsed: r.parsed, parseError: r.parseError, xattr: r.xattr };
}

describe('IMA modules on the board sandbox', () => {
  it('build, measure, export, parse: the same bytes as on Node', async () => {
    const b = await buildBundle({ contents: "import * as ima from './coprocessor/core/ima/index.js';\nglobalThis.IMA = ima;\n", resolveDir: REPO, sourcefile: 'ima-entry.ts', loader: 'ts' });
    const sb = loadInSandbox(b.code);
    const onBoard = sb.run(`${SCENARIO}
      var C = require('crypto');
      function h(a, d) { var r = a === 2 ? C.SHA1(d) : a === 4 ? C.SHA256(d) : null; return r === null ? null : new Uint8Array(r); }
      scenario(IMA, h, function (s) { return E.toUint8Array(s); });`) as Result;
    const nodeHash = (a: number, d: Uint8Array) => (a === 2 || a === 4 ? new Uint8Array(createHash(a === 2 ? 'sha1' : 'sha256').update(d).digest()) : null);
    const run = new Function(SCENARIO + '\nreturn scenario;')() as (i: typeof IMA, h: typeof nodeHash, bytes: (s: string) => Uint8Array) => Result;
    const onNode = run(IMA, nodeHash, (s) => new Uint8Array(Buffer.from(s, 'latin1')));
    expect(onNode.count).toBe(41);
    expect(onNode.dup).toBe(false);
    expect(summary(onBoard)).toEqual(summary(onNode));

    if (!existsSync(VECTORS)) {
      console.warn(`skipping the kernel list on the board sandbox: ${VECTORS} is absent`);
      return;
    }
    const b64 = readFileSync(VECTORS + 'tpm2-tss-sml-ima-sig-sha256.bin').toString('base64');
    const r = sb.run(`var p = IMA.parseMeasurementList(E.toUint8Array(atob(${JSON.stringify(b64)})));
      [p.entries.length, p.error.code, p.error.entry, p.error.offset].join(' ');`);
    expect(r).toBe('9 LIST_TRUNCATED 10 991');
  });
});
