// `npm run bench`: runs every `bench:*` script of package.json in turn and prints their figures.
// Each benchmark is its own program so that one can be run alone (`npm run bench:link`).
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
const only = process.argv.slice(2);
const names = Object.keys(pkg.scripts).filter((n) => n.startsWith('bench:') && (only.length === 0 || only.includes(n.slice(6))));
let failed = 0;
for (const name of names) {
  process.stdout.write(`\n== ${name} ==\n`);
  const r = spawnSync('npm', ['run', '--silent', name], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`${name} exited ${r.status}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
