import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

/**
 * Compiles a TypeScript fixture (with the src/ it imports) to JavaScript under
 * `.build/fixtures/` so it can run in a child process on Node 20, and returns the path
 * of the compiled fixture. `compilerOptions` override the project's (e.g. to compile
 * the way a user's project would); `tag` keeps differently compiled copies apart.
 */
export function compileFixture(relativePath: string, compilerOptions: Record<string, unknown> = {}, tag = ''): string {
  const name = `${relativePath.replace(/[^A-Za-z0-9]+/g, '-')}${tag ? `-${tag}` : ''}`;
  const outDir = join(root, '.build', 'fixtures', `${name}-${process.pid}`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const project = join(outDir, 'tsconfig.json');
  writeFileSync(
    project,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { rootDir: root, outDir, declaration: false, sourceMap: false, noEmit: false, ...compilerOptions },
      files: [join(root, relativePath)],
      include: [],
    }),
  );
  const script = join(outDir, relativePath.replace(/\.ts$/, '.js'));
  try {
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', project], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    // tsc still emits JavaScript when it reports type errors; only missing output is fatal here (typecheck catches the rest).
    if (!existsSync(script)) throw error;
  }
  return script;
}
