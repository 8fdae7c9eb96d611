// `imans list show|aggregate FILE`: read a kernel measurement list (binary, per-bank binary or
// ascii, detected), verify its template digests, and print its entries in the kernel's ascii form
// or a PCR's aggregate in a bank. Uses the same core code the engine exports its lists with.
import { readFileSync } from 'node:fs';
import { parse, runCommand, UsageError, intOption } from '../../../cli/args.js';
import { toHex } from '../../../protocol/bytes.js';
import { ALGO, bankByName, hashAlgoName, loadParsedList, parseMeasurementList, splitFields } from '../../core/ima/index.js';
import type { ListError, ParsedList } from '../../core/ima/index.js';
import { ByteWriter, writeFieldAscii } from '../../core/ima/ascii.js';
import { nodeHash } from '../hash.js';

const HELP = `usage: imans list show FILE [--bank BANK] [--from N] [--max N] [--json] [--no-verify] [--padded-sha1]
       imans list aggregate FILE [--bank BANK] [--pcr N] [--json] [--no-verify] [--padded-sha1]

Reads an IMA measurement list as the kernel writes it: binary_runtime_measurements (the sha1
file, or a per-bank file such as binary_runtime_measurements_sha256 of kernels >= 6.10, whose
digest width is detected) or ascii_runtime_measurements. The format is detected.

  show        print the entries in the ascii_runtime_measurements form, with BANK's template digests
  aggregate   print the value PCR 10 (or --pcr N) holds after replaying the list in BANK

options:
  --bank BANK   sha1, sha256, sha384 or sha512 (default: the list's own bank). Template digests
                of other banks are computed from the template data (kernels >= 5.8 extend every
                bank with its own hash); violations extend 0xff.
  --pcr N       PCR to aggregate (default 10)
  --from N      first entry to show, from 0 (default 0)
  --max N       number of entries to show (default all)
  --json        print one JSON object on stdout
  --no-verify   do not fail when a recorded template digest does not match its data
  --padded-sha1 replay other banks as kernels before 5.8 did: each extended with the SHA-1
                template digest zero-padded to the bank size

Exit status: 0 on success; 1 when the list is malformed or truncated (the message names the
entry number, from 1, and the byte offset) or a template digest does not verify; 2 on usage errors.`;

function latin1(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1');
}

function fail(file: string, json: boolean, err: ListError | Error & { code?: string }, extra: object): number {
  const le = err as ListError;
  if (json) process.stdout.write(JSON.stringify({ file: file, ...extra, error: { code: le.code, message: le.message, entry: le.entry, offset: le.offset } }) + '\n');
  process.stderr.write(`imans list: ${file}: ${err.message}${le.code ? ` [${le.code}]` : ''}\n`);
  return 1;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('list', async () => {
    const args = parse(
      argv,
      {
        bank: { type: 'string' },
        pcr: { type: 'string' },
        from: { type: 'string' },
        max: { type: 'string' },
        json: { type: 'boolean' },
        'no-verify': { type: 'boolean' },
        'padded-sha1': { type: 'boolean' },
      },
      HELP,
    );
    if (args === null) return 0;
    const [action, file, ...more] = args.positionals;
    if (action !== 'show' && action !== 'aggregate') throw new UsageError(`expected "show" or "aggregate", got ${action === undefined ? 'nothing' : `"${action}"`}\n\n${HELP}`);
    if (file === undefined || more.length > 0) throw new UsageError(`expected one FILE after "${action}"\n\n${HELP}`);
    const json = args.values.json === true;
    let bank = -1;
    if (args.values.bank !== undefined) {
      bank = bankByName(String(args.values.bank));
      if (bank < 0) throw new UsageError(`--bank expects sha1, sha256, sha384 or sha512, got "${String(args.values.bank)}"`);
    }
    const pcr = intOption('pcr', args.values.pcr, 10, 0, 63);
    const from = intOption('from', args.values.from, 0);
    const max = intOption('max', args.values.max, 0x7fffffff);

    const bytes = new Uint8Array(readFileSync(file));
    let parsed: ParsedList;
    try {
      parsed = parseMeasurementList(bytes);
    } catch (err) {
      return fail(file, json, err as ListError, {});
    }
    // An empty ascii list names no bank: take sha1, the legacy file's.
    if (bank < 0) bank = parsed.bank >= 0 ? parsed.bank : ALGO.SHA1;
    const loaded = loadParsedList(parsed, nodeHash, [bank], args.values['padded-sha1'] === true);
    const list = loaded.list;
    const about = { format: parsed.format, listBank: hashAlgoName(parsed.bank), bank: hashAlgoName(bank), count: list.count, violations: list.violations };

    if (action === 'aggregate') {
      if (parsed.error) return fail(file, json, parsed.error, about);
    }
    if (loaded.mismatches.length > 0 && args.values['no-verify'] !== true) {
      const i = loaded.mismatches[0];
      const e = parsed.entries[i];
      const err = Object.assign(new Error(`entry ${i + 1} (at byte ${e.offset}): recorded template digest ${toHex(e.digest)} does not match its template data (${loaded.mismatches.length} entries do not verify)`), {
        code: 'LIST_DIGEST_MISMATCH',
        entry: i + 1,
        offset: e.offset,
      });
      return fail(file, json, err, about);
    }

    if (action === 'aggregate') {
      const value = toHex(list.aggregate(bank, pcr));
      if (json) process.stdout.write(JSON.stringify({ file: file, ...about, pcrs: list.pcrs(), pcr: pcr, aggregate: value }) + '\n');
      else process.stdout.write(`PCR-${String(pcr).padStart(2, '0')} ${hashAlgoName(bank)}: ${value}\n`);
      return 0;
    }

    const stop = Math.min(list.count, from + max);
    if (json) {
      const entries: object[] = [];
      for (let i = from; i < stop; i++) {
        const e = list.entry(i);
        const fields = splitFields(e.data, e.template.fields.length) ?? [];
        const text = fields.map((f, k) => {
          const w = new ByteWriter(64);
          writeFieldAscii(w, e.template.fields[k], f);
          return latin1(w.result());
        });
        entries.push({ index: i, offset: parsed.entries[i].offset, pcr: e.pcr, digest: toHex(list.templateDigest(i, bank)), template: e.templateName, fields: text, violation: e.violation });
      }
      const out: { [k: string]: unknown } = { file: file, ...about, from: from, entries: entries };
      if (parsed.error) out.error = { code: parsed.error.code, message: parsed.error.message, entry: parsed.error.entry, offset: parsed.error.offset };
      process.stdout.write(JSON.stringify(out) + '\n');
    } else if (stop > from) {
      process.stdout.write(list.exportAscii(bank, from, stop - from));
    }
    if (parsed.error) {
      process.stderr.write(`imans list: ${file}: ${parsed.error.message} [${parsed.error.code}]\n`);
      return 1;
    }
    return 0;
  });
}
