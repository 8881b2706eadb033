import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFixture } from './support/compile-fixture.js';

const root = resolve(import.meta.dirname, '..');

describe('relations with and without useDefineForClassFields, legacy and standard decorators', () => {
  for (const useDefineForClassFields of [true, false]) {
    for (const experimentalDecorators of [true, false]) {
      it(`useDefineForClassFields: ${useDefineForClassFields}, experimentalDecorators: ${experimentalDecorators}: a declared relation field never shadows loaded data`, () => {
        const script = compileFixture('test/fixtures/class-fields-relations.ts', { useDefineForClassFields, experimentalDecorators, emitDecoratorMetadata: false }, `${useDefineForClassFields}-${experimentalDecorators}`);
        const stdout = execFileSync(process.execPath, [script], { cwd: root, encoding: 'utf8' });
        expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
          unloaded: true,
          unloadedJson: { id: 1, name: 'Ann' },
          loaded: [['a1', 'Ann']],
          json: { id: 1, name: 'Ann', albums: [{ id: 1, artistId: 1, title: 'a1', artist: { id: 1, name: 'Ann' } }] },
        });
      }, 60_000);
    }
  }
});
