/**
 * Compile-time contract of the query API, checked by `npx tsc --noEmit` (every
 * `@ts-expect-error` line must be an error, every other line must compile), plus the
 * promise behaviour of queries at run time.
 */
import { afterAll, beforeAll, expect, expectTypeOf, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, ModelQuery, PrimaryKey, QueryBuilderError, count, max, sum, type GroupedRow, type Selected } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

@Model({ connection: 'primary', table: 'members' })
class Member extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'integer' }) score!: number;
  @Column({ type: 'bigint' }) points!: bigint;
  @Column({ type: 'datetime' }) joinedAt!: Date;

  get label(): string {
    return `${this.id}:${this.email}`;
  }
}

// Never called: only compiled.
function typeContract(): void {
  // Getters inherited from ActiveRecord are not columns.
  // @ts-expect-error isPersisted is not a column
  Member.where('isPersisted', true);
  // @ts-expect-error connectionName is not a column
  Member.query().orderBy('connectionName');
  // @ts-expect-error nor in an object of conditions
  Member.where({ isPersisted: true });
  // @ts-expect-error unknown property
  Member.select('nope');
  // @ts-expect-error a value of the wrong type
  Member.where('score', 'high');
  // @ts-expect-error between bounds of the wrong type
  Member.whereBetween('joinedAt', [1, 2]);

  // select() narrows the result to the selected properties; methods stay.
  const picked = Member.select('id', 'email');
  expectTypeOf(picked).toEqualTypeOf<ModelQuery<Member, Selected<Member, 'id' | 'email'>>>();
  void picked.then((rows) => {
    expectTypeOf(rows[0]!.email).toEqualTypeOf<string>();
    expectTypeOf(rows[0]!.save).toBeFunction();
    // @ts-expect-error score was not selected
    void rows[0]!.score;
  });
  expectTypeOf(Member.query().select('email').first()).resolves.toEqualTypeOf<Selected<Member, 'email'> | null>();
  expectTypeOf(Member.query().distinct('score').all()).resolves.toEqualTypeOf<Selected<Member, 'score'>[]>();
  // Conditions after select() keep the narrowed type.
  expectTypeOf(Member.select('id').where('score', '>', 1).where((q) => q.where('id', 1))).toEqualTypeOf<ModelQuery<Member, Selected<Member, 'id'>>>();

  // Aggregates are typed by column.
  expectTypeOf(Member.sum('score')).resolves.toEqualTypeOf<number | null>();
  expectTypeOf(Member.sum('points')).resolves.toEqualTypeOf<bigint | null>();
  expectTypeOf(Member.query().avg('points')).resolves.toEqualTypeOf<number | null>();
  expectTypeOf(Member.min('joinedAt')).resolves.toEqualTypeOf<Date | null>();
  expectTypeOf(Member.max('email')).resolves.toEqualTypeOf<string | null>();
  expectTypeOf(Member.count()).resolves.toEqualTypeOf<number>();
  expectTypeOf(Member.countDistinct('email')).resolves.toEqualTypeOf<number>();
  // @ts-expect-error not a column
  void Member.sum('nope');

  // Grouped rows.
  const grouped = Member.groupBy('email').aggregate({ total: sum('points'), n: count(), last: max('joinedAt') });
  expectTypeOf(grouped.all()).resolves.toEqualTypeOf<GroupedRow<Member, 'email', { total: ReturnType<typeof sum<'points'>>; n: ReturnType<typeof count>; last: ReturnType<typeof max<'joinedAt'>> }>[]>();
  void grouped.then((rows) => {
    expectTypeOf(rows[0]!.email).toEqualTypeOf<string>();
    expectTypeOf(rows[0]!.total).toEqualTypeOf<bigint | null>();
    expectTypeOf(rows[0]!.n).toEqualTypeOf<number>();
    expectTypeOf(rows[0]!.last).toEqualTypeOf<Date | null>();
  });
  grouped.having('total', '>', 1n).orderBy('n', 'desc').orderBy('email');
  // @ts-expect-error not an aggregate name or grouped property
  grouped.having('score', '>', 1);
  // @ts-expect-error not an aggregate name or grouped property
  grouped.orderBy('id');
  // @ts-expect-error an aggregate over a property the model does not have
  Member.groupBy('email').aggregate({ bad: sum('nope') });

  // A query is a Promise of its rows.
  const query: Promise<Member[]> = Member.where('score', '>', 1);
  void query;
  expectTypeOf(Member.query().catch(() => 'failed' as const)).resolves.toEqualTypeOf<Member[] | 'failed'>();
  expectTypeOf(Member.query().finally(() => undefined)).resolves.toEqualTypeOf<Member[]>();
}
void typeContract;

describeEachDialect('query types and promise behaviour', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('members', (t) => {
      t.increments('id');
      t.string('email', 64).notNullable();
      t.integer('score').notNullable();
      t.bigInteger('points').notNullable();
      t.datetime('joined_at', { precision: 3 }).notNullable();
    });
    await Member.bulkInsert([
      { email: 'a@x.io', score: 1, points: 10n, joinedAt: new Date(Date.UTC(2024, 0, 1)) },
      { email: 'b@x.io', score: 2, points: 20n, joinedAt: new Date(Date.UTC(2024, 0, 2)) },
    ]);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  it('a query can be awaited, then-ed, catch-ed and finally-ed like a promise', async () => {
    expect((await Member.where('score', 2)).map((m) => m.email)).toEqual(['b@x.io']);
    expect(await Member.query().orderBy('id').then((rows) => rows.length)).toBe(2);
    let settled = false;
    const rows = await Member.query().finally(() => (settled = true));
    expect(settled).toBe(true);
    expect(rows).toHaveLength(2);
    const failed = await Member.whereRaw('no_such_column = ?', [1]).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(Error);
    expect(Object.prototype.toString.call(Member.query())).toBe('[object ModelQuery]');
    expect(await Promise.all([Member.query(), Member.groupBy('email').aggregate({ n: count() })])).toHaveLength(2);
  });

  it('a selected instance has only its properties loaded, and can still be saved', async () => {
    const [member] = await Member.select('id', 'email').where('score', 1);
    expect(member!.email).toBe('a@x.io');
    expect((member as Member).score).toBeUndefined();
    member!.email = 'a2@x.io';
    await member!.save();
    expect(await Member.where('email', 'a2@x.io').count()).toBe(1);
  });

  it('an ActiveRecord getter named as a property is refused at run time too', () => {
    expect(() => Member.where('isPersisted' as never, true as never)).toThrow(QueryBuilderError);
  });
});
