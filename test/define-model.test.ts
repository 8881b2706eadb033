import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, CreatedAt, ModelDefinitionError, PrimaryKey, defineModel, modelMetadata } from '../src/index.js';

// Plain JavaScript declares models with defineModel; docs/setup.md and test/package.test.ts
// run it from real .js/.cjs files. These are its answers to bad input.
describe('defineModel', () => {
  const manager = new ConnectionManager();
  beforeAll(async () => {
    manager.configure('plain', { driver: 'sqlite', database: ':memory:' });
    await manager.get('plain').execute('create table plain_users (id integer primary key, email text, created_at text)', []);
  });
  afterAll(() => manager.closeAll());

  it('gives a class without decorators the columns and table the decorators would', async () => {
    class PlainUser extends ActiveRecord {
      declare id: number;
      declare email: string;
      declare createdAt: Date;
    }
    expect(defineModel(PlainUser, { connection: 'plain', table: 'plain_users', manager, columns: { id: PrimaryKey({ type: 'integer' }), email: Column({ type: 'string' }), createdAt: CreatedAt() } })).toBe(PlainUser);
    expect(modelMetadata(PlainUser)!.columns.map((c) => `${c.property}:${c.column}:${c.type}`)).toEqual(['id:id:integer', 'email:email:string', 'createdAt:created_at:datetime']);
    const created = await PlainUser.create({ email: 'ada@example.com' });
    const found = await PlainUser.findOrFail(created.id);
    expect([found.email, found.createdAt instanceof Date]).toEqual(['ada@example.com', true]);
  });

  it('refuses bad input with a ModelDefinitionError and defines nothing', () => {
    class Target extends ActiveRecord {}
    const cases: Array<[() => unknown, RegExp]> = [
      [() => defineModel(class NotAModel {}, { connection: 'plain', table: 't', columns: {} }), /defineModel\(\): NotAModel does not extend ActiveRecord; declare it as `class NotAModel extends ActiveRecord`/],
      [() => defineModel(Target, { connection: 'plain', table: 't', columns: { id: PrimaryKey({ type: 'integer' }), email: 'string' as never } }), /columns\.email must be a column decorator such as Column\(\{ type: 'string' \}\)/],
      [() => defineModel(Target, { connection: 'plain', table: 't' } as never), /"columns" must map each property to a column decorator/],
      [() => defineModel(Target, { connection: '', table: 't', columns: {} }), /"connection" must be a connection name/],
    ];
    for (const [define, message] of cases) {
      expect(define).toThrow(ModelDefinitionError);
      expect(define).toThrow(message);
    }
    expect(modelMetadata(Target)).toBeUndefined();
  });
});
