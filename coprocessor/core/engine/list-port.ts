// A namespace's measurement list for the engine: coprocessor/core/ima's MeasurementList with the
// sha1 and sha256 banks (the aggregates quotes carry), opened by a boot_aggregate entry as the
// kernel's list is (ima_add_boot_aggregate). There is no TPM behind a namespace, so that entry's
// digest is all zeros, as the kernel records it when it boots without one ("TPM-bypass").
// Portable (Espruino profile).
import { Platform } from '../platform.js';
import { ALGO } from '../ima/hash-algo.js';
import { bootAggregateInput, MeasurementList } from '../ima/measurement-list.js';
import { FileMeasurement, ListExport, NsList } from './ports.js';
import { codedError } from './args.js';

const BOOT_TEMPLATE = 'ima-ng';
/** ima_hash_algo: the algorithm of boot_aggregate and of violation records' zero digests. */
const IMA_HASH_ALGO = ALGO.SHA256;

export function createList(platform: Platform): NsList {
  const l = new MeasurementList({ hash: platform.hash, banks: [ALGO.SHA1, ALGO.SHA256], pageEntries: platform.profile === 'espruino' ? 32 : 1024 });
  l.add(bootAggregateInput(platform.hash, BOOT_TEMPLATE, IMA_HASH_ALGO, null));
  return {
    addFile: function (m: FileMeasurement): boolean {
      return l.add({ pcr: m.pcr, template: m.template, digestAlgo: m.algo, digest: m.digest, digestSha1: m.sha1, name: m.path, hasFile: true, sig: m.xattr });
    },
    addViolation: function (path: string): void {
      // ima_add_violation records with the default template, whatever the rule's template= says.
      l.add({ template: BOOT_TEMPLATE, digestAlgo: IMA_HASH_ALGO, digest: null, name: path, hasFile: true, violation: true });
    },
    count: function (): number {
      return l.count;
    },
    violations: function (): number {
      return l.violations;
    },
    aggregate: function (algo: number): Uint8Array | null {
      return l.banks.indexOf(algo) >= 0 ? l.aggregate(algo) : null;
    },
    export: function (bank: number, format: string, from: number, max: number, maxBytes: number): ListExport {
      if (l.banks.indexOf(bank) < 0) throw codedError('BAD_ARGUMENT', 'namespace lists keep the sha1 and sha256 banks only');
      const r = l.exportRange(bank, format === 'ascii' ? 'ascii' : 'binary', from, max, maxBytes);
      return { total: l.count, entries: r.entries, data: r.data };
    },
  };
}
