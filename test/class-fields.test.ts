import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFixture } from './support/compile-fixture.js';

const root = resolve(import.meta.dirname, '..');

/** Compiles the fixture (and src) with the user's compiler settings, then runs it with node. */
function compileAndRun(useDefineForClassFields: boolean): { output: Record<string, unknown>; emitted: string } {
  const script = compileFixture('test/fixtures/class-fields-model.ts', { useDefineForClassFields, emitDecoratorMetadata: false }, String(useDefineForClassFields));
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
