// Builds the board firmware: one self-contained JavaScript file the Espruino interpreter runs.
// Pipeline (espruino-serial-cbor.md §1.3): esbuild joins the ES module graph into one scope at
// ES2015 (it cannot go lower), TypeScript lowers that file to ES5 without its helpers, our own
// helpers (es5-helpers.js) are prepended, and terser hoists every function and var declaration
// to the top of its scope, because the interpreter hoists neither.
//
// Run: npx tsx coprocessor/espruino/build.ts [--out FILE] [--quiet]
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { minify } from 'terser';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ENTRY = resolve(REPO, 'coprocessor/espruino/main.ts');
export const DEFAULT_OUT = resolve(REPO, 'dist/espruino/imans-engine.js');

/** Source a board bundle may contain: the portable code and the board adapter, nothing Node-only. */
const BOARD_SOURCES = [/^protocol\/[^/]+\.ts$/, /^coprocessor\/core\/.+\.ts$/, /^coprocessor\/espruino\/(platform|runner|main)\.ts$/];

/** Modules built into the Espruino firmware, left as `require(...)` calls. */
const BOARD_MODULES = ['crypto', 'Storage'];

export class BuildError extends Error {
  readonly code = 'BUILD';
}

export interface Bundle {
  /** The minified firmware. */
  code: string;
  /** ES5 before minification (readable, for debugging on the board). */
  readable: string;
  /** Repository-relative paths of the modules it holds. */
  modules: string[];
  helpers: string[];
}

/** esbuild plugin: resolve `./x.js` to `./x.ts` and refuse anything outside BOARD_SOURCES. */
function boardOnly(modules: Set<string>): esbuild.Plugin {
  return {
    name: 'board-only',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        // The board's own modules, resolved by its interpreter at run time.
        if (args.kind === 'require-call' && BOARD_MODULES.indexOf(args.path) >= 0) return { path: args.path, external: true };
        if (!args.path.startsWith('.')) {
          return { errors: [{ text: `${relative(REPO, args.importer)} imports "${args.path}": only relative imports of portable modules can go on the board` }] };
        }
        const abs = resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts'));
        const rel = relative(REPO, abs).split('\\').join('/');
        if (!BOARD_SOURCES.some((re) => re.test(rel))) {
          return { errors: [{ text: `${relative(REPO, args.importer)} imports ${rel}, which is not portable board code` }] };
        }
        modules.add(rel);
        return { path: abs };
      });
    },
  };
}

/** The helper definitions from es5-helpers.js, by name. */
function loadHelpers(): { [name: string]: string } {
  const text = readFileSync(resolve(REPO, 'coprocessor/espruino/es5-helpers.js'), 'utf8');
  const out: { [name: string]: string } = {};
  const parts = text.split(/^\/\/@@ /m).slice(1);
  for (const p of parts) {
    const nl = p.indexOf('\n');
    out[p.slice(0, nl).trim()] = p.slice(nl + 1);
  }
  return out;
}

/** Every portable module (protocol/*.ts, coprocessor/core/**) and the board platform, tests and declarations aside. */
export function portableModules(): string[] {
  const out: string[] = [];
  function walk(dir: string, deep: boolean): void {
    for (const e of readdirSync(resolve(REPO, dir), { withFileTypes: true })) {
      const rel = dir + '/' + e.name;
      if (e.isDirectory()) {
        if (deep) walk(rel, true);
      } else if (/\.ts$/.test(e.name) && !/\.(test|d)\.ts$/.test(e.name)) out.push(rel);
    }
  }
  walk('protocol', false);
  walk('coprocessor/core', true);
  // The board adapter, so the sandbox and the interpreter can run the core on the board's platform.
  out.push('coprocessor/espruino/platform.ts', 'coprocessor/espruino/runner.ts');
  return out.sort();
}

/**
 * A bundle of every portable module, whether or not the firmware uses it yet, published as the
 * global PORTABLE["protocol/frame"] etc.: the guard checks it so the core never drifts from what
 * the board accepts, and runs the vectors against it.
 */
export function buildPortableBundle(): Promise<Bundle> {
  const mods = portableModules();
  const src =
    mods.map((m, i) => `import * as m${i} from './${m.replace(/\.ts$/, '.js')}';`).join('\n') +
    '\nglobalThis.PORTABLE = {' + mods.map((m, i) => `'${m.replace(/\.ts$/, '')}': m${i}`).join(', ') + '};\n';
  return buildBundle({ contents: src, resolveDir: REPO, sourcefile: 'portable-entry.ts', loader: 'ts' });
}

/**
 * Builds are cached under node_modules/.cache, keyed by the content of every module that could go
 * in and of the build itself: terser takes ~10 s on the portable bundle, and several test files need it.
 */
