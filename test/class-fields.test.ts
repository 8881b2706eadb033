import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

/** Compiles the fixture (and src) with the user's compiler settings, then runs it with node. */
function compileAndRun(useDefineForClassFields: boolean): { output: Record<string, unknown>; emitted: string } {
  const outDir = join(root, '.build', `class-fields-${useDefineForClassFields}`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const project = join(outDir, 'tsconfig.json');
  writeFileSync(
    project,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { rootDir: root, outDir, useDefineForClassFields, emitDecoratorMetadata: false, declaration: false, sourceMap: false, noEmit: false },
      files: [join(root, 'test', 'fixtures', 'class-fields-model.ts')],
      include: [],
    }),
  );
  execFileSync(tsc, ['-p', project], { cwd: root, stdio: 'pipe' });
  const script = join(outDir, 'test', 'fixtures', 'class-fields-model.js');
  const stdout = execFileSync(process.execPath, [script], { cwd: root, encoding: 'utf8' });
  return { output: JSON.parse(stdout.trim().split('\n').pop()!), emitted: readFileSync(script, 'utf8') };
}

describe('models compiled with and without useDefineForClassFields', () => {
  for (const setting of [true, false]) {
    it(`useDefineForClassFields: ${setting} keeps change tracking and defaults working`, () => {
      const { output, emitted } = compileAndRun(setting);
      // With define semantics the compiler emits a field declaration for `email!: string`.
      expect(/^\s+email;$/m.test(emitted)).toBe(setting);
      expect(emitted).not.toContain('design:type');
      expect(output).toEqual({
        defaultScore: 10,
        cleanAfterLoad: true,
        dirtyAfterChange: true,
        cleanAfterSave: true,
        row: { email: 'b@f.io', score: 10, active: 1 },
        activeType: 'boolean',
        updatedAtIsDate: true,
      });
    }, 60_000);
  }
});
