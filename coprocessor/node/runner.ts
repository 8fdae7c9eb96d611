// The Node engine on a transport: one engine (its namespaces, lists and keys) served over one or
// more links, each with its own session state. `imans engine` and the simulator's local engine
// use this; the board runs the same serveEngine from coprocessor/core.
import { Link, LinkOptions } from '../../protocol/link.js';
import { createPortableCodec } from '../../protocol/cbor.js';
import { Transport } from '../../protocol/transport.js';
import { EngineApi } from '../core/engine.js';
import { serveEngine, Served } from '../core/serve.js';
import { Platform } from '../core/platform.js';

export interface ServedLink {
  link: Link;
  served: Served;
}

/** Serve `engine` on `transport`. The engine decodes with the portable codec, exactly as the board does. */
export function serveOn(transport: Transport, engine: EngineApi, platform: Platform, opts: Partial<LinkOptions> = {}): ServedLink {
  const link = new Link(transport, {
    crc32: platform.crc32,
    maxMessage: Math.min(platform.limits.maxMessage, 65536),
    random32: () => {
      const b = platform.random(4);
      return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    },
    ...opts,
  });
  const served = serveEngine(link, createPortableCodec(), engine);
  return { link, served };
}
