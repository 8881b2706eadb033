import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, QueryBuilderError, ValidationError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

@Model({ connection: 'primary', table: 'people' })
class Person extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) n!: number;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'string' }) role!: string;
  @Column({ type: 'datetime' }) seenAt!: Date;
}

const day = (d: number) => new Date(Date.UTC(2024, 0, d, 12));
// n, name, role, seenAt day
const PEOPLE: Array<[number, string, string, number]> = [
  [1, 'Ada', 'admin', 1],
  [2, 'ada', 'user', 2],
  [3, 'Bob', 'user', 3],
  [4, 'BOB', 'guest', 4],
  [5, '100%', 'user', 5],
  [6, '100x', 'guest', 6],
  [7, 'a_b', 'user', 7],
  [8, 'axb', 'admin', 8],
  [9, 'Émile', 'user', 9],
  [10, 'a*b?[c]', 'user', 10],
];

describeEachDialect('grouped conditions, between, like', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('people', (t) => {
      t.increments('id');
      t.integer('n').notNullable();
      t.string('name', 32).notNullable();
      t.string('role', 16).notNullable();
      t.datetime('seen_at', { precision: 3 }).notNullable();
    });
    await Person.bulkInsert(PEOPLE.map(([n, name, role, d]) => ({ n, name, role, seenAt: day(d) })));
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  const ns = async (query: PromiseLike<Person[]>) => (await query).map((p) => p.n).sort((a, b) => a - b);

  it('where((q) => ...) puts the group in parentheses: AND binds to the whole group', async () => {
    // role = user AND (n < 3 OR n > 7)
    expect(await ns(Person.where('role', 'user').where((q) => q.where('n', '<', 3).orWhere('n', '>', 7)))).toEqual([2, 9, 10]);
    // Without the group SQL precedence gives (role = user AND n < 3) OR n > 7.
    expect(await ns(Person.where('role', 'user').where('n', '<', 3).orWhere('n', '>', 7))).toEqual([2, 8, 9, 10]);
    expect(await ns(Person.where('role', 'guest').where((q) => q.where('n', '<', 5).orWhere('n', '>', 100)))).toEqual([4]);
    expect(await ns(Person.where('role', 'guest').where('n', '<', 5).orWhere('n', '>', 5).where('role', 'admin'))).toEqual([4, 8]);
  });

  it('orWhere((q) => ...) ORs a group, and groups nest to any depth with their values in order', async () => {
    // n = 1 OR (role = guest AND n > 4)
    expect(await ns(Person.where('n', 1).orWhere((q) => q.where('role', 'guest').where('n', '>', 4)))).toEqual([1, 6]);
    // role = admin AND (n = 1 OR (n > 2 AND (name = axb OR name = Bob)))
    const nested = Person.where('role', 'admin').where((a) => a.where('n', 1).orWhere((b) => b.where('n', '>', 2).where((c) => c.where('name', 'axb').orWhere('name', 'Bob'))));
    expect(await ns(nested)).toEqual([1, 8]);
    // Groups mix with whereIn, whereNull, raw conditions and object conditions.
    const mixed = Person.where((q) => q.whereIn('n', [1, 2, 3]).whereNotNull('name').orWhere({ role: 'guest', n: 6 })).whereRaw('n <> ?', [2]);
    expect(await ns(mixed)).toEqual([1, 3, 6]);
  });

  it('whereNot((q) => ...) is NOT (group)', async () => {
    // NOT (role = user OR n > 7)
    expect(await ns(Person.whereNot((q) => q.where('role', 'user').orWhere('n', '>', 7)))).toEqual([1, 4, 6]);
    // n < 5 AND NOT (role = admin AND n = 1)
    expect(await ns(Person.where('n', '<', 5).whereNot((q) => q.where('role', 'admin').where('n', 1)))).toEqual([2, 3, 4]);
    expect(await Person.whereNot((q) => q).count()).toBe(10);
  });

  it('a group shape is cached apart from the same conditions ungrouped or negated', async () => {
    const a = Person.where('role', 'user').where((q) => q.where('n', 2).orWhere('n', 3));
    const b = Person.where('role', 'user').where('n', 2).orWhere('n', 3);
    const c = Person.where('role', 'user').whereNot((q) => q.where('n', 2).orWhere('n', 3));
    expect(await ns(a)).toEqual([2, 3]);
    expect(await ns(b)).toEqual([2, 3]);
    expect(await ns(c)).toEqual([5, 7, 9, 10]);
    // Same shapes with other values hit the cache and still bind in place.
    expect(await ns(Person.where('role', 'guest').where((q) => q.where('n', 4).orWhere('n', 1)))).toEqual([4]);
  });

  it('group callbacks that do more than conditions, or return something else, are refused', () => {
    expect(() => Person.where((q) => q.where('n', 1).orderBy('n'))).toThrow(QueryBuilderError);
    expect(() => Person.where((q) => q.limit(1))).toThrow(QueryBuilderError);
    expect(() => Person.where((() => undefined) as never)).toThrow(QueryBuilderError);
    expect(() => Person.where((q) => q.where('nope' as never, 1 as never))).toThrow(QueryBuilderError);
  });

  it('whereBetween and whereNotBetween include both ends, on numbers and dates', async () => {
    expect(await ns(Person.whereBetween('n', [3, 5]))).toEqual([3, 4, 5]);
    expect(await ns(Person.whereNotBetween('n', [3, 8]))).toEqual([1, 2, 9, 10]);
    expect(await ns(Person.whereBetween('seenAt', [day(2), day(4)]))).toEqual([2, 3, 4]);
    expect(await ns(Person.where('role', 'user').whereBetween('n', [1, 5]).orWhere('n', 10))).toEqual([2, 3, 5, 10]);
    expect(await ns(Person.whereBetween('n', [5, 3]))).toEqual([]);
  });

  it('whereBetween checks its bounds like other values, before any SQL', () => {
    expect(() => Person.whereBetween('n', [1] as never)).toThrow(QueryBuilderError);
    expect(() => Person.whereBetween('n', [1, null] as never)).toThrow(QueryBuilderError);
    expect(() => Person.whereBetween('n', [1, '2; drop table people'] as never)).toThrow(ValidationError);
    expect(() => Person.whereNotBetween('n', [undefined, 2] as never)).toThrow(QueryBuilderError);
  });

  it('whereLike is case-sensitive on every dialect', async () => {
    expect(await ns(Person.whereLike('name', 'Ad%'))).toEqual([1]);
    expect(await ns(Person.whereLike('name', 'ad%'))).toEqual([2]);
    expect(await ns(Person.whereLike('name', 'B_b'))).toEqual([3]);
    expect(await ns(Person.whereLike('name', '%OB'))).toEqual([4]);
    expect(await ns(Person.whereLike('name', 'É%'))).toEqual([9]);
    expect(await ns(Person.whereLike('name', 'é%'))).toEqual([]);
  });

  it('whereLike: % and _ are wildcards, a backslash makes them literal, and GLOB characters are literal', async () => {
    expect(await ns(Person.whereLike('name', '100_'))).toEqual([5, 6]);
    expect(await ns(Person.whereLike('name', '100\\%'))).toEqual([5]);
    expect(await ns(Person.whereLike('name', 'a_b'))).toEqual([7, 8]);
    expect(await ns(Person.whereLike('name', 'a\\_b'))).toEqual([7]);
    expect(await ns(Person.whereLike('name', 'a*b?[c]'))).toEqual([10]);
    expect(await ns(Person.whereLike('name', 'a*%'))).toEqual([10]);
    expect(await ns(Person.whereLike('name', '%[c]'))).toEqual([10]);
  });

  it('whereILike is case-insensitive on every dialect', async () => {
    expect(await ns(Person.whereILike('name', 'ad%'))).toEqual([1, 2]);
    expect(await ns(Person.whereILike('name', 'bob'))).toEqual([3, 4]);
    expect(await ns(Person.whereILike('name', '100\\%'))).toEqual([5]);
    expect(await ns(Person.where('role', 'user').whereILike('name', 'B%'))).toEqual([3]);
  });

  it('like patterns are checked before any SQL', () => {
    expect(() => Person.whereLike('name', 5 as never)).toThrow(ValidationError);
    expect(() => Person.whereLike('name', undefined as never)).toThrow(QueryBuilderError);
    expect(() => Person.whereLike('n', '1%' as never)).toThrow(QueryBuilderError);
    expect(() => Person.whereILike('name', 'abc\\')).toThrow(QueryBuilderError);
    expect(() => Person.whereLike('name', 'abc\\\\')).not.toThrow();
  });
});
