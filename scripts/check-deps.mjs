// `npm run check:deps`: the layer and import-circle rules of .dependency-cruiser.cjs.
// First compiles src/ as the package build does, into .build/deps/src, because the emitted
// JavaScript is the one graph without type-only imports: its circles are the ones that run.
// Prints each violation and exits 1 when a rule is broken.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);

// A file deleted from src/ must not linger in the emitted tree.
rmSync(join(root, '.build/deps'), { recursive: true, force: true });
execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json', '--outDir', '.build/deps/src', '--declaration', 'false', '--sourceMap', 'false'], { cwd: root, stdio: 'inherit' });
const cruise = spawnSync(bin('depcruise'), ['src', '.build/deps/src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (cruise.status === null || !cruise.stdout) {
  console.error(cruise.stderr || 'dependency-cruiser produced no result');
  process.exit(1);
}
const { modules, summary } = JSON.parse(cruise.stdout);

// dependency-cruiser passes quietly when it cannot parse a file (no parser found): every source
// file and its emitted twin must have been read, or the check proves nothing.
const sources = readdirSync(join(root, 'src'), { recursive: true }).filter((file) => file.endsWith('.ts')).length;
const read = (prefix) => modules.filter((module) => module.source.startsWith(prefix)).length;
if (read('src/') < sources || read('.build/deps/src/') < sources) {
  console.error(`dependency-cruiser read ${read('src/')} sources and ${read('.build/deps/src/')} emitted files of ${sources}; is @swc/core installed?`);
  process.exit(1);
}

for (const violation of summary.violations) {
  const path = violation.cycle ? [violation.from, ...violation.cycle.map((step) => step.name)].join(' → ') : `${violation.from} → ${violation.to}`;
  console.error(`${violation.rule.name}: ${path}`);
}
console.log(`check:deps: ${summary.violations.length} violation(s) in ${summary.totalCruised} modules and ${summary.totalDependenciesCruised} imports`);
process.exit(summary.violations.length === 0 ? 0 : 1);
