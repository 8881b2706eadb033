import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConnectionConfig } from '../../src/index.js';
import { tableMigration, writeMigrations } from './migration-files.js';

const root = resolve(import.meta.dirname, '../..');
// The command runs from its sources through tsx, the way it loads users' TypeScript: no build
// step, and what is tested is the code in src/ (cli-entry.cjs says why as CommonJS).
// test/package.test.ts runs the built bin.
const COMMAND = [join(root, 'test/support/cli-entry.cjs')];

/** What one run of the command printed, and its exit code. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `polyrecord ...args` in `cwd` and waits for it. */
export function polyrecord(cwd: string, ...args: string[]): CliResult {
  const result = spawnSync(process.execPath, [...COMMAND, ...args], { cwd, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts `polyrecord ...args` in `cwd` without waiting (to signal it). */
export function startPolyrecord(cwd: string, ...args: string[]) {
  return spawn(process.execPath, [...COMMAND, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Writes a project: `polyrecord.config.ts` with the given connections, each with a migration
 * folder `migrations/<name>` holding one migration that creates the table `things_<name>`.
 */
export function writeProject(dir: string, connections: Record<string, ConnectionConfig>): void {
  mkdirSync(dir, { recursive: true });
  const migrations = Object.fromEntries(Object.keys(connections).map((name) => [name, { directory: `migrations/${name}` }]));
  writeFileSync(
    join(dir, 'polyrecord.config.ts'),
    `import type { PolyrecordConfig } from ${JSON.stringify(join(root, 'src/index.ts'))}\n\nexport default ${JSON.stringify({ connections, migrations }, null, 2)} satisfies PolyrecordConfig\n`,
  );
  for (const name of Object.keys(connections)) writeMigrations(join(dir, 'migrations', name), { '001_things.ts': tableMigration(`things_${name}`) });
}
