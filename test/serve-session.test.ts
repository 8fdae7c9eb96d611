// The session layer between the two runners' shared message loop (coprocessor/core/serve.ts) and
// the host's client (host/engine-client.ts), over a real link on an in-memory byte pipe: limits
// negotiated at HELLO, replies kept within the link's message size, requests always answered.
import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { Link } from '../protocol/link.js';
import { createCborxCodec } from '../protocol/node/cborx.js';
import { createPortableCodec } from '../protocol/cbor.js';
import { memoryPair } from '../protocol/node/transports/memory.js';
import { CONTROL_OP, FileEvent, FUNC, MAY, VERDICT } from '../protocol/messages.js';
import { createEngine } from '../coprocessor/core/engine/engine.js';
import { createNodePlatform } from '../coprocessor/node/platform.js';
import { serveEngine } from '../coprocessor/core/serve.js';
import { EngineClientError, LinkEngineClient } from '../host/engine-client.js';
import { proc } from './engine-harness.js';

const crc = (b: Uint8Array) => crc32(b) >>> 0;

function session(engineMaxMessage: number) {
  const [h, e] = memoryPair();
  const platform = createNodePlatform({ limits: { maxMessage: engineMaxMessage } });
  const engineLink = new Link(e, { crc32: crc, maxMessage: engineMaxMessage });
  const served = serveEngine(engineLink, createPortableCodec(), createEngine(platform));
  const hostLink = new Link(h, { crc32: crc, maxMessage: 65536 });
  const client = new LinkEngineClient({ link: hostLink, codec: createCborxCodec(), limits: { internSlots: 64 } });
  return { client, served, close: () => (client.close(), engineLink.close()) };
}

function event(i: number): FileEvent {
  const digest = new Uint8Array(32).fill(i & 255);
  return {
    id: 0, func: FUNC.FILE_CHECK, mask: MAY.READ, flags: 0, proc: proc(0),
    file: { path: `/srv/file-${i}-${'x'.repeat(60)}`, dev: 1, ino: 100 + i, fsmagic: 0xef53, fsname: 'ext4', fsuuid: '', uid: 0, gid: 0, mode: 0o100644, size: 1, digests: [{ algo: 4, digest }], xattr: null },
  };
}

describe('engine session', () => {
  it('sizes the intern table to the smaller HELLO offer and answers every event in order', async () => {
    const s = session(4096);
    try {
      const hello = await s.client.ready(5000);
      expect(hello.profile).toBe('node');
      // 200 distinct files through a 64-slot table: slots are reused, nothing is lost.
      await s.client.control(CONTROL_OP.POLICY_LOAD, { ns: 0, text: 'measure func=FILE_CHECK\n' });
      const verdicts = await Promise.all(Array.from({ length: 200 }, (_, i) => s.client.submit(event(i))));
      expect(verdicts.every((v) => (v.code & VERDICT.MEASURED) !== 0)).toBe(true);
      const ag = (await s.client.control(CONTROL_OP.AGGREGATE, { ns: 0 })) as { count: number };
      expect(ag.count).toBe(201);
    } finally {
      s.close();
    }
  });

  it('splits a verdict batch whose audit records exceed the link message size, losing no verdict', async () => {
    const s = session(1024);
    try {
      await s.client.ready(5000);
      await s.client.control(CONTROL_OP.POLICY_LOAD, { ns: 0, text: 'audit func=FILE_CHECK\n' });
      const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => s.client.submit(event(i))));
      expect(verdicts.length).toBe(40);
      // Every event's INTEGRITY_RULE record arrived, though together they are several KB.
      const audits = verdicts.flatMap((v) => v.audit);
      expect(audits.length).toBe(40);
      expect(audits.join('').length).toBeGreaterThan(4096);
      expect(audits[7]).toContain('file-7-');
    } finally {
      s.close();
    }
  });

  it('answers a request whose reply cannot fit with ERROR CAPACITY instead of silence', async () => {
    const s = session(1024);
    try {
      await s.client.ready(5000);
      // Each request is small; the list of 40 namespaces is not.
      for (let i = 0; i < 40; i++) await s.client.control(CONTROL_OP.NS_CREATE, { mntns: 4026532000 + i });
      const err = await s.client.control(CONTROL_OP.NS_LIST, {}).then(
        () => null,
        (e: EngineClientError) => e,
      );
      expect(err).toBeInstanceOf(EngineClientError);
      expect(err?.code).toBe('ENGINE_8');
      expect(err?.message).toMatch(/exceeds the link message size/);
    } finally {
      s.close();
    }
  });
});
