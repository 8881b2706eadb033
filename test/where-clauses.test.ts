import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, QueryBuilderError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

@Model({ connection: 'primary', table: 'things' })
class Thing extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) n!: number;
  @Column({ type: 'string' }) name!: string;
}

describeEachDialect('where clauses', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('things', (t) => {
      t.increments('id');
      t.integer('n').notNullable();
      t.string('name', 32).notNullable();
    });
    // n = 1..6; names: a, b, zzz, zzz, ?, a?b
    await Thing.bulkInsert([1, 2, 3, 4, 5, 6].map((n) => ({ n, name: ['a', 'b', 'zzz', 'zzz', '?', 'a?b'][n - 1]! })));
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  const ns = (rows: Thing[]) => rows.map((r) => r.n).sort((a, b) => a - b);

  it('orWhere with an object ORs the whole object: OR (n = 3 AND name = zzz)', async () => {
    expect(ns(await Thing.where('n', 1).orWhere({ n: 3, name: 'zzz' }).all())).toEqual([1, 3]);
    expect(ns(await Thing.where('n', 1).orWhere({ n: 2, name: 'zzz' }).all())).toEqual([1]);
    // A one-key object is a plain OR; chained calls group the same way knex does.
    expect(ns(await Thing.where('n', 1).orWhere({ n: 4 }).orWhere({ name: 'b', n: 2 }).all())).toEqual([1, 2, 4]);
    // SQL precedence, as in knex: name = 'zzz' OR ((n = 1 AND name = 'a') AND n < 4).
    expect(await Thing.where('name', 'zzz').orWhere({ n: 1, name: 'a' }).where('n', '<', 4).count()).toBe(3);
    expect(await Thing.where('name', 'zzz').orWhere({ n: 1, name: 'a' }).where('n', '<', 1).count()).toBe(2);
  });

  it('whereAfter followed by more conditions binds every value in its place', async () => {
    const after = await Thing.whereAfter(['n', 'id'], [2, 0]).where('name', 'zzz').orderBy('n').all();
    expect(ns(after)).toEqual([3, 4]);
    const grouped = await Thing.whereAfter(['n'], [3]).orWhere({ n: 1, name: 'a' }).where('n', '<', 6).all();
    // (n >= 3 AND n > 3) OR ((n = 1 AND name = 'a') AND n < 6)
    expect(ns(grouped)).toEqual([1, 4, 5, 6]);
  });

  it('the != , <> and not like operators', async () => {
    expect(await Thing.where('name', '!=', 'zzz').count()).toBe(4);
    expect(await Thing.where('name', '<>', 'zzz').count()).toBe(4);
    expect(ns(await Thing.where('name', 'not like', 'a%').all())).toEqual([2, 3, 4, 5]);
    expect(ns(await Thing.where('name', 'like', 'a%').all())).toEqual([1, 6]);
  });

  it("whereRaw binds its values, a literal ? is written \\?, and a ? inside quotes without a value is refused with QueryBuilderError", async () => {
    expect(ns(await Thing.whereRaw('n > ? and n < ?', [1, 4]).all())).toEqual([2, 3]);
    expect(ns(await Thing.whereRaw("name <> '\\?'").where('n', '>', 4).all())).toEqual([6]);
    expect(ns(await Thing.whereRaw("name like 'a\\?%'").all())).toEqual([6]);
    expect(ns(await Thing.whereRaw('name = ?', ['?']).all())).toEqual([5]);
    const cases: Array<[string, unknown[]]> = [["name <> '?'", []], ['n = ? and n = ?', [1]], ['n = 1', [1]]];
    for (const [sql, bindings] of cases) {
      const error = (() => {
        try {
          return Thing.whereRaw(sql, bindings);
        } catch (e) {
          return e;
        }
      })();
      expect(error, sql).toBeInstanceOf(QueryBuilderError);
      expect((error as Error).message).toContain('\\?');
    }
    await expect(Thing.rawQuery("select * from things where name <> '?'")).rejects.toBeInstanceOf(QueryBuilderError);
    expect(await Thing.rawQuery("select * from things where name = '\\?'")).toHaveLength(1);
  });
});
