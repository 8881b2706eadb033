import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CliResult } from './cli.js';

const root = resolve(import.meta.dirname, '../..');

/**
 * The command compiled from src/ (CommonJS, as the package's bin), for projects whose config
 * file imports models and jobs: importing this build from the config gives the command's own
 * copy of polyrecord, as `import 'polyrecord'` does for users. (Run from sources through tsx's
 * loader, the command and a config loaded through tsx's require would hold two copies: the
 * config's models would live in a ConnectionManager the command never configured.)
 */
export function buildCli(): { index: string; main: string; run(cwd: string, ...args: string[]): CliResult; start(cwd: string, ...args: string[]): ReturnType<typeof spawn>; remove(): void } {
  const out = join(root, '.build', `cli-test-${process.pid}`);
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'], { cwd: root, stdio: 'pipe' });
  // The package is "type": "module"; this marks the build as CommonJS, as scripts/build-esm-entry.mjs does for dist/cjs.
  writeFileSync(join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  const main = join(out, 'cli', 'main.js');
  return {
    index: join(out, 'index.js'),
    main,
    run(cwd, ...args) {
      const result = spawnSync(process.execPath, [main, ...args], { cwd, encoding: 'utf8' });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    start: (cwd, ...args) => spawn(process.execPath, [main, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] }),
    remove: () => rmSync(out, { recursive: true, force: true }),
  };
}
