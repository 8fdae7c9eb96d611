// The board guard (npm run check:espruino) as part of npm test, and the guard's own teeth: each
// form the Espruino profile marks as failing is rejected, each absent global fails in the sandbox.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGuard } from '../coprocessor/espruino/sandbox/check.js';
import { checkBundle } from '../coprocessor/espruino/sandbox/guard.js';
import { createBoardSandbox } from '../coprocessor/espruino/sandbox/board-sandbox.js';
import { buildBundle, BuildError } from '../coprocessor/espruino/build.js';

function rules(code: string): string[] {
  return checkBundle(code).map((p) => p.rule);
}

describe('espruino guard', () => {
  it('the firmware and every portable module pass the guard and the sandbox checks', async () => {
    const r = await runGuard();
    expect(r.problems).toEqual([]);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.checks.some((c) => c.name.startsWith('vectors frames.json'))).toBe(true);
  });

  it('rejects every syntax form the board cannot run', () => {
    const cases: [string, string][] = [
      ['var o = {}; var {a, b} = o;', 'destructuring'],
      ['var arr = []; var [p, q] = arr;', 'destructuring'],
      ['var x, y; [x, y] = [1, 2];', 'destructuring'],
      ['function f(...r) { return r; }', 'rest'],
      ['var a = []; var b = [...a];', 'spread'],
      ['var o = {}; var p = {...o};', 'spread'],
      ['function f(a, b = 2) { return a + b; }', 'default-param'],
      ['var o = {}; var z = o?.a;', 'optional-chaining'],
      ['var k = "x"; var o = {[k]: 1};', 'computed-key'],
      ['outer: for (;;) { break outer; }', 'label'],
      ['async function f() { await 1; }', 'async'],
      ['function* g() { yield 1; }', 'generator'],
      ['var z = 2 ** 3;', 'exponent'],
      ['class X extends Error {}', 'extends-error'],
      ['function t(s) { return s; } var z = t`x`;', 'tagged-template'],
      ['var n = 1n;', 'bigint'],
      ['var r = /a/u;', 'regexp-flag'],
      ['if (1) { function f() {} }', 'block-function'],
    ];
    for (const [code, rule] of cases) expect({ code, rules: rules(code) }).toEqual({ code, rules: expect.arrayContaining([rule]) });
  });

  it('rejects absent globals, statics, prototype access and use before declaration', () => {
    const cases: [string, string][] = [
      ['var m = new Map();', 'absent-global'],
      ['var s = Symbol("x");', 'absent-global'],
      ['var b = BigInt(1);', 'absent-global'],
      ['var e = new TextEncoder();', 'absent-global'],
      ['var a = Array.from([1]);', 'absent-static'],
      ['var u = Uint8Array.from([1]);', 'absent-static'],
      ['var i = Math.imul(2, 3);', 'absent-static'],
      ['var n = Number.isInteger(2);', 'absent-static'],
      ['var o = Object.freeze({});', 'absent-static'],
      ['var p = Promise.race([]);', 'absent-static'],
      ['var s = Array.prototype.slice.call([]);', 'builtin-prototype'],
      ['function f() {} var r = Function.prototype.apply.call(f, null, []);', 'builtin-prototype'],
      ['var s = "ab".replaceAll("b", "c");', 'absent-method'],
      ['var p = Promise.resolve(1).finally(function () {});', 'absent-method'],
      ['var q = __spreadArray([], []);', 'unknown-global'],
      ['f(); function f() {}', 'use-before-declaration'],
      ['y = 2; var y;', 'use-before-declaration'],
    ];
    for (const [code, rule] of cases) expect({ code, rules: rules(code) }).toEqual({ code, rules: expect.arrayContaining([rule]) });
  });

  it('accepts the ES5 forms the board runs', () => {
    const ok = [
      'function f(a, b) { return a + b; } var x = f(1, 2);',
      'var o = { a: 1, get b() { return 2; } }; var k = Object.keys(o);',
      'var s = [].slice.call([1, 2]); var h = Object.prototype.hasOwnProperty.call({}, "a");',
      'function g() { function h() { return 1; } return h(); }',
      'var P = (function () { function P() { this.x = 1; } P.prototype.m = function () { return this.x; }; return P; }());',
      'var u = new Uint8Array(4); u.set([1], 0); var v = u.subarray(1); var c = E.CRC32(u); var s = require("Storage");',
    ];
    for (const code of ok) expect({ code, rules: rules(code) }).toEqual({ code, rules: [] });
  });

  it('the sandbox lacks what the board lacks and reproduces its quirks', () => {
    const sb = createBoardSandbox();
    try {
      const failing = [
        'new Map()', 'Symbol("x")', 'Array.from([1])', 'Uint8Array.from([1])', 'Math.imul(1, 2)', 'Number.isInteger(1)',
        'Object.freeze({})', 'new TextEncoder()', '"a".codePointAt(0)', 'new Uint8Array(2).lastIndexOf(0)',
        'new Uint8Array(2).slice(0).subarray(1)', '"xab".replaceAll("ab", "a")', 'Promise.resolve(1).finally(function () {})',
        'require("fs")', 'new RangeError("x")',
      ];
      for (const code of failing) expect({ code, threw: (() => { try { sb.run(code); return false; } catch { return true; } })() }).toEqual({ code, threw: true });
      expect(sb.run('Array.isArray(new Uint8Array([1, 2]).slice(0))')).toBe(true);
      expect(sb.run('E.CRC32("123456789").toString(16)')).toBe('cbf43926');
      expect(sb.run('new Uint8Array(require("crypto").SHA256("abc"))[0]')).toBe(0xba);
      // Erased flash reads as 0xFF, so a StorageFile cannot hold that byte.
      expect(() => sb.run('require("Storage").open("log", "a").write("a\\xff")')).toThrow(/255/);
      expect(() => sb.run('require("Storage").open("a_name_longer_than_27_chars_", "a")')).toThrow(/filename/);
      // A StorageFile write must fit the flash chunk it starts.
      expect(() => sb.run('require("Storage").open("big", "a").write(new Array(1500).join("x"))')).toThrow(/Too much data/);
      expect(() => sb.run('var f = require("Storage").open("ok", "a"); for (var i = 0; i < 12; i++) f.write(new Array(257).join("y"));')).not.toThrow();
    } finally {
      sb.dispose();
    }
  });

  it('refuses to put Node-only code into the firmware', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imans-guard-'));
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, "import { readFileSync } from 'node:fs';\n(globalThis as any).X = readFileSync;\n");
    await expect(buildBundle(entry)).rejects.toThrow(BuildError);
    await expect(buildBundle(entry)).rejects.toThrow(/node:fs/);
  });
});
