import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

/**
 * Compiles a TypeScript fixture (with the src/ it imports) to JavaScript under
 * `.build/fixtures/<name>` so it can run in a child process on Node 20, and returns
 * the path of the compiled fixture.
 */
export function compileFixture(relativePath: string): string {
  const name = relativePath.replace(/[^A-Za-z0-9]+/g, '-');
  const outDir = join(root, '.build', 'fixtures', `${name}-${process.pid}`);
  mkdirSync(outDir, { recursive: true });
  const project = join(outDir, 'tsconfig.json');
  writeFileSync(
    project,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { rootDir: root, outDir, declaration: false, sourceMap: false, noEmit: false },
      files: [join(root, relativePath)],
      include: [],
    }),
  );
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', project], { cwd: root, stdio: 'pipe' });
  return join(outDir, relativePath.replace(/\.ts$/, '.js'));
}
