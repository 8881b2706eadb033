import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFixture } from './support/compile-fixture.js';

const root = resolve(import.meta.dirname, '..');

/** The two ways TypeScript applies decorators: legacy (`experimentalDecorators`) and standard (TC39; TypeScript 5+ when the flag is off). */
const FLAVOURS = {
  legacy: { experimentalDecorators: true, emitDecoratorMetadata: true },
  standard: { experimentalDecorators: false, emitDecoratorMetadata: false },
} as const;

/** Compiles a fixture (with src/) the way a user's project would, runs it with node and parses its last line. */
function compileAndRun(fixture: string, compilerOptions: Record<string, unknown>, tag: string): { output: any; emitted: string } {
  const script = compileFixture(fixture, compilerOptions, tag);
  const stdout = execFileSync(process.execPath, [script], { cwd: root, encoding: 'utf8' });
  return { output: JSON.parse(stdout.trim().split('\n').pop()!), emitted: readFileSync(script, 'utf8') };
}

const EXPECTED_MODEL = {
  memberColumns: [
    'createdAt:created_at:datetime',
    'updatedAt:updated_at:datetime',
    'id:id:integer',
    'email:mail:string',
    'score:score:integer',
    'active:active:boolean',
    'big:big:bigint',
    'tags:tags:json',
    'born:born:date',
  ],
  adminColumns: ['createdAt', 'updatedAt', 'id', 'email', 'score', 'active', 'big', 'tags', 'born', 'level'],
  defaultScore: 10,
  cleanAfterLoad: true,
  dirtyAfterChange: true,
  cleanAfterSave: true,
  found: { email: 'b@f.io', score: 10, active: true, big: '9007199254740993', bigType: 'bigint', tags: ['x'], born: '1990-05-17T00:00:00.000Z' },
  timestamps: true,
  adminRow: { mail: 'root@f.io', level: 'all', score: 10 },
  adminLevel: 'all',
  counts: [1, 1],
  // Hooks are inherited: the admin's insert commits too. Each write of either model writes an outbox row.
  committed: [1, 1, 1],
  // @SyncTo copied the member's insert, then its update.
  copies: ['1:b@f.io'],
  outboxRows: 3,
};

describe('models under both decorator flavours', () => {
  for (const [flavour, decoratorOptions] of Object.entries(FLAVOURS)) {
    for (const useDefineForClassFields of [true, false]) {
      it(`${flavour} decorators, useDefineForClassFields: ${useDefineForClassFields}: the same model behaves the same`, () => {
        const { output, emitted } = compileAndRun('test/fixtures/decorator-flavours-model.ts', { ...decoratorOptions, useDefineForClassFields }, `${flavour}-${useDefineForClassFields}`);
        // The compiler really applied this flavour: standard decorators go through __esDecorate.
        expect(emitted.includes('__esDecorate(')).toBe(flavour === 'standard');
        expect(output).toEqual(EXPECTED_MODEL);
      }, 60_000);
    }
  }
});

describe('a decorator polyrecord cannot read fails with a ModelDefinitionError saying what to change', () => {
  const common = {
    'column on a method': 'ModelDefinitionError: @Column must decorate a class field; "greet" is a',
    'model on a plain class': 'ModelDefinitionError: @Model: Plain does not extend ActiveRecord; declare it as `class Plain extends ActiveRecord`',
    'model on a method': 'ModelDefinitionError: @Model must decorate a class that extends ActiveRecord; "save2" is a',
    'column on a class': 'ModelDefinitionError: @Column must decorate a class field, not a class',
    'static column': 'ModelDefinitionError: @Column must decorate an instance field; "kind" is static',
    'hook on a field': 'ModelDefinitionError: @BeforeSave must decorate a method; "check" is',
    'static hook': 'ModelDefinitionError: @BeforeSave must decorate an instance method; "check" is static',
  };
  for (const flavour of Object.keys(FLAVOURS) as (keyof typeof FLAVOURS)[]) {
    it(`${flavour} decorators`, () => {
      const { output } = compileAndRun('test/fixtures/decorator-misuse.ts', FLAVOURS[flavour], flavour);
      for (const [misuse, message] of Object.entries(common)) expect(output[misuse], misuse).toContain(message);
      // Legacy decorators may read the type from design:type metadata; standard ones carry none.
      expect(output['column without a type']).toBe(
        flavour === 'legacy' ? 'accepted' : "ModelDefinitionError: email: standard decorators carry no type information; declare the column type, e.g. { type: 'string' } (one of string, integer, bigint, float, boolean, date, datetime, json)",
      );
      expect(JSON.stringify(output)).not.toMatch(/Cannot read|TypeError/);
    }, 60_000);
  }
});
