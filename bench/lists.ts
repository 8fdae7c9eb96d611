// Measurement-list figures: appends/s (ima-ng and ima-sig entries, sha1 + sha256 banks, node:crypto
// hashes), memory per 100,000 entries (goal ≤ 20 MB), export, parse and aggregate replay times.
// Paths are realistic lengths (about 45 bytes, as in the embrave and keylime kernel lists).
import * as nodeCrypto from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ALGO, MeasurementList, bootAggregateInput, hashAlgoName, loadParsedList, parseMeasurementList } from '../coprocessor/core/ima/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
// crypto.hash (Node ≥ 20.12) is the one-shot form: about twice as fast as createHash for short inputs.
const oneShot = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;
const hash = (a: number, d: Uint8Array) => new Uint8Array(oneShot ? oneShot(hashAlgoName(a), d, 'buffer') : nodeCrypto.createHash(hashAlgoName(a)).update(d).digest());
const N = 100_000;

function path(i: number): string {
  return `/usr/lib/x86_64-linux-gnu/libpkg${i % 977}-${i}.so.${i % 10}`;
}

function digests(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(hash(ALGO.SHA256, Buffer.from(path(i))));
  return out;
}

function used(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function build(ds: Uint8Array[], sig: Uint8Array): MeasurementList {
  const l = new MeasurementList({ hash, banks: [ALGO.SHA1, ALGO.SHA256] });
  l.add(bootAggregateInput(hash, 'ima-ng', ALGO.SHA256, null));
  for (let i = 0; i < ds.length; i++) {
    if (i % 10 === 9) l.add({ template: 'ima-sig', digestAlgo: ALGO.SHA256, digest: ds[i], name: path(i), sig });
    else l.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: ds[i], name: path(i) });
  }
  return l;
}

const ds = digests(N);
const sig = new Uint8Array(265);
sig.set([3, 2, 4, 0xf3, 0x45, 0x2d, 0x23, 1, 0]);
build(ds.slice(0, 5000), sig); // warm-up

const before = used();
let t = performance.now();
const list = build(ds, sig);
const addMs = performance.now() - t;
const after = used();

console.log(`entries                     ${list.count} (every 10th ima-sig with a 265-byte RSA signature, else ima-ng)`);
console.log(`appends/s (sha1+sha256)     ${Math.round(N / (addMs / 1000)).toLocaleString('en')}  (${addMs.toFixed(0)} ms for ${N.toLocaleString('en')}; one hash each, the rest is settled on read)`);
t = performance.now();
list.aggregate(ALGO.SHA256);
const settleMs = performance.now() - t;
console.log(`first aggregate() read      ${settleMs.toFixed(0)} ms (settles 100,000 entries: sha256 template digests, sha1+sha256 extends)`);
console.log(`append + settle             ${Math.round(N / ((addMs + settleMs) / 1000)).toLocaleString('en')} entries/s all told`);
console.log(`memory, typed arrays        ${(list.byteSize() / 1e6).toFixed(1)} MB per 100,000 entries (list.byteSize())`);
console.log(`memory, process heap+bufs   ${((after - before) / 1e6).toFixed(1)} MB per 100,000 entries (after gc)`);

let dup = 0;
t = performance.now();
for (let i = 0; i < N; i += 10) if (!list.add({ template: 'ima-ng', digestAlgo: ALGO.SHA256, digest: ds[i], name: path(i) })) dup++;
console.log(`duplicate lookups/s         ${Math.round(dup / ((performance.now() - t) / 1000)).toLocaleString('en')}  (${dup} rejected as hash_exists)`);

t = performance.now();
const bin = list.exportBinary(ALGO.SHA1);
console.log(`export binary (sha1)        ${(performance.now() - t).toFixed(0)} ms, ${(bin.length / 1e6).toFixed(1)} MB`);
t = performance.now();
const asc = list.exportAscii(ALGO.SHA256);
console.log(`export ascii (sha256)       ${(performance.now() - t).toFixed(0)} ms, ${(asc.length / 1e6).toFixed(1)} MB`);
t = performance.now();
for (let from = 0; from < list.count; from += 256) list.exportBinary(ALGO.SHA256, from, 256);
console.log(`export in pages of 256      ${(performance.now() - t).toFixed(0)} ms for the whole list`);

t = performance.now();
const parsed = parseMeasurementList(bin);
const parseMs = performance.now() - t;
t = performance.now();
const replay = loadParsedList(parsed, hash, [ALGO.SHA256]);
const replayed = replay.list.aggregate(ALGO.SHA256);
const replayMs = performance.now() - t;
console.log(`parse binary                ${parseMs.toFixed(0)} ms (${parsed.entries.length} entries)`);
console.log(`aggregate replay (verify sha1 + compute sha256 digests, extend both) ${replayMs.toFixed(0)} ms; matches: ${Buffer.from(replayed).equals(Buffer.from(list.aggregate(ALGO.SHA256)))}`);
t = performance.now();
const pa = parseMeasurementList(asc);
console.log(`parse ascii                 ${(performance.now() - t).toFixed(0)} ms (${pa.entries.length} entries)`);
t = performance.now();
for (let i = 0; i < 1000; i++) list.aggregate(ALGO.SHA256);
console.log(`aggregate() read, settled   ${((performance.now() - t) * 1000 / 1000).toFixed(2)} µs per call`);
