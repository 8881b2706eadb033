import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, CreatedAt, Model, ModelDefinitionError, PrimaryKey, modelMetadata } from '../src/index.js';
import { Account as AccountA } from './fixtures/same-name/a.js';
import { Account as AccountB } from './fixtures/same-name/b.js';

describe('model definitions', () => {
  beforeAll(async () => {
    ConnectionManager.configure('first', { driver: 'sqlite', database: ':memory:' });
    ConnectionManager.configure('second', { driver: 'sqlite', database: ':memory:' });
    await ConnectionManager.get('first').knex.schema.createTable('accounts_a', (t) => {
      t.increments('id');
      t.string('owner');
    });
    await ConnectionManager.get('second').knex.schema.createTable('accounts_b', (t) => {
      t.increments('account_id');
      t.integer('balance_cents');
    });
  });
  afterAll(() => ConnectionManager.closeAll());

  it('two classes with the same name in different modules do not collide', async () => {
    expect(AccountA.name).toBe(AccountB.name);
    await AccountA.create({ owner: 'ada' });
    const b = await AccountB.create({ balance: 500 });
    expect(b.id).toBe(1);
    expect((await AccountB.findOrFail(1)).balance).toBe(500);
    expect((await AccountA.findOrFail(1)).owner).toBe('ada');
    expect(modelMetadata(AccountA)!.columns.map((c) => c.column)).toEqual(['id', 'owner']);
    expect(modelMetadata(AccountB)!.columns.map((c) => c.column)).toEqual(['account_id', 'balance_cents']);
  });

  it('column names default to snake_case and can be overridden', () => {
    class Shape extends ActiveRecord {
      @PrimaryKey() id!: number;
      @Column() firstName!: string;
      @Column() userID!: string;
      @Column({ name: 'legacy_col' }) modern!: string;
      @CreatedAt() createdAt!: Date;
    }
    Model({ connection: 'first', table: 'shapes' })(Shape);
    const meta = modelMetadata(Shape)!;
    expect(meta.columns.map((c) => [c.property, c.column])).toEqual([
      ['id', 'id'],
      ['firstName', 'first_name'],
      ['userID', 'user_id'],
      ['modern', 'legacy_col'],
      ['createdAt', 'created_at'],
    ]);
    expect(meta.byProperty.get('createdAt')!.type).toBe('datetime');
  });

  it('explicit types win; design:type metadata is used when the compiler emits it', () => {
    class Typed extends ActiveRecord {
      @PrimaryKey({ type: 'integer' }) id!: number;
      @Column() flag!: boolean;
      @Column({ type: 'string' }) code!: number;
      @Column() when!: Date;
    }
    const meta = modelMetadata(Typed)!;
    expect(meta.byProperty.get('code')!.type).toBe('string');
    // vitest's transform emits design:type; without it these would be 'any' (see class-fields.test.ts).
    const emitted = Reflect.getMetadata('design:type', Typed.prototype, 'flag') === Boolean;
    expect(meta.byProperty.get('flag')!.type).toBe(emitted ? 'boolean' : 'any');
    expect(meta.byProperty.get('when')!.type).toBe(emitted ? 'datetime' : 'any');
  });

  it('subclasses inherit columns without changing the parent', () => {
    @Model({ connection: 'first', table: 'base' })
    class Base extends ActiveRecord {
      @PrimaryKey({ type: 'integer' }) id!: number;
      @Column({ type: 'string' }) name!: string;
    }
    @Model({ connection: 'second', table: 'child' })
    class Child extends Base {
      @Column({ type: 'integer' }) extra!: number;
    }
    expect(modelMetadata(Child)!.columns.map((c) => c.property)).toEqual(['id', 'name', 'extra']);
    expect(modelMetadata(Base)!.columns.map((c) => c.property)).toEqual(['id', 'name']);
    expect(modelMetadata(Child)!.connection).toBe('second');
    expect(modelMetadata(Base)!.connection).toBe('first');
  });

  it('bad definitions fail with ModelDefinitionError', () => {
    expect(() => Model({ connection: '', table: 't' })).toThrow(ModelDefinitionError);
    expect(() => Model({ connection: 'first' } as never)).toThrow(ModelDefinitionError);
    expect(() => Model({ connection: '', table: 't' })).toThrow(expect.objectContaining({ code: 'E_MODEL_DEFINITION' }));
    expect(() => {
      class TwoKeys extends ActiveRecord {
        @PrimaryKey() a!: number;
        @PrimaryKey() b!: number;
      }
      return TwoKeys;
    }).toThrow(/more than one @PrimaryKey/);
    expect(() => {
      class BadType extends ActiveRecord {
        @Column({ type: 'varchar' as never }) a!: string;
      }
      return BadType;
    }).toThrow(/unknown column type "varchar"/);
    expect(() => {
      class SameColumn extends ActiveRecord {
        @Column({ name: 'x' }) a!: string;
        @Column({ name: 'x' }) b!: string;
      }
      return SameColumn;
    }).toThrow(/both map to column "x"/);
    class NotAModel extends ActiveRecord {
      @Column() a!: string;
    }
    expect(() => NotAModel.query()).toThrow(/not a model/);
  });
});