function cacheKey(entry: string | esbuild.StdinOptions): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(entry) + esbuild.version + ts.version);
  const files = [...portableModules(), 'coprocessor/espruino/main.ts', 'coprocessor/espruino/build.ts', 'coprocessor/espruino/es5-helpers.js'];
  if (typeof entry === 'string') files.push(relative(REPO, entry));
  for (const f of files) {
    h.update(f);
    try {
      h.update(readFileSync(resolve(REPO, f)));
    } catch {
      h.update('absent');
    }
  }
  return h.digest('hex').slice(0, 32);
}

export async function buildBundle(entry: string | esbuild.StdinOptions = ENTRY): Promise<Bundle> {
  const dir = resolve(REPO, 'node_modules/.cache/imans-espruino');
  const file = resolve(dir, cacheKey(entry) + '.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Bundle;
  const b = await buildUncached(entry);
  mkdirSync(dir, { recursive: true });
  const tmp = file + '.' + process.pid + '.tmp';
  writeFileSync(tmp, JSON.stringify(b));
  renameSync(tmp, file);
  return b;
}

async function buildUncached(entry: string | esbuild.StdinOptions): Promise<Bundle> {
  const modules = new Set<string>(typeof entry === 'string' ? [relative(REPO, entry)] : []);
  const joined = await esbuild.build({
    ...(typeof entry === 'string' ? { entryPoints: [entry] } : { stdin: entry }),
    bundle: true,
    // cjs leaves the board modules as plain require() calls (iife would add a shim built on Proxy);
    // the output is wrapped in a function below so that nothing but IMANS lands in the global scope.
    format: 'cjs',
    target: 'es2015',
    platform: 'node',
    write: false,
    charset: 'ascii',
    legalComments: 'none',
    logLevel: 'silent',
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
    plugins: [boardOnly(modules)],
  }).catch((err: { errors?: { text: string }[] }) => {
    throw new BuildError('esbuild: ' + (err.errors ? err.errors.map((e) => e.text).join('; ') : String(err)));
  });
  const es2015 = '(function () {\n' + joined.outputFiles[0].text + '\n})();\n';

  const lowered = ts.transpileModule(es2015, {
    fileName: 'imans-engine.js',
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES5,
      module: ts.ModuleKind.CommonJS,
      allowJs: true,
      noEmitHelpers: true,
      removeComments: true,
      // for..of stays an index loop (the core iterates arrays only; tsconfig.portable.json enforces it).
      downlevelIteration: false,
    },
  });
  if (lowered.diagnostics && lowered.diagnostics.length) {
    throw new BuildError('tsc: ' + lowered.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; '));
  }
  const helperDefs = loadHelpers();
  // Names starting with "!" are fixes to the board's built-ins, always included.
  const used = Object.keys(helperDefs).filter((h) => h.charAt(0) === '!' || new RegExp('\\b' + h + '\\b').test(lowered.outputText));
  const readable = used.map((h) => helperDefs[h]).join('') + lowered.outputText;

  const min = await minify(readable, {
    ecma: 5,
    toplevel: false,
    // inline: 1 keeps terser from inlining functions with parameters, which it does by adding a
    // `var` after the return statement: harmless where vars hoist, a global on the board.
    compress: { ecma: 5, hoist_funs: true, hoist_vars: true, passes: 2, inline: 1 },
    mangle: true,
    format: { ascii_only: true, ecma: 5 },
  });
  if (!min.code) throw new BuildError('terser produced no output');
  return { code: min.code, readable, modules: [...modules].sort(), helpers: used };
}

async function main(argv: string[]): Promise<number> {
  const outIdx = argv.indexOf('--out');
  const out = outIdx >= 0 ? resolve(argv[outIdx + 1]) : DEFAULT_OUT;
  const quiet = argv.includes('--quiet');
  const b = await buildBundle();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, b.code);
  writeFileSync(out.replace(/\.js$/, '.es5.js'), b.readable);
  if (!quiet) {
    const { measureAtRest } = await import('./sandbox/at-rest.js');
    const rest = measureAtRest(b.code);
    process.stdout.write(
      `${relative(process.cwd(), out)}: ${b.code.length} bytes minified (${b.readable.length} readable), ` +
        `${b.modules.length} modules, helpers [${b.helpers.join(', ')}]\n` +
        (rest.interpreter
          ? `variables at rest: ${rest.interpreter.usage} blocks, measured on the interpreter run from flash (blocks of ${rest.interpreter.blocksize} bytes there; a Pico has 5,100 of 13)\n`
          : `variables at rest: >= ${rest.sandboxBlocks} blocks (sandbox estimate of what IMANS reaches; closures unseen: set ESPRUINO_BIN for a measurement)\n`),
    );
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`build:espruino: ${err.message}\n`);
      process.exit(1);
    },
  );
}
