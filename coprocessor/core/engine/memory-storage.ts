// Storage held in RAM: for an engine whose state may vanish with its process (the in-process
// engine of `imans appraise`, tests, benchmarks). Portable (Espruino profile).
import { Storage } from '../platform.js';
import { concat } from '../../../protocol/bytes.js';

export function createMemoryStorage(): Storage {
  const names: string[] = [];
  const chunks: Uint8Array[][] = [];

  function find(name: string): number {
    return names.indexOf(name);
  }

  return {
    append: function (name: string, data: Uint8Array): void {
      let i = find(name);
      if (i < 0) {
        names.push(name);
        chunks.push([]);
        i = names.length - 1;
      }
      chunks[i].push(data.slice(0));
    },
    read: function (name: string): Uint8Array | null {
      const i = find(name);
      if (i < 0) return null;
      if (chunks[i].length > 1) chunks[i] = [concat(chunks[i])];
      return chunks[i].length ? chunks[i][0].slice(0) : new Uint8Array(0);
    },
    replace: function (name: string, data: Uint8Array): void {
      let i = find(name);
      if (i < 0) {
        names.push(name);
        chunks.push([]);
        i = names.length - 1;
      }
      chunks[i] = [data.slice(0)];
    },
    remove: function (name: string): void {
      const i = find(name);
      if (i < 0) return;
      names.splice(i, 1);
      chunks.splice(i, 1);
    },
    list: function (): string[] {
      return names.slice(0).sort();
    },
  };
}
